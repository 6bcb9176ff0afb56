"""The review's SQL: aggregates of one period (a week, any range) and of quarters.

Every query reads an indexed column range (follow-ups by date, tier history by date,
customers by next due date, to-dos by open/due, strategy actions by deadline) or one pass
over the narrow ``customers_review`` index; nothing here writes. The meaning of each
figure is documented in :mod:`tuicrm.core.review`, which turns these rows into the
review.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuicrm.core.store import Store

# A follow-up is late when entered more than `late_hours` after the end of its day.
_LATE = "julianday(f.entered_at) > julianday(f.date) + 1 + :late_hours / 24.0"


def _ids(rows: Sequence[Sequence[Any]]) -> list[int]:
    return sorted({int(r[0]) for r in rows})


def new_customer_ids(store: Store, start: dt.date, end: dt.date) -> list[int]:
    """Customers first contacted in the period (the day added when no date is known)."""
    rows = store.conn.execute(
        "SELECT id FROM customers WHERE coalesce(first_contact_date, substr(created_at, 1, 10)) "
        "BETWEEN ? AND ?", [start.isoformat(), end.isoformat()]).fetchall()
    return _ids(rows)


def deal_ids(store: Store, start: dt.date, end: dt.date) -> list[int]:
    """Customers whose last deal is in the period."""
    rows = store.conn.execute(
        "SELECT id FROM customers WHERE last_deal_date BETWEEN ? AND ?",
        [start.isoformat(), end.isoformat()]).fetchall()
    return _ids(rows)


def moves(store: Store, start: dt.date, end: dt.date) -> list[tuple[str, str, str, int]]:
    """(kind, old, new, customer id) of every tier or lifecycle move in the period; a
    first assignment (no old value) is not a move."""
    rows = store.conn.execute(
        "SELECT kind, old, new, customer_id FROM tier_history "
        "WHERE at BETWEEN ? AND ? AND old != '' AND old != new ORDER BY id",
        [start.isoformat(), end.isoformat()]).fetchall()
    return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]


def followups_done(store: Store, start: dt.date, end: dt.date) -> list[tuple[str, int]]:
    """(follow-up owner, customer id) of every follow-up dated in the period."""
    rows = store.conn.execute(
        "SELECT f.owner, f.customer_id FROM followups f WHERE f.date BETWEEN ? AND ?",
        [start.isoformat(), end.isoformat()]).fetchall()
    return [(str(r[0]), int(r[1])) for r in rows]


def still_due(store: Store, end: dt.date) -> list[tuple[str, int]]:
    """(customer owner, id) of customers whose next follow-up is due on or before
    ``end`` and not yet done (recording it moves the due date on)."""
    rows = store.conn.execute(
        "SELECT owner, id FROM customers WHERE next_due <= ?", [end.isoformat()]).fetchall()
    return [(str(r[0]), int(r[1])) for r in rows]


def overdue_ids(store: Store, today: dt.date) -> list[int]:
    """Customers whose next follow-up was due before ``today``."""
    rows = store.conn.execute(
        "SELECT id FROM customers WHERE next_due < ?", [today.isoformat()]).fetchall()
    return _ids(rows)


def late_entries(store: Store, start: dt.date, end: dt.date,
                 late_hours: int) -> list[tuple[int, int]]:
    """(follow-up id, customer id) of follow-ups dated in the period and entered late."""
    rows = store.conn.execute(
        f"SELECT f.id, f.customer_id FROM followups f WHERE f.date BETWEEN :start AND :end "
        f"AND {_LATE} ORDER BY f.id",
        {"start": start.isoformat(), "end": end.isoformat(), "late_hours": late_hours},
    ).fetchall()
    return [(int(r[0]), int(r[1])) for r in rows]


def todos_past_due(store: Store, today: dt.date) -> list[tuple[int, int]]:
    """(to-do id, customer id) of open to-dos due before ``today``."""
    rows = store.conn.execute(
        "SELECT id, customer_id FROM todos WHERE done = 0 AND due < ? ORDER BY id",
        [today.isoformat()]).fetchall()
    return [(int(r[0]), int(r[1])) for r in rows]


def unanswered_problems(store: Store, start: dt.date, end: dt.date, today: dt.date,
                        within_hours: int) -> list[tuple[int, int]]:
    """(follow-up id, customer id) of complex problems not answered in time.

    A complex problem is a follow-up dated in the period that left a to-do; it is
    answered when its to-dos are done. It counts when a to-do was done more than
    ``within_hours`` after the follow-up was entered, or is still open and that time
    has passed by the end of ``today``.
    """
    rows = store.conn.execute(
        """
        SELECT DISTINCT f.id, f.customer_id FROM todos t
        JOIN followups f ON f.id = t.followup_id
        WHERE t.followup_id IS NOT NULL AND f.date BETWEEN :start AND :end
          AND coalesce(julianday(t.done_at), CASE WHEN t.done THEN NULL
                ELSE julianday(:today) + 1 END)
              > julianday(f.entered_at) + :hours / 24.0
        ORDER BY f.id
        """,
        {"start": start.isoformat(), "end": end.isoformat(), "today": today.isoformat(),
         "hours": within_hours},
    ).fetchall()
    return [(int(r[0]), int(r[1])) for r in rows]


def quarter_customer_counts(store: Store,
                            quarters: Sequence[tuple[dt.date, dt.date]]) -> list[dict[str, Any]]:
    """Per segment and owner, for each quarter ``i``: ``pool_i`` potential customers
    (known before the quarter ended, no deal before it began), ``converted_i`` of them
    with a first deal in it, ``base_i`` customers with a deal before it began,
    ``repurchased_i`` of them whose last deal is in it. One pass over an index."""
    columns: list[str] = []
    params: dict[str, Any] = {}
    for i, (start, end) in enumerate(quarters):
        params[f"s{i}"], params[f"e{i}"] = start.isoformat(), end.isoformat()
        columns += [
            f"sum(known <= :e{i} AND (first_deal_date IS NULL OR first_deal_date >= :s{i}))"
            f" AS pool_{i}",
            f"sum(known <= :e{i} AND first_deal_date BETWEEN :s{i} AND :e{i}) AS converted_{i}",
            f"sum(first_deal_date < :s{i}) AS base_{i}",
            f"sum(first_deal_date < :s{i} AND last_deal_date BETWEEN :s{i} AND :e{i})"
            f" AS repurchased_{i}",
        ]
    sql = (
        f"SELECT segment, owner, {', '.join(columns)} FROM ("
        "SELECT segment, owner, first_deal_date, last_deal_date, "
        "coalesce(first_contact_date, first_deal_date, substr(created_at, 1, 10)) AS known "
        "FROM customers) GROUP BY segment, owner"
    )
    cursor = store.conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


_UNRESOLVED = (
    "sum(id IN (SELECT t.followup_id FROM todos t JOIN followups u ON u.id = t.followup_id "
    "WHERE t.done = 0 AND u.feedback != ''))"
)


def quarter_followup_counts(store: Store, start: dt.date, end: dt.date,
                            current: dt.date) -> list[dict[str, Any]]:
    """Satisfaction sum and count of the follow-ups dated in ``start``–``end``, and how
    many left feedback that still has an open to-do (unresolved feedback): per quarter
    before ``current`` (segment and owner ``None``), per segment and owner from
    ``current`` on. Per customer first, then through the narrow (id, segment, owner)
    index: a lookup per follow-up in the wide customers table would be 3× slower."""
    rows: list[dict[str, Any]] = []
    quarter = start
    # One plain aggregate per earlier quarter: a GROUP BY on a date expression would
    # compute and sort it for every follow-up (3× slower).
    while quarter < current:
        following = dt.date(quarter.year + quarter.month // 10, (quarter.month + 2) % 12 + 1, 1)
        total, rated = store.conn.execute(
            "SELECT sum(satisfaction), count(satisfaction) FROM followups "
            "WHERE date >= ? AND date < ?", [quarter.isoformat(), following.isoformat()]
        ).fetchone()
        unresolved = store.conn.execute(
            "SELECT count(DISTINCT u.id) FROM todos t JOIN followups u ON u.id = t.followup_id "
            "WHERE t.done = 0 AND u.feedback != '' AND u.date >= ? AND u.date < ?",
            [quarter.isoformat(), following.isoformat()]).fetchone()[0]
        rows.append({"quarter": quarter.isoformat(), "segment": None, "owner": None,
                     "satisfaction_sum": total, "rated": rated, "unresolved": unresolved})
        quarter = following
    grouped = store.conn.execute(
        f"""
        SELECT :current AS quarter, c.segment, c.owner,
            sum(f.satisfaction_sum) AS satisfaction_sum, sum(f.rated) AS rated,
            sum(f.unresolved) AS unresolved
        FROM (SELECT customer_id, sum(satisfaction) AS satisfaction_sum,
                count(satisfaction) AS rated, {_UNRESOLVED} AS unresolved
              FROM followups WHERE date BETWEEN :current AND :end GROUP BY customer_id) f
        JOIN customers c INDEXED BY customers_id_segment ON c.id = f.customer_id
        GROUP BY 2, 3
        """, {"current": current.isoformat(), "end": end.isoformat()})
    names = [d[0] for d in grouped.description]
    return rows + [dict(zip(names, r, strict=True)) for r in grouped.fetchall()]


def quarter_action_counts(store: Store, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Per quarter start (of the deadline), segment and owner: strategy actions due and
    those done by their deadline."""
    cursor = store.conn.execute(
        """
        SELECT date(a.deadline, 'start of month',
                printf('-%d months', (CAST(strftime('%m', a.deadline) AS INTEGER) - 1) % 3))
                AS quarter,
            c.segment, c.owner, count(*) AS planned,
            sum(a.done AND a.done_on IS NOT NULL AND a.done_on <= a.deadline) AS on_time
        FROM strategy_actions a JOIN strategy_plans p ON p.id = a.plan_id
        JOIN customers c ON c.id = p.customer_id
        WHERE a.deadline BETWEEN ? AND ?
        GROUP BY 1, 2, 3
        """, [start.isoformat(), end.isoformat()])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def quarter_upsell(store: Store, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Per quarter start, segment and owner: the growth of existing customers' purchase
    totals, from the audit of ``total_amount`` (an import or an edit that raised it),
    counting only customers whose first deal was before that quarter."""
    cursor = store.conn.execute(
        """
        SELECT q.quarter, c.segment, c.owner, sum(q.growth) AS upsell FROM (
            SELECT customer_id,
                date(substr(at, 1, 10), 'start of month',
                    printf('-%d months', (CAST(substr(at, 6, 2) AS INTEGER) - 1) % 3))
                    AS quarter,
                CAST(new AS INTEGER) - CAST(coalesce(old, '0') AS INTEGER) AS growth
            FROM audit
            WHERE field = 'total_amount' AND at >= :start AND at < date(:end, '+1 day')
        ) q JOIN customers c ON c.id = q.customer_id
        WHERE q.growth > 0 AND c.first_deal_date < q.quarter
        GROUP BY 1, 2, 3
        """, {"start": start.isoformat(), "end": end.isoformat()})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def tier_distribution(store: Store) -> list[tuple[str, int]]:
    """(tier, customers) by tier, from the board's index."""
    rows = store.conn.execute(
        "SELECT tier, count(*) FROM customers GROUP BY tier ORDER BY count(*) DESC"
    ).fetchall()
    return [(str(r[0]), int(r[1])) for r in rows]


def weekly_followups(store: Store, start: dt.date, end: dt.date) -> list[tuple[str, str, int]]:
    """(week start, owner, follow-ups) from ``start`` to ``end``. Counted by day and owner
    in the order of the (date, owner …) index, then binned into weeks here: grouping on a
    week expression in SQL would sort every follow-up."""
    weeks: dict[tuple[str, str], int] = {}
    for day, owner, count in store.conn.execute(
        "SELECT date, owner, count(*) FROM followups WHERE date BETWEEN ? AND ? "
        "GROUP BY date, owner", [start.isoformat(), end.isoformat()]):
        date = dt.date.fromisoformat(day)
        week = (date - dt.timedelta(days=date.weekday())).isoformat()
        weeks[(week, str(owner))] = weeks.get((week, str(owner)), 0) + int(count)
    return [(week, owner, count) for (week, owner), count in sorted(weeks.items())]


# -- lessons ---------------------------------------------------------------------------


def add_lesson(store: Store, *, title: str, kind: str, happened: str, advice: str,
               customer_ids: Sequence[int], tags: Sequence[str], at: str,
               user: str) -> int:
    """Insert a lesson with its customers; the customers must exist."""
    with store.write() as conn:
        for customer_id in customer_ids:
            store.customer(customer_id)
        cursor = conn.execute(
            "INSERT INTO lessons (title, kind, happened, advice, tags, created_at, created_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [title, kind, happened, advice, json.dumps(list(tags), ensure_ascii=False), at,
             user])
        lesson_id = int(cursor.lastrowid or 0)
        conn.executemany(
            "INSERT OR IGNORE INTO lesson_customers (lesson_id, customer_id) VALUES (?, ?)",
            [(lesson_id, c) for c in customer_ids])
        return lesson_id


_LESSON_COLUMNS = (
    "l.id, l.title, l.kind, l.happened, l.advice, l.tags, l.created_at, l.created_by, "
    "(SELECT json_group_array(customer_id) FROM lesson_customers k WHERE k.lesson_id = l.id)"
)
_LESSON_KEYS = ("id", "title", "kind", "happened", "advice", "tags", "created_at",
                "created_by", "customer_ids")


def _lesson_rows(rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    lessons = []
    for row in rows:
        data = dict(zip(_LESSON_KEYS, row, strict=True))
        data["tags"] = json.loads(data["tags"] or "[]")
        data["customer_ids"] = sorted(json.loads(data["customer_ids"] or "[]"))
        lessons.append(data)
    return lessons


def lessons(store: Store, *, query: str = "", customer_id: int | None = None,
            limit: int = 100) -> list[dict[str, Any]]:
    """Lessons, newest first: all, those whose title, text or tags contain ``query``,
    or those linked to one customer."""
    where, params = "1", {"q": f"%{query}%", "c": customer_id, "limit": limit}
    if query:
        where += (" AND (l.title LIKE :q OR l.happened LIKE :q OR l.advice LIKE :q"
                  " OR l.tags LIKE :q)")
    if customer_id is not None:
        where += (" AND l.id IN (SELECT lesson_id FROM lesson_customers"
                  " WHERE customer_id = :c)")
    rows = store.conn.execute(
        f"SELECT {_LESSON_COLUMNS} FROM lessons l WHERE {where} ORDER BY l.id DESC LIMIT :limit",
        params).fetchall()
    return _lesson_rows(rows)
