"""Time ``tuicrm import`` of a customer-list CSV, phase by phase, and its peak memory.

    python benchmarks/customer_list_csv.py 1000000 /tmp/io1m.csv   # once
    head -200001 /tmp/io1m.csv > /tmp/io200k.csv                   # to iterate
    python benchmarks/bench_import.py /tmp/io200k.csv [/tmp/bench-import.db]

Imports into a fresh database (deleted first) through the same code as the CLI and prints
the seconds spent reading and checking cells, the name keys (for a big file, a fresh load:
the wait for the child process that reads and plans the rows, then writing them), writing
rows, the grams and
search documents (into an empty database they are built on the index builder's thread:
then "search index" is the wait for it and the copy), segmenting and rebuilding the
dropped indexes, then the total, the rows a second and the peak resident memory of the
process and of the child.
"""

from __future__ import annotations

import datetime as dt
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tuicrm.core.io import api
from tuicrm.core.io.aside import Aside
from tuicrm.core.rules import default_rules
from tuicrm.core.store import Store
from tuicrm.core.store import bulk as bulk_module
from tuicrm.core.store.searchbuild import SearchIndexBuilder
from tuicrm.core.store.segments import RulesSegmenter

SECONDS: dict[str, float] = defaultdict(float)


def timed(owner: Any, name: str, label: str) -> None:
    """Wrap ``owner.name`` so its time adds to ``label``."""
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            SECONDS[label] += time.perf_counter() - start

    setattr(owner, name, wrapper)


def waited(owner: Any, name: str, label: str) -> None:
    """Wrap the generator method ``owner.name`` so the time waiting for each of its
    items adds to ``label``."""
    original: Callable[..., Iterator[Any]] = getattr(owner, name)

    def wrapper(*args: Any) -> Iterator[Any]:
        iterator = original(*args)
        while True:
            start = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                return
            finally:
                SECONDS[label] += time.perf_counter() - start
            yield item

    setattr(owner, name, wrapper)


def main(csv_path: str, db_path: str = "/tmp/bench-import.db") -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(db_path + suffix).unlink(missing_ok=True)
    waited(api.ImportPlan, "rows", "read and check cells")
    waited(Aside, "__iter__", "read and plan (wait for the child)")
    bulk = bulk_module.BulkImport
    timed(bulk, "_drop_indexes", "drop indexes")
    timed(bulk, "_keys", "name keys (pinyin)")
    timed(bulk, "_customers", "write customers and records")
    timed(bulk, "_write_fresh", "write planned rows")
    timed(bulk, "_rebuild_indexes", "rebuild indexes")
    timed(Store, "reindex", "search documents (reindex)")
    timed(Store, "resegment", "segment")
    timed(Store, "rebuild_grams", "grams")
    timed(SearchIndexBuilder, "adopt", "search index (wait, copy in)")
    original_finish = bulk._finish

    def finish(self: bulk_module.BulkImport) -> None:
        start = time.perf_counter()
        original_finish(self)
        # _finish's own SQL (the batch's grams) is what the phases inside it leave over.
        SECONDS["grams (batch)"] += time.perf_counter() - start

    bulk._finish = finish  # type: ignore[method-assign]
    start = time.perf_counter()
    with Store(db_path, segmenter=RulesSegmenter(default_rules(), dt.date(2024, 6, 1))) as store:
        summary = api.import_file(store, csv_path)
        total = time.perf_counter() - start
    inside = ("search documents (reindex)", "segment", "rebuild indexes",
              "search index (wait, copy in)")
    SECONDS["grams (batch)"] -= sum(SECONDS[k] for k in inside)
    commit = total - sum(SECONDS.values())
    for label, seconds in SECONDS.items():
        print(f"{label:<30}{seconds:8.1f} s")
    print(f"{'open, commit and the rest':<30}{commit:8.1f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{'total':<30}{total:8.1f} s  {summary.rows / total:,.0f} rows/s  "
          f"created {summary.created:,}  peak {peak:,.0f} MiB (child {child:,.0f} MiB)")


if __name__ == "__main__":
    main(*sys.argv[1:])
