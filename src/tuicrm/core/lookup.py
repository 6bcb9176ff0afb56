"""Quick look-ups for the command line: ``tuicrm find`` without the weight of the store.

``find`` must answer like ``grep``. Opening a :class:`~tuicrm.core.store.Store` imports
pydantic models, sqlite-utils, the migrations and the rules, several times the cost of
the query itself, so this module owns the search SQL (the store's ``search`` uses it
too) and needs only :mod:`sqlite3` and the query planner.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tuicrm.core.rows import ROW_COLUMNS, CustomerRow, customer_row
from tuicrm.core.search import SearchPlan, plan_search

BUSY_TIMEOUT_MS = 10_000



class SchemaNotReady(Exception):
    """The database lacks the tables or columns the look-up reads (an older schema)."""


def find(path: str | Path, query: str, *, limit: int = 20) -> list[CustomerRow]:
    """Customers matching ``query``, ranked as :meth:`Store.search` ranks them.

    Reads through a plain connection; raises :class:`SchemaNotReady` when the database
    needs its migrations first (opening a ``Store`` applies them).
    """
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        plan = plan_search(query)
        if plan is None:
            return []
        try:
            ids = search_ids(conn, plan, limit)
            rows = fetch_rows(conn, ids)
        except sqlite3.OperationalError as exc:
            if "no such" in str(exc):
                raise SchemaNotReady(str(exc)) from None
            raise
        return [customer_row(r) for r in rows]
    finally:
        conn.close()


def search_ids(conn: sqlite3.Connection, plan: SearchPlan, limit: int) -> list[int]:
    """Ids matching a planned search, ranked: exact name, name prefix, then by id."""
    ids: list[int] = []
    seen: set[int] = set()

    def take(rows: Iterable[Sequence[Any]]) -> None:
        for (customer_id,) in rows:
            if customer_id not in seen and len(ids) < limit:
                seen.add(customer_id)
                ids.append(customer_id)

    take(conn.execute("SELECT id FROM customers WHERE name_norm = ?", [plan.norm]))
    take(conn.execute(
        "SELECT id FROM customers WHERE name_norm > ? AND name_norm < ? "
        "ORDER BY name_norm LIMIT ?", [plan.norm, plan.norm + "\U0010ffff", limit]))
    if len(ids) < limit:
        sql, params = match_ids_sql(conn, plan)
        take(conn.execute(f"{sql} LIMIT ?", [*params, limit + len(seen)]))
    return ids


def common_gram(conn: sqlite3.Connection, gram: str) -> bool:
    """Whether a bulk load left this gram out of ``name_grams`` as too common to list
    (see ``text.COMMON_GRAM_SHARE``): its names are checked one by one instead."""
    return conn.execute("SELECT 1 FROM common_grams WHERE gram = ?", [gram]).fetchone() is not None


#: The customers whose name holds a gram, checked name by name (see common_gram).
NAMES_HOLDING_SQL = "SELECT id FROM customers WHERE instr(name_norm, ?) > 0"


def match_ids_sql(conn: sqlite3.Connection, plan: SearchPlan) -> tuple[str, list[Any]]:
    """SQL giving the ids that match a search, in id order."""
    if plan.kind == "gram" and common_gram(conn, plan.norm):
        return f"{NAMES_HOLDING_SQL} ORDER BY id", [plan.norm]
    if plan.kind == "gram":
        return ("SELECT customer_id FROM name_grams WHERE gram = ? ORDER BY customer_id",
                [plan.norm])
    return ("SELECT rowid FROM customer_search WHERE customer_search MATCH ? ORDER BY rowid",
            [plan.fts])


def fetch_rows(conn: sqlite3.Connection, ids: Sequence[int]) -> list[Sequence[Any]]:
    """The list columns (:data:`ROW_COLUMNS`) of these customers, in the order given."""
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    rows = {
        r[0]: r
        for r in conn.execute(
            f"SELECT {ROW_COLUMNS} FROM customers WHERE id IN ({marks})", list(ids)
        ).fetchall()
    }
    return [rows[i] for i in ids if i in rows]
