"""Building indexes over tables that already hold many rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

# Building an index sorts every key. With a large page cache SQLite sorts the keys in
# one piece in memory on the connection's thread; with its default 2 MiB it sorts runs
# of keys on helper threads and merges them, which is faster and takes less CPU in all:
# the indexes a million generated customers rebuild (5,000,000 follow-ups among them)
# took 75 s the first way and 39 s the second, followups_review alone 30 s and 12 s.
SORT_CACHE_KIB = 2_000
SORTER_THREADS = 2


def create_indexes(conn: sqlite3.Connection, statements: Iterable[str]) -> None:
    """Run these ``CREATE INDEX`` statements with a small sort memory and the sorter's
    helper threads; the connection's own settings come back afterwards."""
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    threads = conn.execute("PRAGMA threads").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = -{SORT_CACHE_KIB}")
    conn.execute(f"PRAGMA threads = {SORTER_THREADS}")
    try:
        for sql in statements:
            conn.execute(sql)
    finally:
        conn.execute(f"PRAGMA threads = {int(threads)}")
        conn.execute(f"PRAGMA cache_size = {int(cache)}")
