"""Time ``tuicrm gen`` and the look-ups on its database (a harness, not a test).

    python benchmarks/bench_gen_find.py /tmp/perf1m.db --customers 1000000
    python benchmarks/bench_gen_find.py /tmp/perf1m.db            # database already built

Without the database file, builds it with ``tuicrm gen`` first and prints the wall time
and peak memory of that run. Then prints, median and p95 over ``--runs`` runs:

- whole process: ``tuicrm find`` with a two-character Chinese word, pinyin initials, full
  pinyin and one character, and ``tuicrm show`` of a customer; beside them a bare
  ``python -c pass`` (the floor) and the ``sqlite3`` shell doing a ``LIKE`` look-up;
- the search itself, in this process: the ids and rows of each query (what ``find``
  runs after its imports), in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

QUERIES = ("科技", "akj", "keji", "恒", "北京恒达")
TODAY = "2024-06-01"


def tuicrm(db: Path, *args: str) -> list[str]:
    """The command line of a ``tuicrm`` run on ``db``."""
    return [sys.executable, "-m", "tuicrm", "--db", str(db), "--today", TODAY, *args]


def timed_runs(command: list[str], runs: int) -> list[float]:
    """Wall seconds of ``runs`` runs of ``command`` (after one warm-up run)."""
    subprocess.run(command, capture_output=True, check=False)
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        seconds.append(time.perf_counter() - start)
    return seconds


def summary(values: list[float], scale: float = 1.0, unit: str = "s") -> str:
    """Median and p95 of ``values``."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    median = statistics.median(ordered) * scale
    return f"median {median:8.3f} {unit}   p95 {p95 * scale:8.3f} {unit}"


def build(db: Path, customers: int) -> None:
    """Generate the database, printing the run's wall time and peak memory."""
    start = time.perf_counter()
    subprocess.run(tuicrm(db, "gen", "--customers", str(customers)), check=True,
                   stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"gen --customers {customers:,}: {seconds:.1f} s, peak RSS {peak_mib:.0f} MiB")


def in_process(db: Path, runs: int) -> None:
    """The search query itself: ids then rows, as ``find`` runs them."""
    from tuicrm.core.lookup import fetch_rows, search_ids
    from tuicrm.core.search import plan_search

    conn = sqlite3.connect(str(db))
    for query in QUERIES:
        plan = plan_search(query)
        assert plan is not None
        seconds = []
        for _ in range(runs + 1):
            start = time.perf_counter()
            fetch_rows(conn, search_ids(conn, plan, 20))
            seconds.append(time.perf_counter() - start)
        print(f"  search {query!r:<12} {summary(seconds[1:], 1000, 'ms')}")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=9)
    options = parser.parse_args()
    db: Path = options.db
    if not db.exists():
        build(db, options.customers)
    conn = sqlite3.connect(str(db))
    customers = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
    name = conn.execute("SELECT name FROM customers WHERE id = 1").fetchone()[0]
    conn.close()
    print(f"{db}: {customers:,} customers; {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}")
    print("whole process:")
    rows = [("python -c pass", [sys.executable, "-c", "pass"])]
    rows += [(f"find {q}", tuicrm(db, "find", q)) for q in QUERIES]
    rows.append((f"show {name}", tuicrm(db, "show", name)))
    if shutil.which("sqlite3"):
        rows.append(("sqlite3 LIKE '%科技%' LIMIT 20", [
            "sqlite3", str(db),
            "SELECT name FROM customers WHERE name LIKE '%科技%' LIMIT 20"]))
    for label, command in rows:
        print(f"  {label:<34} {summary(timed_runs(command, options.runs))}")
    print("in process:")
    in_process(db, options.runs)


if __name__ == "__main__":
    main()
