"""Building indexes over tables that already hold many rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable

# Building an index sorts every key. With a large page cache SQLite sorts the keys in
# one piece in memory on the connection's thread; with its default 2 MiB it sorts runs
# of keys on helper threads and merges them, which is faster and takes less CPU in all:
# the indexes a million generated customers rebuild (5,000,000 follow-ups among them)
# took 75 s the first way and 39 s the second, followups_review alone 30 s and 12 s.
SORT_CACHE_KIB = 2_000
SORTER_THREADS = 2


def create_indexes(conn: sqlite3.Connection, statements: Iterable[str], *,
                   other_core_busy: Callable[[], bool] | None = None) -> None:
    """Run these ``CREATE INDEX`` statements with a small sort memory and the sorter's
    helper threads; the connection's own settings come back afterwards.

    While ``other_core_busy()`` says that another thread of the process works on the
    other core (an import's search index builder), an index is sorted on this thread
    alone: the helpers would take that thread's time, and one thread sorts with less
    CPU in all (six of a million customers' indexes: 5.7 CPU s on one thread in 5.7 s,
    7.4-8.3 CPU s with helpers in 4.5-5.3 s; an import's indexes built beside the
    builder: 61.6 s in all against 62.8 s with one helper, 64.6 s with two).
    """
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    threads = conn.execute("PRAGMA threads").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = -{SORT_CACHE_KIB}")
    try:
        for sql in statements:
            alone = other_core_busy is not None and other_core_busy()
            conn.execute(f"PRAGMA threads = {0 if alone else SORTER_THREADS}")
            conn.execute(sql)
    finally:
        conn.execute(f"PRAGMA threads = {int(threads)}")
        conn.execute(f"PRAGMA cache_size = {int(cache)}")
