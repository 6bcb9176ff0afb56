"""The review's SQL: aggregates of one period (a week, any range) and of quarters.

Every query reads an indexed column range (follow-ups by date, tier history by date,
customers by next due date, to-dos by open/due, strategy actions by deadline) or one of
the two summaries the triggers of migration ``m070_review_figures`` keep (customers by
segment, owner and quarters; rated follow-ups by quarter, segment and owner); nothing here
writes. A figure is counted in SQL and its customers are read a page at a time
(:func:`customers_behind`). The meaning of each figure is documented in
:mod:`tuicrm.core.review`, which turns these rows into the review.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuicrm.core.store import Store

# A follow-up is late when entered more than `late_hours` after the end of its day.
_LATE = "julianday(f.entered_at) > julianday(f.date) + 1 + :late_hours / 24.0"
# A problem (a to-do a follow-up left) is not answered in time: done too late, or still
# open when the time has passed by the end of today.
_UNANSWERED = (
    "coalesce(julianday(t.done_at), CASE WHEN t.done THEN NULL ELSE julianday(:today) + 1 END)"
    " > julianday(f.entered_at) + :hours / 24.0"
)


@dataclass(frozen=True)
class Behind:
    """How to find the customers behind one figure, two ways.

    ``source`` lists their ids (as ``id``, a customer repeated when several rows of a
    child table count) from the figure's own index range: cheap when the range is
    narrow. ``holds`` is the same condition on one customer ``c``: walking customers by
    id and testing it finds the first ones of a figure that covers many customers after
    a few rows, where sorting the whole range would read all of it.
    """

    source: str
    holds: str
    once: bool = False
    """The source lists each customer at most once (a range of the customers table)."""


def _followups_in(condition: str) -> Behind:
    where = f"f.date BETWEEN :start AND :end AND {condition}"
    return Behind(
        source=f"SELECT f.customer_id AS id FROM followups f WHERE {where}",
        holds=f"EXISTS (SELECT 1 FROM followups f WHERE f.customer_id = c.id AND {where})")


_KNOWN = "coalesce({c}first_contact_date, substr({c}created_at, 1, 10)) BETWEEN :start AND :end"
_MOVED = "at BETWEEN :start AND :end AND old != '' AND old != new AND kind = :kind"
_PROBLEM = (
    "t.followup_id IS NOT NULL AND f.date BETWEEN :start AND :end AND " + _UNANSWERED)

BEHIND: dict[str, Behind] = {
    "new_customers": Behind(
        f"SELECT id FROM customers WHERE {_KNOWN.format(c='')}", _KNOWN.format(c="c."),
        once=True),
    "deals": Behind("SELECT id FROM customers WHERE last_deal_date BETWEEN :start AND :end",
                    "c.last_deal_date BETWEEN :start AND :end", once=True),
    "tier_moves": Behind(
        f"SELECT customer_id AS id FROM tier_history WHERE {_MOVED}",
        f"EXISTS (SELECT 1 FROM tier_history WHERE customer_id = c.id AND {_MOVED})"),
    "late_entries": _followups_in(_LATE),
    "overdue": Behind("SELECT id FROM customers WHERE next_due < :today",
                      "c.next_due < :today", once=True),
    "todos_past_due": Behind(
        "SELECT customer_id AS id FROM todos WHERE done = 0 AND due < :today",
        # `+`: look up the customer's to-dos, not every open to-do past due for each one.
        "EXISTS (SELECT 1 FROM todos WHERE customer_id = c.id AND +done = 0 "
        "AND +due < :today)"),
    "unanswered_problems": Behind(
        "SELECT f.customer_id AS id FROM todos t JOIN followups f ON f.id = t.followup_id "
        f"WHERE {_PROBLEM}",
        "EXISTS (SELECT 1 FROM todos t JOIN followups f ON f.id = t.followup_id "
        f"WHERE t.customer_id = c.id AND f.customer_id = c.id AND {_PROBLEM})"),
    # A cell of the moves matrix: one kind, from one value to another.
    "move": Behind(
        f"SELECT customer_id AS id FROM tier_history WHERE {_MOVED} AND old = :old "
        "AND new = :new",
        f"EXISTS (SELECT 1 FROM tier_history WHERE customer_id = c.id AND {_MOVED} "
        "AND old = :old AND new = :new)"),
    # One owner's follow-ups done, and due: done, or the owner's customers due by the
    # period's end (recording a follow-up moves the due date on).
    "done": _followups_in("f.owner = :owner"),
    "due": Behind(
        "SELECT f.customer_id AS id FROM followups f WHERE f.date BETWEEN :start AND :end "
        "AND f.owner = :owner UNION ALL "
        "SELECT id FROM customers WHERE owner = :owner AND next_due <= :end",
        "(c.owner = :owner AND c.next_due <= :end) OR EXISTS (SELECT 1 FROM followups f "
        "WHERE f.customer_id = c.id AND f.date BETWEEN :start AND :end AND f.owner = :owner)"),
}
BEHIND["lifecycle_moves"] = BEHIND["tier_moves"]

# Walk customers by id when a figure holds at least one in this many of them: the first
# page then comes after about `limit` × this many rows.
DENSE_ONE_IN = 200


def customers_count(store: Store, key: str, params: dict[str, Any]) -> int:
    """How many customers are behind a figure (see :data:`BEHIND`)."""
    behind = BEHIND[key]
    counted = "count(*)" if behind.once else "count(DISTINCT id)"
    return int(store.conn.execute(f"SELECT {counted} FROM ({behind.source})",
                                  params).fetchone()[0])


def customers_behind(store: Store, key: str, params: dict[str, Any], *, count: int,
                     after: int = 0, limit: int = 50) -> list[int]:
    """A page of the customers behind a figure of ``count`` customers: ids above
    ``after``, lowest first, at most ``limit``."""
    behind = BEHIND[key]
    values = {**params, "after": after, "limit": limit}
    if not count:
        return []
    total = store.conn.execute("SELECT max(id) FROM customers").fetchone()[0] or 0
    if count * DENSE_ONE_IN >= total:
        sql = (f"SELECT id FROM customers c NOT INDEXED WHERE c.id > :after "
               f"AND ({behind.holds}) ORDER BY c.id LIMIT :limit")
    else:
        # `+id`: sort the range's rows rather than walk the table in id order.
        sql = (f"SELECT DISTINCT id FROM ({behind.source}) WHERE id > :after "
               "ORDER BY +id LIMIT :limit")
    return [int(r[0]) for r in store.conn.execute(sql, values).fetchall()]


def move_cells(store: Store, start: dt.date, end: dt.date,
               first: int) -> list[tuple[str, str, str, int, list[int]]]:
    """(kind, old, new, customers, the first ``first`` ids) of each cell of the moves in
    the period; a first assignment (no old value) is not a move."""
    rows = store.conn.execute(
        """
        SELECT kind, old, new, count(*),
            json_group_array(customer_id) FILTER (WHERE rank <= :first)
        FROM (SELECT kind, old, new, customer_id,
                row_number() OVER (PARTITION BY kind, old, new ORDER BY customer_id) AS rank
              FROM (SELECT DISTINCT kind, old, new, customer_id FROM tier_history
                    WHERE at BETWEEN :start AND :end AND old != '' AND old != new))
        GROUP BY kind, old, new ORDER BY kind, old, new
        """, {"start": start.isoformat(), "end": end.isoformat(), "first": first}).fetchall()
    return [(str(r[0]), str(r[1]), str(r[2]), int(r[3]), sorted(json.loads(r[4])))
            for r in rows]


def owner_followups(store: Store, start: dt.date, end: dt.date) -> list[tuple[str, int, int]]:
    """(owner, customers followed up in the period, customers due) per owner; due are
    those followed up and the owner's customers due by ``end`` not followed up by them."""
    params = {"start": start.isoformat(), "end": end.isoformat()}
    done = dict(store.conn.execute(
        "SELECT owner, count(DISTINCT customer_id) FROM followups "
        "WHERE date BETWEEN :start AND :end GROUP BY owner", params).fetchall())
    open_due = dict(store.conn.execute(
        "SELECT owner, count(*) FROM customers WHERE next_due <= :end GROUP BY owner",
        params).fetchall())
    # Customers counted in both: followed up by their own owner, and due all the same.
    both = dict(store.conn.execute(
        """
        SELECT f.owner, count(*) FROM (SELECT DISTINCT owner, customer_id FROM followups
            WHERE date BETWEEN :start AND :end) f
        JOIN customers c ON c.id = f.customer_id
        WHERE c.owner = f.owner AND c.next_due <= :end GROUP BY f.owner
        """, params).fetchall())
    return [(str(owner), int(done.get(owner, 0)),
             int(done.get(owner, 0)) + int(open_due.get(owner, 0)) - int(both.get(owner, 0)))
            for owner in sorted(set(done) | set(open_due))]


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


def quarter_followup_counts(store: Store, start: dt.date, end: dt.date,
                            current: dt.date) -> list[dict[str, Any]]:
    """Satisfaction sum and count of the follow-ups dated in ``start``–``end``, and how
    many left feedback that still has an open to-do (unresolved feedback): per quarter
    before ``current`` (segment and owner ``None``), per segment and owner from
    ``current`` on (satisfaction and unresolved feedback in rows of their own). Per
    customer first, then through the narrow (id, segment, owner) index: a lookup per
    follow-up in the wide customers table would be 3× slower."""
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
    params = {"current": current.isoformat(), "end": end.isoformat()}
    # Rated follow-ups only: fewer rows to sort by customer and fewer customers to join.
    rated_rows = store.conn.execute(
        """
        SELECT :current AS quarter, c.segment, c.owner,
            sum(f.satisfaction_sum) AS satisfaction_sum, sum(f.rated) AS rated
        FROM (SELECT customer_id, sum(satisfaction) AS satisfaction_sum, count(*) AS rated
              FROM followups WHERE date BETWEEN :current AND :end
                AND satisfaction IS NOT NULL GROUP BY customer_id) f
        JOIN customers c INDEXED BY customers_id_segment ON c.id = f.customer_id
        GROUP BY 2, 3
        """, params)
    names = [d[0] for d in rated_rows.description]
    rows += [dict(zip(names, r, strict=True)) for r in rated_rows.fetchall()]
    # From the open to-dos (few) to their follow-ups, not the other way round.
    unresolved_rows = store.conn.execute(
        """
        SELECT :current AS quarter, c.segment, c.owner, count(DISTINCT f.id) AS unresolved
        FROM todos t JOIN followups f ON f.id = t.followup_id
        JOIN customers c INDEXED BY customers_id_segment ON c.id = f.customer_id
        WHERE t.done = 0 AND f.feedback != '' AND f.date BETWEEN :current AND :end
        GROUP BY 2, 3
        """, params)
    names = [d[0] for d in unresolved_rows.description]
    return rows + [dict(zip(names, r, strict=True)) for r in unresolved_rows.fetchall()]


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
