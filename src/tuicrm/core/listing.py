"""Pages, counts and board figures for the app's customer list and review board.

Every list query is keyset-paged: a page starts after (or ends before) the sort key of a
row already on screen, so the first, the next and the last page of a million customers
each cost one index range scan. The sort keys of nullable columns are ``coalesce``
expressions with their own indexes (migration ``m020``), so a key is never NULL and a
row-value comparison ``(key, id) > (?, ?)`` always applies.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from tuicrm.core.lookup import NAMES_HOLDING_SQL, common_gram
from tuicrm.core.rows import CustomerRow, customer_row
from tuicrm.core.search import SearchPlan, add_functions, plan_search
from tuicrm.core.text import LETTER_BOUND

if TYPE_CHECKING:
    from tuicrm.core.reader import Reader
    from tuicrm.core.store import Store

SortColumn = Literal[
    "name", "tier", "status", "owner", "industry", "amount", "last_contact", "next_due",
]

# Each sortable column and the SQL expression its index is built on.
SORT_KEYS: dict[str, str] = {
    "name": "name_norm",
    "tier": "tier",
    "status": "status",
    "owner": "owner",
    "industry": "industry",
    "amount": "total_amount",
    "last_contact": "coalesce(last_contact_date, '')",
    "next_due": "coalesce(next_due, '')",
}

_ROW_SQL = (
    "SELECT id, name, tier, status, owner, industry, annual_amount, total_amount, "
    "last_contact_date, next_due, {key} FROM customers"
)

SortKey = tuple[Any, int]
"""Where a row sits in a sort order: its sort-key value and its id."""


class Interrupted(Exception):
    """A count was interrupted (:meth:`sqlite3.Connection.interrupt`) by a newer one."""


@dataclass(frozen=True)
class ListFilter:
    """What the list shows: a search and filters, all of them combined with AND.

    ``overdue`` means a next due date before ``today``; ``owner`` is also how "mine" is
    expressed (the current user's name).
    """

    text: str = ""
    tier: str | None = None
    status: str | None = None
    owner: str | None = None
    tag: str | None = None
    overdue: bool = False
    today: dt.date | None = None

    @property
    def is_empty(self) -> bool:
        """True when the filter lets every customer through."""
        return self == ListFilter(today=self.today)

    def clear(self) -> ListFilter:
        """The same day, no search and no filters."""
        return ListFilter(today=self.today)

    def with_(self, **changes: Any) -> ListFilter:
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True)
class ListSort:
    """The order of the list: a column and a direction; ties broken by id."""

    column: SortColumn = "name"
    descending: bool = False


@dataclass(frozen=True)
class ListedRow:
    """A list row with the key that places it in the current order."""

    row: CustomerRow
    key: SortKey


@dataclass(frozen=True)
class BoardCell:
    """One tier × status cell of the review board."""

    tier: str
    status: str
    count: int
    amount: int
    overdue: int


@dataclass
class Board:
    """The review board's figures: cells by tier and status, from one aggregate query."""

    cells: list[BoardCell] = field(default_factory=list)

    @property
    def tiers(self) -> list[str]:
        """Tiers present, in order (the untiered '' last)."""
        return sorted({c.tier for c in self.cells}, key=lambda t: (t == "", t))

    @property
    def statuses(self) -> list[str]:
        """Statuses present, in order."""
        return sorted({c.status for c in self.cells})

    def cell(self, tier: str, status: str) -> BoardCell | None:
        """The cell of a tier and status, or None when it holds nobody."""
        for c in self.cells:
            if c.tier == tier and c.status == status:
                return c
        return None


# Up to this many matches a term drives the query: its ids are looked up and sorted,
# ~30 ms for 20,000 on a laptop. Above it the sort index is walked and each row checked,
# which finds a page of dense matches in a few hundred steps. Walking for a sparse term
# is the trap: names with a Latin 'k' all sort first, so End walked 800 ms to find them.
SMALL = 20_000
# A name search in name order walks the name index and checks the name in the index
# entry itself (no lookup per row, ~0.2 µs a row), so it drives only when rarer than
# this: 'a' (17,547 matches of 1,000,000) found its page in 0.3 ms walking against 77 ms
# sorting, 'k' in 19 ms against 97 ms.
SMALL_NAME_WALK = 2_000


@dataclass(frozen=True)
class _Term:
    """One condition of a filter, in the forms the planner choice needs."""

    check: str  # a per-row predicate that cannot use an index (for the index walk)
    ids: str  # a subquery giving the matching ids (to drive the query)
    params: tuple[Any, ...]
    small: int = SMALL  # drives the query up to this many matches
    ids_params: tuple[Any, ...] | None = None  # when the subquery's differ from the check's
    walk: SearchPlan | None = None  # the full-text query whose matches a walk checks
    name_gram: bool = False  # the search of a short query in the names' grams

    @property
    def id_params(self) -> tuple[Any, ...]:
        """The parameters of :attr:`ids`."""
        return self.params if self.ids_params is None else self.ids_params


def _terms(store: Store, flt: ListFilter, *, name_walk: bool = False,
           ascending: bool = True) -> list[_Term]:
    """The filter's conditions; ``name_walk`` when the page walks the name index,
    ``ascending`` in which direction."""
    terms: list[_Term] = []
    for column in ("tier", "status", "owner"):
        value = getattr(flt, column)
        if value is not None:
            # The unary + keeps SQLite from choosing this column's index over the sort's.
            terms.append(_Term(f"+{column} = ?",
                               f"SELECT id FROM customers WHERE {column} = ?", (value,)))
    if flt.tag:
        dimension, sep, value = flt.tag.partition(":")
        if not sep:
            dimension, value = "tag", dimension
        terms.append(_Term(
            "EXISTS (SELECT 1 FROM tags t WHERE t.customer_id = customers.id "
            "AND t.dimension = ? AND t.value = ?)",
            "SELECT customer_id FROM tags WHERE dimension = ? AND value = ?",
            (dimension.strip(), value.strip())))
    if flt.overdue:
        today = (flt.today or dt.date.today()).isoformat()
        terms.append(_Term("+next_due < ?",
                           "SELECT id FROM customers WHERE next_due < ?", (today,)))
    plan = plan_search(flt.text)
    if plan is not None and plan.kind == "gram" and common_gram(store.conn, plan.norm):
        # Too common to list (a bulk load left it out of the grams): each name is checked,
        # along the sort's index for a page; it never drives.
        terms.append(_Term("instr(name_norm, ?) > 0", NAMES_HOLDING_SQL, (plan.norm,),
                           small=0, name_gram=True))
    elif plan is not None and plan.kind == "gram" and name_walk:
        terms.append(_Term(
            "instr(name_norm, ?) > 0", "SELECT customer_id FROM name_grams WHERE gram = ?",
            (plan.norm,), small=SMALL_NAME_WALK if ascending else SMALL, name_gram=True))
    elif plan is not None and plan.kind == "gram":
        terms.append(_Term(
            "EXISTS (SELECT 1 FROM name_grams g WHERE g.gram = ? "
            "AND g.customer_id = customers.id)",
            "SELECT customer_id FROM name_grams WHERE gram = ?", (plan.norm,),
            name_gram=True))
    elif plan is not None:
        hits = _fts_hits(store, plan)
        if hits.table is None or hits.refines:
            # Matches are common: walking the sort's index and checking each row finds a
            # page in a few hundred steps. The check reads the row's search document
            # from the full-text index's own content table and looks for the text in
            # it (~5 µs a row); a trigram match restricted to one row would read the
            # query's whole doclists each time (~100 µs). Refining a query kept
            # before, only the rows among its matches are read.
            _add_search_functions(store)
            among = ("" if hits.table is None else
                     f"EXISTS (SELECT 1 FROM temp.{hits.table} h WHERE h.id = customers.id) "
                     "AND ")
            terms.append(_Term(
                f"{among}EXISTS (SELECT 1 FROM customer_search_content s "
                "WHERE s.id = customers.id "
                "AND search_contains(?, s.c0, s.c1, s.c2, s.c3, s.c4, s.c5, s.c6))",
                "SELECT rowid FROM customer_search WHERE customer_search MATCH ?",
                (plan.text,), small=0, ids_params=(plan.fts,), walk=plan))
        else:
            terms.append(_Term(
                f"EXISTS (SELECT 1 FROM temp.{hits.table} h WHERE h.id = customers.id)",
                f"SELECT id FROM temp.{hits.table}", ()))
    return terms


# A full-text query matching at least this share of the customers is checked row by row
# as the sort's index is walked; a rarer one has its matches kept in a temp table (at a
# million customers: '有限公司', 42 %, walks a page in ~2 ms against ~17 ms for a trigram
# check per row, and 300 ms to keep its matches; 'kej', 4 %, keeps its 41,666 matches
# in 15-25 ms, a little faster than the ~1,500 content reads of a walk on a cold cache,
# and 'keji' typed next refines them in ~2 ms instead of keeping its own in 20-30 ms;
# 'zzz', 0.2 %, keeps its 2,249 in 1 ms but would walk 400 ms).
WALK_SHARE = 0.10
# The share is judged on the first hundredth of the ids, from this many customers up
# (below, keeping the matches is cheap anyway).
SAMPLE_ONE_IN = 100
SAMPLED_FROM = 100_000
# A walk that has not found its page in this many seconds (the matches crowd at the
# other end of the order) gives up, and the matches are kept in a temp table instead.
WALK_BUDGET = 0.03


class _WalkTooLong(Exception):
    """A walk of the sort's index ran out of its time budget."""


def _add_search_functions(store: Store) -> None:
    if not store.__dict__.get("_search_functions"):
        add_functions(store.conn)
        store.__dict__["_search_functions"] = True


@dataclass(frozen=True)
class _Hits:
    """How a full-text query's matches are found for a page: walked (each row checked
    along the sort's index), kept (in a temp table), or refined: walked checking only
    the rows kept for a query it contains (typing ``keji`` after ``kej``)."""

    table: str | None = None  # the kept matches (the query's own, or those it refines)
    refines: bool = False
    rows: int = 0  # how many matches the query's own table keeps


def _fts_hits(store: Store, plan: SearchPlan, *, keep: bool = False) -> _Hits:
    """How to find the matches of a full-text query, decided once per query: walked
    when it matches so many customers that walking finds a page sooner (unless
    ``keep``: the walk took too long), refined when it matches about as many as a
    kept query it contains, which has too many to look up by id; else kept.

    Full-text matches come in id order and a range of ids is cheap to read, so the
    shares are judged on the first hundredth of the ids in well under a millisecond.
    """
    cache: dict[str, _Hits] = store.__dict__.setdefault("_fts_hits", {})
    if store.__dict__.get("_fts_version") != _version(store):
        cache.clear()  # someone saved since the matches were kept: keep them again
    try:
        return _decide(store, cache, plan, keep=keep)
    finally:
        store.__dict__["_fts_version"] = _version(store)  # the tables filled included


def _version(store: Store) -> tuple[int, int]:
    """What moves when anyone commits: ``data_version`` for other connections, the
    connection's own count of changed rows for itself."""
    return store.conn.execute("PRAGMA data_version").fetchone()[0], store.conn.total_changes


def _decide(store: Store, cache: dict[str, _Hits], plan: SearchPlan, *, keep: bool) -> _Hits:
    fts = plan.fts
    found = cache.get(fts)
    if found is not None and (not keep or (found.table is not None and not found.refines)):
        return found  # decided before, and no walk ran out of time since
    if len(cache) > 64:  # walked answers pile up; the tables are reused anyway
        cache.clear()
    last = store.conn.execute("SELECT max(id) FROM customers").fetchone()[0] or 0
    sample = last // SAMPLE_ONE_IN
    enough = int(sample * WALK_SHARE) + 1
    sampled = store.conn.execute(
        "SELECT count(*) FROM (SELECT rowid FROM customer_search "
        f"WHERE customer_search MATCH ? AND rowid <= ? LIMIT {enough})",
        [fts, sample]).fetchone()[0]
    if not keep and last >= SAMPLED_FROM:
        if sampled >= enough:
            cache[fts] = _Hits()
            return cache[fts]
        for other, hits in cache.items():
            if (hits.table is None or hits.refines or hits.rows <= SMALL
                    or _phrase(other) not in plan.text):
                continue
            among = store.conn.execute(f"SELECT count(*) FROM temp.{hits.table} "
                                       "WHERE id <= ?", [sample]).fetchone()[0]
            if 0 < among <= 2 * sampled:
                cache[fts] = _Hits(hits.table, refines=True)
                return cache[fts]
    used = {hits.table for hits in cache.values() if hits.table and not hits.refines}
    name = next((f"fts_hits_{i}" for i in range(4) if f"fts_hits_{i}" not in used), None)
    if name is None:  # all four in use: the oldest goes, and what refined it
        name = next(h.table for h in cache.values() if h.table and not h.refines)
    for key, hits in list(cache.items()):
        if hits.table == name:
            del cache[key]
    store.conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} (id INTEGER PRIMARY KEY)")
    store.conn.execute(f"DELETE FROM temp.{name}")
    rows = store.conn.execute(
        f"INSERT INTO temp.{name} SELECT rowid FROM customer_search "
        "WHERE customer_search MATCH ?", [fts]).rowcount
    cache[fts] = _Hits(name, rows=rows)
    return cache[fts]


def _phrase(fts: str) -> str:
    """The text of a quoted full-text phrase (``SearchPlan.fts``)."""
    return fts[1:-1].replace('""', '"')


def _walk(store: Store, sql: str, params: list[Any]) -> list[Any]:
    """Run a page query that walks an index checking rows, within :data:`WALK_BUDGET`."""
    deadline = time.perf_counter() + WALK_BUDGET

    def too_long() -> int:
        return int(time.perf_counter() > deadline)

    store.conn.set_progress_handler(too_long, 2_000)
    try:
        return store.conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "interrupt" in str(exc) and too_long():
            raise _WalkTooLong from None
        raise
    finally:
        store.conn.set_progress_handler(None, 0)


def _smallest(store: Store, terms: list[_Term]) -> int | None:
    """The index of the term matching fewest rows, if it matches at most SMALL."""
    best: tuple[int, int] | None = None
    for index, term in enumerate(terms):
        if term.small == 0:  # known to match too many to drive
            continue
        n = store.conn.execute(
            f"SELECT count(*) FROM ({term.ids} LIMIT {term.small + 1})", term.id_params
        ).fetchone()[0]
        if n <= term.small and (best is None or n < best[0]):
            best = (n, index)
    return None if best is None else best[1]


def page(
    store: Store,
    flt: ListFilter,
    sort: ListSort,
    *,
    after: SortKey | None = None,
    before: SortKey | None = None,
    from_end: bool = False,
    limit: int = 100,
) -> list[ListedRow]:
    """A page of the list, in display order.

    With ``after``: the rows following that key. With ``before``: the rows preceding it.
    With ``from_end``: the last rows (the reverse keyset of End). Otherwise the first.
    """
    key = SORT_KEYS[sort.column]
    backwards = before is not None or from_end
    # "Forward" in display order is ascending unless the sort is descending.
    ascending = sort.descending == backwards
    # Latin names all sort first: a walk down the name index from the end for them
    # would cross every Chinese name, so only the ascending walk drives with more.
    terms = _terms(store, flt, name_walk=sort.column == "name", ascending=ascending)
    driver = _smallest(store, terms) if terms else None
    clauses: list[str] = []
    params: list[Any] = []
    source = "customers"
    plan = plan_search(flt.text)
    if (sort.column == "name" and plan is not None and plan.kind == "gram"
            and len(plan.norm) == 1 and plan.norm < LETTER_BOUND
            and (driver is None or terms[driver].name_gram)):
        # One letter: its names in name order are a range of their own table (the
        # other conditions are checked row by row along it).
        terms = [t for t in terms if not t.name_gram]
        driver = None
        key = "l.name_norm"
        source = "name_letters l CROSS JOIN customers ON customers.id = l.customer_id"
        clauses.append("l.letter = ?")
        params.append(plan.norm)
    for index, term in enumerate(terms):
        if index == driver:
            # Few matches: look them up by id and sort them, never walking an index.
            source = "customers NOT INDEXED"
            clauses.append(f"id IN ({term.ids})")
            params += term.id_params
        else:
            clauses.append(term.check)
            params += term.params
    anchor = after if after is not None else before
    if anchor is not None:
        greater = (after is not None) != sort.descending
        clauses.append(f"({key}, customers.id) {'>' if greater else '<'} (?, ?)")
        params += [anchor[0], anchor[1]]
    direction = "ASC" if ascending else "DESC"
    sql = _ROW_SQL.format(key=key).replace("FROM customers", f"FROM {source}")
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += f" ORDER BY {key} {direction}, customers.id {direction} LIMIT ?"
    walked = [term.walk for index, term in enumerate(terms)
              if term.walk is not None and index != driver]
    if walked:
        try:
            rows = _walk(store, sql, [*params, limit])
        except _WalkTooLong:
            for query in walked:
                _fts_hits(store, query, keep=True)
            return page(store, flt, sort, after=after, before=before, from_end=from_end,
                        limit=limit)
    else:
        rows = store.conn.execute(sql, [*params, limit]).fetchall()
    listed = [ListedRow(customer_row(r), (r[10], r[0])) for r in rows]
    if backwards:
        listed.reverse()
    return listed


def count(store: Store, flt: ListFilter) -> int:
    """How many customers the filter lets through; raises :class:`Interrupted`."""
    try:
        return _count(store, flt)
    except sqlite3.OperationalError as exc:
        if "interrupt" in str(exc):
            raise Interrupted(str(exc)) from None
        raise


def _count(store: Store, flt: ListFilter) -> int:
    if flt.with_(text="") == ListFilter(today=flt.today):
        plan = plan_search(flt.text)
        if plan is not None and plan.kind == "fts":
            # Counting the matches directly spares filling the temp table of hits.
            return int(store.conn.execute(
                "SELECT count(*) FROM customer_search WHERE customer_search MATCH ?",
                [plan.fts]).fetchone()[0])
    terms = _terms(store, flt)
    if not terms:
        return int(store.conn.execute("SELECT count(*) FROM customers").fetchone()[0])
    if len(terms) == 1:
        sql, params = f"SELECT count(*) FROM ({terms[0].ids})", list(terms[0].id_params)
    else:
        # Drive from the first term's ids, check the rest row by row.
        first, *rest = terms
        sql = (f"SELECT count(*) FROM customers WHERE id IN ({first.ids}) AND "
               + " AND ".join(t.check for t in rest))
        params = [*first.id_params, *(p for t in rest for p in t.params)]
    return int(store.conn.execute(sql, params).fetchone()[0])


def choices(store: Store, column: Literal["tier", "status", "owner"]) -> list[str]:
    """The distinct values of a column, for the filter pickers (an index skip-scan)."""
    values: list[str] = []
    last: str | None = None
    # Hop from value to value along the index instead of a full DISTINCT scan.
    while True:
        row = store.conn.execute(
            f"SELECT min({column}) FROM customers"
            + ("" if last is None else f" WHERE {column} > ?"),
            [] if last is None else [last],
        ).fetchone()
        if row is None or row[0] is None:
            return values
        last = row[0]
        values.append(row[0])
        if len(values) >= 500:
            return values


def board(store: Store, *, owner: str | None = None, today: dt.date) -> Board:
    """Count and total amount per tier and status, with how many are overdue.

    The figures of a million customers take a scan of a covering index (~150 ms), so
    the last ones are kept on the store and reused until the database changes
    (``PRAGMA data_version`` moves when any other connection commits).
    """
    version = store.conn.execute("PRAGMA data_version").fetchone()[0]
    cache: dict[tuple[Any, ...], Board] = store.__dict__.setdefault("_boards", {})
    key = (version, store.conn.total_changes, owner, today)
    if key not in cache:
        cache.clear()
        cache[key] = _board(store, owner=owner, today=today)
    return cache[key]


def _board(store: Store, *, owner: str | None, today: dt.date) -> Board:
    sql = (
        "SELECT tier, status, count(*), coalesce(sum(total_amount), 0), "
        "coalesce(sum(next_due < ?), 0) FROM customers"
    )
    params: list[Any] = [today.isoformat()]
    if owner is not None:
        sql += " WHERE owner = ?"
        params.append(owner)
    sql += " GROUP BY tier, status"
    return Board([
        BoardCell(tier=r[0], status=r[1], count=r[2], amount=r[3], overdue=r[4])
        for r in store.conn.execute(sql, params).fetchall()
    ])


def board_cards(
    store: Store, *, tier: str, status: str, owner: str | None = None, limit: int = 50,
) -> list[CustomerRow]:
    """The customers of one board cell, the largest amounts first (an index walk)."""
    sql = (
        "SELECT id, name, tier, status, owner, industry, annual_amount, total_amount, "
        "last_contact_date, next_due FROM customers WHERE tier = ? AND status = ?"
    )
    params: list[Any] = [tier, status]
    if owner is not None:
        sql += " AND owner = ?"
        params.append(owner)
    sql += " ORDER BY total_amount DESC LIMIT ?"
    params.append(limit)
    return [customer_row(r) for r in store.conn.execute(sql, params).fetchall()]


@dataclass(frozen=True)
class Change:
    """What happened to a customer since the last review: a tier move or a lapsed due."""

    row: CustomerRow
    kind: Literal["tier", "overdue"]
    old: str
    new: str
    on: str


def changes_since(
    store: Store, *, since: dt.date, today: dt.date, owner: str | None = None,
    limit: int = 200,
) -> list[Change]:
    """Customers whose tier changed, or whose follow-up fell due, since ``since``."""
    owner_sql = "" if owner is None else " AND c.owner = ?"
    owner_params: list[Any] = [] if owner is None else [owner]
    found: list[tuple[str, int, str, str, str]] = []
    for r in store.conn.execute(
        "SELECT h.customer_id, h.kind, h.old, h.new, substr(h.at, 1, 10) "
        "FROM tier_history h JOIN customers c ON c.id = h.customer_id "
        f"WHERE h.at >= ?{owner_sql} ORDER BY h.at DESC, h.id DESC LIMIT ?",
        [since.isoformat(), *owner_params, limit],
    ).fetchall():
        found.append(("tier", r[0], r[2], r[3], r[4]))
    for r in store.conn.execute(
        "SELECT c.id, c.next_due FROM customers c WHERE c.next_due >= ? AND c.next_due < ?"
        f"{owner_sql} ORDER BY c.next_due DESC, c.id LIMIT ?",
        [since.isoformat(), today.isoformat(), *owner_params, limit],
    ).fetchall():
        found.append(("overdue", r[0], "", r[1], r[1]))
    found.sort(key=lambda f: f[4], reverse=True)
    rows = {row.id: row for row in store.rows_by_id(sorted({f[1] for f in found}))}
    return [Change(rows[f[1]], f[0], f[2], f[3], f[4])  # type: ignore[arg-type]
            for f in found[:limit] if f[1] in rows]


def statuses(store: Store) -> list[str]:
    """The statuses in use (the board's rows and the status picker)."""
    return choices(store, "status")


class FirstPage:
    """The list's first page, read on a thread of its own while the app's modules load.

    Start-up spends most of its time importing Textual; the page's query needs only a
    plain connection, so it runs beside the imports and the list can draw its rows in
    its very first frame. The reader it opened is then handed to the list's lane.
    """

    def __init__(self, open_reader: Callable[[], Reader], flt: ListFilter, sort: ListSort,
                 limit: int) -> None:
        self.filter = flt
        self.sort = sort
        self.limit = limit
        self._open_reader = open_reader
        self._reader: Reader | None = None
        self._rows: list[ListedRow] | None = None
        self._done = threading.Event()
        threading.Thread(target=self._read, name="tuicrm-first-page", daemon=True).start()

    def _read(self) -> None:
        try:
            self._reader = self._open_reader()
            self._rows = page(self._reader, self.filter, self.sort,  # type: ignore[arg-type]
                              limit=self.limit)
        except Exception:
            self._rows = None
        finally:
            self._done.set()

    def rows(self, flt: ListFilter, sort: ListSort, limit: int, *,
             wait: bool = False) -> list[ListedRow] | None:
        """The first ``limit`` rows for this filter and sort, once read; None when they
        are not ready (unless ``wait``), failed, or answer another question."""
        if (flt, sort) != (self.filter, self.sort) or limit > self.limit:
            return None
        if not self._done.wait(None if wait else 0):
            return None
        return None if self._rows is None else self._rows[:limit]

    def reader(self) -> Reader | None:
        """The reader the page was read with, once (for the list's page lane)."""
        self._done.wait()
        reader, self._reader = self._reader, None
        return reader
