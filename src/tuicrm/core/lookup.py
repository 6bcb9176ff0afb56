"""Quick look-ups for the command line: ``tuicrm find`` without the weight of the store.

``find`` must answer like ``grep``. Opening a :class:`~tuicrm.core.store.Store` imports
pydantic models, sqlite-utils, the migrations and the rules, several times the cost of
the query itself, so this module owns the search SQL (the store's ``search`` uses it
too) and needs only :mod:`sqlite3` and the query planner.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tuicrm.core.search import SearchPlan, plan_search
from tuicrm.core.textcells import printable

BUSY_TIMEOUT_MS = 10_000

ROW_COLUMNS = (
    "id, name, tier, status, owner, industry, annual_amount, total_amount, "
    "last_contact_date, next_due"
)


@dataclass(frozen=True, slots=True)
class FoundCustomer:
    """One line of ``find``: the fields of :class:`~tuicrm.core.models.CustomerRow`."""

    id: int
    name: str
    tier: str
    status: str
    owner: str
    industry: str
    annual_amount: int | None
    total_amount: int
    last_contact_date: dt.date | None
    next_due: dt.date | None

    def as_json(self) -> dict[str, Any]:
        """The row as ``CustomerRow.model_dump(mode="json")`` gives it."""
        data = asdict(self)
        for key in ("last_contact_date", "next_due"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        return data


class SchemaNotReady(Exception):
    """The database lacks the tables or columns the look-up reads (an older schema)."""


def find(path: str | Path, query: str, *, limit: int = 20) -> list[FoundCustomer]:
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
        return [_found(r) for r in rows]
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
        sql, params = match_ids_sql(plan)
        take(conn.execute(f"{sql} LIMIT ?", [*params, limit + len(seen)]))
    return ids


def match_ids_sql(plan: SearchPlan) -> tuple[str, list[Any]]:
    """SQL giving the ids that match a search, in id order."""
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


def _found(r: Sequence[Any]) -> FoundCustomer:
    return FoundCustomer(
        # Control characters an older tool let in are drawn as pictures, as in the app.
        id=r[0], name=printable(r[1]), tier=printable(r[2]), status=printable(r[3]),
        owner=printable(r[4]), industry=printable(r[5]),
        annual_amount=r[6], total_amount=r[7],
        last_contact_date=dt.date.fromisoformat(r[8]) if r[8] else None,
        next_due=dt.date.fromisoformat(r[9]) if r[9] else None,
    )
