"""A read-only view of the database for the customer list, light enough to start with.

The list's first page needs one query. Opening a :class:`~tuicrm.core.store.Store` first
imports pydantic, sqlite-utils, the migrations and the rules (about a quarter of a
second), so the app's list, its count and its poll for other users' saves read through
this instead, and the store opens when something else needs it. When the database still
lacks what the list reads (an older schema), :class:`SchemaNotReady` says so and the
caller opens a store, which applies the migrations.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from tuicrm.core.lookup import BUSY_TIMEOUT_MS, SchemaNotReady, fetch_rows
from tuicrm.core.rows import CustomerRow, customer_row

__all__ = ["Reader", "SchemaNotReady", "data_version"]


class Reader:
    """What the list reads of a store (its ``conn`` and :meth:`rows_by_id`), over a
    plain connection with the same busy timeout."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.conn = sqlite3.connect(str(path), isolation_level=None,
                                    timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        try:
            self.conn.execute("SELECT name_norm, next_due FROM customers LIMIT 0")
            self.conn.execute("SELECT letter FROM name_letters LIMIT 0")
            self.conn.execute("SELECT gram FROM common_grams LIMIT 0")
        except sqlite3.OperationalError as exc:
            self.conn.close()
            raise SchemaNotReady(str(exc)) from None

    def rows_by_id(self, ids: Sequence[int]) -> list[CustomerRow]:
        """List rows for these ids, in the order given."""
        return [customer_row(r) for r in fetch_rows(self.conn, ids)]

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HasConnection(Protocol):
    """Anything with a ``conn``: a :class:`Reader` or a store."""

    conn: sqlite3.Connection


def data_version(store: HasConnection) -> int:
    """A number that changes when another connection commits to the database.

    ``PRAGMA data_version`` reads the WAL index in shared memory, not the file, so an
    open screen can ask every few seconds whether anyone saved anything.
    """
    return int(store.conn.execute("PRAGMA data_version").fetchone()[0])
