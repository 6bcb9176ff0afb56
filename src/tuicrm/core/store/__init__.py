"""The store: the only place that speaks SQL.

A :class:`Store` wraps one SQLite connection (WAL, foreign keys, a busy timeout) and
hands out domain objects and pages of list rows. Every write is one ``BEGIN IMMEDIATE``
transaction, so two reps saving at once queue instead of failing or losing an update.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from tuicrm.core.lookup import fetch_rows, match_ids_sql, search_ids
from tuicrm.core.models import (
    EDITABLE_FIELDS,
    AuditEntry,
    Contact,
    Customer,
    CustomerProfile,
    FollowUp,
    InvalidInput,
    StrategyAction,
    StrategyPlan,
    Tag,
    Todo,
)
from tuicrm.core.rows import CustomerRow, customer_row
from tuicrm.core.search import plan_search
from tuicrm.core.store.indexing import create_indexes
from tuicrm.core.store.migrations import LETTERS_FROM_GRAMS_SQL, LETTERS_OF_SQL, migrations
from tuicrm.core.text import (
    name_grams,
    name_letters,
    normalize_name,
    pinyin_full,
    pinyin_initials,
)

BUSY_TIMEOUT_MS = 10_000
LOCK_RETRIES = 5
BULK_CACHE_KIB = -400_000  # a negative cache_size is in KiB
# Bytes of new terms the full-text index holds in memory before it writes a segment:
# SQLite's default, and for rebuilding everyone (a third less time at a million).
FTS_HASH_BYTES = 1024 * 1024
FTS_LOAD_HASH_BYTES = 64 * 1024 * 1024
# A full-text index built in bulk is left in several large segments, which FTS5 later
# merges inside whichever small write comes along: the first saves after loading a
# million customers took 0.6-4.2 s now and then. Merged into one segment once (~15 s
# at a million, on the builder's thread), small writes merge only with small segments.
OPTIMIZE_SQL = "INSERT INTO customer_search (customer_search) VALUES ('optimize')"


class StoreError(Exception):
    """A write the store refused; the message says why, in words a rep understands."""


class NotFound(StoreError):
    """No customer (or record) by that name or id."""


class DuplicateName(StoreError):
    """Another customer already has this name after normalisation."""


class Conflict(StoreError):
    """Someone else saved this customer since it was read."""

    def __init__(self, message: str, current: Customer) -> None:
        super().__init__(message)
        self.current = current


Segmenter = Callable[["Store", Sequence[int] | None], Any]


def insert_gram_runs(conn: sqlite3.Connection, runs: Mapping[str, Sequence[int]],
                     table: str = "name_grams") -> None:
    """Insert each gram's ids (see :meth:`Store.add_gram_runs`) through ``conn``, which
    may also be a scratch database's, into ``table`` (one like name_grams); a run may be
    a list or an ``array``."""
    conn.executemany(
        f"INSERT INTO {table} (gram, customer_id) SELECT ?, value FROM json_each(?)",
        ((gram, json.dumps(list(runs[gram]))) for gram in sorted(runs)))


#: The page size of a new database. Whole-table passes (segmenting everyone, building an
#: index, an import's copies) read and write a page per system call: 16 KiB pages made
#: them a quarter as many as 4 KiB ones and took a 1,000,000-row import from 85.7 to
#: 81.9 s, its system time from 23.3 to 17.8 s. Existing databases keep theirs.
PAGE_SIZE = 16_384


def utc_now() -> str:
    """The current UTC time as ISO text, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def connect(path: str | Path) -> sqlite3.Connection:
    """Open a connection with the settings every tuicrm connection must have."""
    conn = sqlite3.connect(
        str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
        check_same_thread=False,
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        # Takes effect only while the file is still empty: a new database.
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    _check_settings(conn, path)
    return conn


def _check_settings(conn: sqlite3.Connection, path: str | Path) -> None:
    busy = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    keys = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if busy < 5000 or keys != 1 or (str(path) != ":memory:" and mode != "wal"):
        raise StoreError(
            f"{path}: cannot set up the database (busy_timeout={busy}, foreign_keys={keys}, "
            f"journal_mode={mode})"
        )


class Store:
    """A tuicrm database. Open one per thread (or per worker group)."""

    def __init__(self, path: str | Path, *, segmenter: Segmenter | None = None) -> None:
        self.path = Path(path) if str(path) != ":memory:" else path
        if str(path) != ":memory:":
            from tuicrm.core.dbfile import UnsafeFile, refuse_world_writable

            try:
                refuse_world_writable(path)
            except UnsafeFile as exc:
                raise StoreError(str(exc)) from None
        self.conn = connect(path)
        self.db = Database(self.conn)
        self.segmenter = segmenter
        self._migrate()

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------

    def _migrate(self) -> None:
        if not migrations.pending(self.db):
            return
        with self.write():
            migrations.apply(self.db)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction; nested calls become savepoints."""
        if self.conn.in_transaction:
            self.conn.execute("SAVEPOINT nested")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK TO nested")
                self.conn.execute("RELEASE nested")
                raise
            self.conn.execute("RELEASE nested")
            return
        self._begin_immediate()
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextmanager
    def bulk_load(self, *, rebuild_indexes: bool = True) -> Iterator[None]:
        """Inside :meth:`write`: settings for adding many rows at once.

        A bigger page cache; with ``rebuild_indexes``, the secondary indexes of the
        customer tables that rows would enter at random places are dropped and built
        again at the end, which is several times faster for a large load than keeping
        them up to date row by row (an index built from sorted keys is written in order).
        Indexes that lead with ``customer_id`` stay: a load in customer order appends to
        them. On an error the enclosing transaction rolls back, indexes included.
        """
        if not self.conn.in_transaction:
            raise StoreError("bulk_load: only inside a write transaction")
        cache = self.conn.execute("PRAGMA cache_size").fetchone()[0]
        self.conn.execute(f"PRAGMA cache_size = {BULK_CACHE_KIB}")
        try:
            dropped: list[str] = []
            if rebuild_indexes:
                for name, sql in self.conn.execute(_BULK_INDEXES_SQL).fetchall():
                    self.conn.execute(f'DROP INDEX "{name}"')
                    dropped.append(sql)
            yield
            create_indexes(self.conn, dropped)
        finally:
            self.conn.execute(f"PRAGMA cache_size = {int(cache)}")

    @contextmanager
    def unjournaled(self, enabled: bool = True) -> Iterator[None]:
        """Outside any transaction: for filling a database nobody else has open yet.

        No write-ahead log and no syncs while the block runs (every page would be
        written twice, to the log and then to the file); a failed load still rolls back,
        from a journal kept in memory. WAL again after the block. A database that another
        connection has open stays in WAL (SQLite refuses the switch), only slower. A
        crash of the process (not an error) in the block can leave the file unusable:
        only for a database that can be made again. Foreign keys are not checked in the
        block either: the load's rows must refer only to rows it adds (a look-up of the
        parent for each of millions of child rows, for nothing).
        """
        if not enabled or str(self.path) == ":memory:":
            yield
            return
        self.conn.execute("PRAGMA main.journal_mode = MEMORY")
        self.conn.execute("PRAGMA main.synchronous = OFF")
        self.conn.execute("PRAGMA foreign_keys = OFF")
        try:
            yield
        finally:
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute("PRAGMA main.synchronous = NORMAL")
            self.conn.execute("PRAGMA main.journal_mode = WAL")

    @contextmanager
    def rollback_journal(self, enabled: bool = True) -> Iterator[None]:
        """Outside any transaction: for one large write into a database without data.

        A rollback journal on disk instead of the write-ahead log while the block runs:
        every page is written once, to the file, instead of to the log and then again to
        the file (12 s of the 105 that importing a million rows took). Pages the file did
        not have need no journal, so into a database without data the journal stays
        small. The block's transactions are whole as before: an error, Ctrl-C or a killed
        process rolls back (from the journal, on the next opening), and the syncs are
        the usual ones. Readers wait while a transaction of the block writes. WAL again
        after the block; a database another connection has open stays in WAL (SQLite
        refuses the switch), only slower.
        """
        if not enabled or str(self.path) == ":memory:":
            yield
            return
        self.conn.execute("PRAGMA main.journal_mode = TRUNCATE")
        try:
            yield
        finally:
            self.conn.execute("PRAGMA main.journal_mode = WAL")

    def _begin_immediate(self) -> None:
        # The busy timeout already waits for the lock; a retry covers the rare case of
        # SQLite giving up early (a writer holding the lock through a checkpoint).
        for attempt in range(LOCK_RETRIES):
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if attempt == LOCK_RETRIES - 1:
                    raise StoreError(
                        "the database is busy: another user is saving a large change; "
                        "try again in a moment"
                    ) from exc
                time.sleep(0.05 * (attempt + 1))

    def _after_change(self, ids: Sequence[int] | None) -> None:
        if self.segmenter is not None:
            self.segmenter(self, ids)

    def resegment(self, ids: Sequence[int] | None = None) -> None:
        """Re-apply the segmentation rules to these customers (everyone with ``None``)."""
        self._after_change(ids)

    def segmented_everyone(self) -> None:
        """Say that everyone is segmented (after a load that segmented every customer it
        wrote, into a database without any), if the segmenter keeps such a record."""
        record = getattr(self.segmenter, "segmented_everyone", None)
        if record is not None:
            record(self)

    # -- customers ----------------------------------------------------------------

    def add_customer(self, customer: Customer, *, user: str = "") -> int:
        """Insert a customer; raises :class:`DuplicateName` when the name is taken."""
        norm = normalize_name(customer.name)
        values = _customer_values(customer)
        now = utc_now()
        values.update(
            name_norm=norm, pinyin=pinyin_full(customer.name),
            initials=pinyin_initials(customer.name), created_at=now, updated_at=now,
            updated_by=user, version=1,
        )
        with self.write() as conn:
            self._ensure_name_free(norm, None)
            columns = ", ".join(values)
            marks = ", ".join(f":{k}" for k in values)
            cursor = conn.execute(f"INSERT INTO customers ({columns}) VALUES ({marks})", values)
            customer_id = int(cursor.lastrowid or 0)
            self._add_grams(customer_id, norm)
            self._audit(customer_id, user, "create", "name", None, customer.name)
            self._after_change([customer_id])
            self.reindex([customer_id])
        return customer_id

    def update_customer(
        self,
        customer_id: int,
        changes: dict[str, Any],
        *,
        user: str = "",
        expected_version: int | None = None,
    ) -> Customer:
        """Change some fields of a customer, keeping an audit line per field.

        With ``expected_version``, refuses (:class:`Conflict`) when someone else saved
        the customer since that version was read.
        """
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown:
            raise InvalidInput([f"{name}: not a field that can be edited" for name in unknown])
        with self.write() as conn:
            current = self.customer(customer_id)
            if expected_version is not None and current.version != expected_version:
                raise Conflict(
                    f"{current.name} was changed by {self._last_editor(customer_id)} "
                    "since you opened it",
                    current,
                )
            updated = Customer.parse({**current.model_dump(), **changes}, changed=changes)
            new_values = _customer_values(updated)
            old_values = _customer_values(current)
            changed = {k: v for k, v in new_values.items() if old_values.get(k) != v}
            if not changed:
                return current
            if "name" in changed:
                norm = normalize_name(updated.name)
                self._ensure_name_free(norm, customer_id)
                changed.update(
                    name_norm=norm, pinyin=pinyin_full(updated.name),
                    initials=pinyin_initials(updated.name),
                )
                self._drop_grams(customer_id, normalize_name(current.name))
                self._add_grams(customer_id, norm)
            assignments = ", ".join(f"{k} = :{k}" for k in changed)
            conn.execute(
                f"UPDATE customers SET {assignments}, version = version + 1, "
                "updated_at = :_now, updated_by = :_user WHERE id = :_id",
                {**changed, "_now": utc_now(), "_user": user, "_id": customer_id},
            )
            for field in changed:
                if field in old_values:
                    self._audit(
                        customer_id, user, "update", field,
                        _text(old_values[field]), _text(new_values[field]),
                    )
            self._after_change([customer_id])
            self.reindex([customer_id])
            return self.customer(customer_id)

    def delete_customer(self, customer_id: int, *, user: str = "") -> None:
        """Remove a customer and everything that hangs off it."""
        with self.write() as conn:
            current = self.customer(customer_id)
            self._drop_grams(customer_id, normalize_name(current.name))
            conn.execute("DELETE FROM customer_search WHERE rowid = ?", [customer_id])
            conn.execute("DELETE FROM customers WHERE id = ?", [customer_id])
            self._audit(customer_id, user, "delete", "name", current.name, None)

    def _ensure_name_free(self, norm: str, own_id: int | None) -> None:
        row = self.conn.execute(
            "SELECT id, name FROM customers WHERE name_norm = ?", [norm]
        ).fetchone()
        if row and row[0] != own_id:
            raise DuplicateName(f"name: a customer named {row[1]!r} already exists")

    def _last_editor(self, customer_id: int) -> str:
        row = self.conn.execute(
            "SELECT updated_by FROM customers WHERE id = ?", [customer_id]
        ).fetchone()
        return (row[0] if row else "") or "another user"

    def customer(self, customer_id: int) -> Customer:
        """The customer with this id; raises :class:`NotFound`."""
        row = self.conn.execute(
            "SELECT * FROM customers WHERE id = ?", [customer_id]
        ).fetchone()
        if row is None:
            raise NotFound(f"no customer with id {customer_id}")
        return _customer_from_row(self._row_dict(row))

    def customer_by_name(self, name: str) -> Customer:
        """The customer whose normalised name is ``name``'s; raises :class:`NotFound`."""
        row = self.conn.execute(
            "SELECT * FROM customers WHERE name_norm = ?", [normalize_name(name)]
        ).fetchone()
        if row is None:
            raise NotFound(f"no customer named {name!r}")
        return _customer_from_row(self._row_dict(row))

    def customer_version(self, customer_id: int) -> int:
        """The current version of a customer, to notice changes made by others."""
        row = self.conn.execute(
            "SELECT version FROM customers WHERE id = ?", [customer_id]
        ).fetchone()
        if row is None:
            raise NotFound(f"no customer with id {customer_id}")
        return int(row[0])

    def customer_count(self) -> int:
        """How many customers there are."""
        return int(self.conn.execute("SELECT count(*) FROM customers").fetchone()[0])

    def _row_dict(self, row: Sequence[Any]) -> dict[str, Any]:
        cursor_columns = self._customer_columns()
        return dict(zip(cursor_columns, row, strict=True))

    def _customer_columns(self) -> list[str]:
        if not hasattr(self, "_columns_cache"):
            self._columns_cache = [
                r[1] for r in self.conn.execute("PRAGMA table_info(customers)").fetchall()
            ]
        return self._columns_cache

    # -- what hangs off a customer ---------------------------------------------------

    def add_contact(self, customer_id: int, contact: Contact, *, user: str = "") -> int:
        """Add a person of the decision chain."""
        with self.write() as conn:
            self.customer(customer_id)
            cursor = conn.execute(
                "INSERT INTO contacts (customer_id, name, title, role, cares_about, phone, email) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [customer_id, contact.name, contact.title, contact.role, contact.cares_about,
                 contact.phone, contact.email],
            )
            self._audit(customer_id, user, "add contact", "contacts", None, contact.name)
            self.reindex([customer_id])
            return int(cursor.lastrowid or 0)

    def contacts(self, customer_id: int) -> list[Contact]:
        """The customer's contacts, decision-makers first."""
        rows = self.conn.execute(
            "SELECT id, name, title, role, cares_about, phone, email FROM contacts "
            "WHERE customer_id = ? ORDER BY role != 'decision-maker', id",
            [customer_id],
        ).fetchall()
        keys = ("id", "name", "title", "role", "cares_about", "phone", "email")
        return [Contact.stored(dict(zip(keys, r, strict=True))) for r in rows]

    def add_followup(self, customer_id: int, followup: FollowUp, *, user: str = "") -> int:
        """Record a follow-up with its to-dos; the customer's tags and due date follow."""
        entered_at = followup.entered_at or dt.datetime.now(dt.UTC).replace(microsecond=0)
        with self.write() as conn:
            self.customer(customer_id)
            cursor = conn.execute(
                "INSERT INTO followups (customer_id, date, method, participants, content, "
                "feedback, owner, next_date, satisfaction, entered_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [customer_id, _iso(followup.date), followup.method, followup.participants,
                 followup.content, followup.feedback, followup.owner or user,
                 _iso(followup.next_date), followup.satisfaction, entered_at.isoformat()],
            )
            followup_id = int(cursor.lastrowid or 0)
            for todo in followup.todos:
                self._insert_todo(customer_id, followup_id, todo, followup.owner or user)
            conn.execute(
                "UPDATE customers SET last_contact_date = "
                "(SELECT max(date) FROM followups WHERE customer_id = :id), "
                "next_due_manual = CASE WHEN :next IS NOT NULL THEN :next "
                "ELSE next_due_manual END WHERE id = :id",
                {"id": customer_id, "next": _iso(followup.next_date)},
            )
            self._audit(customer_id, user, "follow-up", "followups", None,
                        f"{_iso(followup.date)} {followup.method}")
            self._after_change([customer_id])
            self.reindex([customer_id])
            return followup_id

    def _insert_todo(self, customer_id: int, followup_id: int | None, todo: Todo,
                     owner: str) -> int:
        cursor = self.conn.execute(
            "INSERT INTO todos (customer_id, followup_id, text, due, owner, done) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [customer_id, followup_id, todo.text, _iso(todo.due), todo.owner or owner,
             int(todo.done)],
        )
        return int(cursor.lastrowid or 0)

    def followup_count(self, customer_id: int) -> int:
        """How many follow-ups the customer has."""
        return int(self.conn.execute("SELECT count(*) FROM followups WHERE customer_id = ?",
                                     [customer_id]).fetchone()[0])

    def followups(self, customer_id: int, limit: int | None = None) -> list[FollowUp]:
        """The customer's follow-ups, newest first, each with its to-dos."""
        sql = (
            "SELECT id, customer_id, date, method, participants, content, feedback, owner, "
            "next_date, satisfaction, entered_at FROM followups WHERE customer_id = ? "
            "ORDER BY date DESC, id DESC"
        )
        params: list[Any] = [customer_id]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        keys = ("id", "customer_id", "date", "method", "participants", "content", "feedback",
                "owner", "next_date", "satisfaction", "entered_at")
        followups = [
            FollowUp.stored(dict(zip(keys, r, strict=True)))
            for r in self.conn.execute(sql, params).fetchall()
        ]
        todos: dict[int, list[Todo]] = {}
        where, params = "customer_id = ? AND followup_id IS NOT NULL", [customer_id]
        if limit is not None:  # only the listed follow-ups' to-dos
            where += " AND followup_id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps([f.id for f in followups]))
        for followup_id, todo in self._todos(where, params):
            todos.setdefault(followup_id, []).append(todo)
        for followup in followups:
            followup.todos = todos.get(followup.id or 0, [])
        return followups

    def todos(self, customer_id: int, *, open_only: bool = False) -> list[Todo]:
        """The customer's to-dos by due date; only the open ones with ``open_only``."""
        # +done: by the customer's index, not the one on every customer's open to-dos,
        # which SQLite picks otherwise (70 ms at a million customers instead of 0.1).
        where = "customer_id = ?" + (" AND +done = 0" if open_only else "")
        return [todo for _, todo in self._todos(where, [customer_id])]

    def _todos(self, where: str, params: list[Any]) -> list[tuple[int, Todo]]:
        rows = self.conn.execute(
            f"SELECT followup_id, id, text, due, owner, done FROM todos WHERE {where} "
            "ORDER BY done, due IS NULL, due, id",
            params,
        ).fetchall()
        return [
            (r[0], Todo.stored(
                {"id": r[1], "text": r[2], "due": r[3], "owner": r[4], "done": bool(r[5])}))
            for r in rows
        ]

    def add_todo(self, customer_id: int, todo: Todo, *, user: str = "") -> int:
        """Add a to-do that belongs to no follow-up."""
        with self.write():
            self.customer(customer_id)
            return self._insert_todo(customer_id, None, todo, user)

    def set_todo_done(self, todo_id: int, done: bool, *, user: str = "") -> None:
        """Tick (or untick) a to-do."""
        with self.write() as conn:
            row = conn.execute("SELECT customer_id, text FROM todos WHERE id = ?",
                               [todo_id]).fetchone()
            if row is None:
                raise NotFound(f"no to-do with id {todo_id}")
            conn.execute(
                "UPDATE todos SET done = ?, done_at = ? WHERE id = ?",
                [int(done), utc_now() if done else None, todo_id],
            )
            self._audit(row[0], user, "to-do done" if done else "to-do reopened", "todos",
                        None, row[1])

    def add_plan(self, customer_id: int, plan: StrategyPlan, *, user: str = "") -> int:
        """Add a strategy plan with its actions."""
        with self.write() as conn:
            self.customer(customer_id)
            cursor = conn.execute(
                "INSERT INTO strategy_plans (customer_id, customer_type, goal, owner, deadline, "
                "expected_effect) VALUES (?, ?, ?, ?, ?, ?)",
                [customer_id, plan.customer_type, plan.goal, plan.owner, _iso(plan.deadline),
                 plan.expected_effect],
            )
            plan_id = int(cursor.lastrowid or 0)
            for action in plan.actions:
                conn.execute(
                    "INSERT INTO strategy_actions (plan_id, action, owner, deadline, "
                    "expected_effect, done, done_on) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [plan_id, action.action, action.owner, _iso(action.deadline),
                     action.expected_effect, int(action.done), _iso(action.done_on)],
                )
            self._audit(customer_id, user, "add plan", "strategy", None, plan.goal)
            return plan_id

    def plans(self, customer_id: int) -> list[StrategyPlan]:
        """The customer's strategy plans with their actions."""
        plan_keys = ("id", "customer_id", "customer_type", "goal", "owner", "deadline",
                     "expected_effect")
        plans = [
            StrategyPlan.stored(dict(zip(plan_keys, r, strict=True)))
            for r in self.conn.execute(
                f"SELECT {', '.join(plan_keys)} FROM strategy_plans WHERE customer_id = ? "
                "ORDER BY id", [customer_id]).fetchall()
        ]
        action_keys = ("id", "action", "owner", "deadline", "expected_effect", "done",
                       "done_on")
        for plan in plans:
            plan.actions = [
                StrategyAction.stored(dict(zip(action_keys, r, strict=True)))
                for r in self.conn.execute(
                    f"SELECT {', '.join(action_keys)} FROM strategy_actions WHERE plan_id = ? "
                    "ORDER BY deadline IS NULL, deadline, id", [plan.id]).fetchall()
            ]
        return plans

    def set_action_done(self, action_id: int, done_on: dt.date | None, *,
                        user: str = "") -> None:
        """Mark a strategy action done on a date (``None`` reopens it)."""
        with self.write() as conn:
            row = conn.execute(
                "SELECT p.customer_id, a.action FROM strategy_actions a "
                "JOIN strategy_plans p ON p.id = a.plan_id WHERE a.id = ?", [action_id]
            ).fetchone()
            if row is None:
                raise NotFound(f"no strategy action with id {action_id}")
            conn.execute(
                "UPDATE strategy_actions SET done = ?, done_on = ? WHERE id = ?",
                [int(done_on is not None), _iso(done_on), action_id],
            )
            self._audit(row[0], user, "action done" if done_on else "action reopened",
                        "strategy", None, row[1])

    # -- tags ---------------------------------------------------------------------

    def tags(self, customer_id: int) -> list[Tag]:
        """The customer's tags, by dimension; manual ones first within a dimension.

        With a rules segmenter, the tags the rules compute come too, each with its
        reason; a manual tag in a dimension replaces the computed one.
        """
        rows = self.conn.execute(
            "SELECT dimension, value, source, reason FROM tags WHERE customer_id = ? "
            "ORDER BY dimension, source = 'rule', value",
            [customer_id],
        ).fetchall()
        tags = [
            Tag.model_validate({"dimension": r[0], "value": r[1], "source": r[2],
                                "reason": r[3]})
            for r in rows
        ]
        computed = getattr(self.segmenter, "tags", None)
        if computed is not None:
            manual = {t.dimension for t in tags if t.source == "manual"}
            tags += [t for t in computed(self, customer_id) if t.dimension not in manual]
            tags.sort(key=lambda t: (t.dimension, t.source == "rule", t.value))
        return tags

    def add_tag(self, customer_id: int, tag: Tag, *, user: str = "") -> None:
        """Set a tag by hand; it stays until removed, whatever the rules say."""
        with self.write() as conn:
            self.customer(customer_id)
            conn.execute(
                "INSERT INTO tags (customer_id, dimension, value, source, reason) "
                "VALUES (?, ?, ?, 'manual', ?) ON CONFLICT (customer_id, dimension, value) "
                "DO UPDATE SET source = 'manual', reason = excluded.reason",
                [customer_id, tag.dimension, tag.value, tag.reason],
            )
            self._audit(customer_id, user, "add tag", "tags", None, str(tag))
            self._after_change([customer_id])
            self.reindex([customer_id])

    def remove_tag(self, customer_id: int, tag: Tag, *, user: str = "") -> None:
        """Remove a tag set by hand."""
        with self.write() as conn:
            cursor = conn.execute(
                "DELETE FROM tags WHERE customer_id = ? AND dimension = ? AND value = ? "
                "AND source = 'manual'",
                [customer_id, tag.dimension, tag.value],
            )
            if cursor.rowcount == 0:
                raise NotFound(f"tags: {customer_id} has no manual tag {tag}")
            self._audit(customer_id, user, "remove tag", "tags", str(tag), None)
            self._after_change([customer_id])
            self.reindex([customer_id])

    # -- profile, audit -------------------------------------------------------------

    def profile(self, customer_id: int, *, followups: int | None = None,
                open_todos: bool = False) -> CustomerProfile:
        """A customer with contacts, tags, follow-ups, to-dos and plans; with
        ``followups``, only that many of the latest follow-ups; with ``open_todos``, only
        the to-dos not done (a customer of many years has thousands of the others)."""
        return CustomerProfile(
            customer=self.customer(customer_id),
            contacts=self.contacts(customer_id),
            tags=self.tags(customer_id),
            followups=self.followups(customer_id, followups),
            todos=self.todos(customer_id, open_only=open_todos),
            plans=self.plans(customer_id),
        )

    def _audit(self, customer_id: int | None, user: str, action: str, field: str,
               old: str | None, new: str | None) -> None:
        self.conn.execute(
            "INSERT INTO audit (customer_id, user, at, action, field, old, new) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [customer_id, user, utc_now(), action, field, old, new],
        )

    def history(self, customer_id: int) -> list[AuditEntry]:
        """Every recorded change of a customer, oldest first."""
        keys = ("id", "customer_id", "user", "at", "action", "field", "old", "new")
        return [
            AuditEntry.stored(dict(zip(keys, r, strict=True)))
            for r in self.conn.execute(
                f"SELECT {', '.join(keys)} FROM audit WHERE customer_id = ? ORDER BY id",
                [customer_id]).fetchall()
        ]

    # -- search ---------------------------------------------------------------------

    def _add_grams(self, customer_id: int, norm: str) -> None:
        self.conn.executemany(
            "INSERT OR IGNORE INTO name_grams (gram, customer_id) VALUES (?, ?)",
            [(gram, customer_id) for gram in name_grams(norm)],
        )
        self.conn.executemany(
            "INSERT OR IGNORE INTO name_letters (letter, name_norm, customer_id) "
            "VALUES (?, ?, ?)", [(letter, norm, customer_id) for letter in name_letters(norm)])

    def add_name_grams(self, pairs: Iterable[tuple[str, int]]) -> None:
        """Add ``(gram, customer_id)`` pairs as :func:`~tuicrm.core.text.name_grams`
        gives them, for a bulk load that computes them while it waits for the database;
        sorted pairs of new customers append to each gram's run."""
        self.conn.executemany(
            "INSERT OR IGNORE INTO name_grams (gram, customer_id) VALUES (?, ?)", pairs)

    def add_gram_runs(self, runs: Mapping[str, Sequence[int]]) -> None:
        """Add the grams of new customers given as each gram's ids in ascending order,
        all above the ids already indexed: a bulk load appends them to the table in key
        order, gram by gram, without a sort of all the pairs (each run travels as one
        JSON array: binding tens of millions of pairs one by one took several times
        longer). Every name's letters are filed again after them."""
        insert_gram_runs(self.conn, runs)
        self.rebuild_letters()

    def add_common_grams(self, grams: Iterable[str]) -> None:
        """Mark grams that a bulk load left out of ``name_grams`` as too common to list
        (see ``text.COMMON_GRAM_SHARE``): searches for them check the names."""
        with self.write() as conn:
            conn.executemany("INSERT OR IGNORE INTO common_grams (gram) VALUES (?)",
                             [(gram,) for gram in grams])

    def _drop_grams(self, customer_id: int, norm: str) -> None:
        self.conn.executemany(
            "DELETE FROM name_grams WHERE gram = ? AND customer_id = ?",
            [(gram, customer_id) for gram in name_grams(norm)],
        )
        # By the name as stored, which the letters were filed under.
        self.conn.executemany(
            "DELETE FROM name_letters WHERE letter = ? AND customer_id = ? "
            "AND name_norm = (SELECT name_norm FROM customers WHERE id = ?)",
            [(letter, customer_id, customer_id) for letter in name_letters(norm)])

    def rebuild_letters(self) -> None:
        """Rebuild every name's letters from the grams (after a load that filled the
        grams in bulk)."""
        with self.write() as conn:
            conn.execute("DELETE FROM name_letters")
            conn.execute(LETTERS_FROM_GRAMS_SQL)

    def index_letters(self, where: str, params: Sequence[Any]) -> None:
        """File the letters of the new customers ``where`` picks (SQL over ``customers``)."""
        with self.write() as conn:
            conn.execute(LETTERS_OF_SQL.format(where=where), params)

    def reindex(self, ids: Iterable[int] | None = None) -> None:
        """Rebuild the search documents of these customers (all of them with ``None``).

        For everyone, the full-text index gathers more terms in memory before it writes
        them out (fewer, larger segments to merge).
        """
        with self.write() as conn:
            if ids is None:
                conn.execute("DELETE FROM customer_search")
                conn.execute(_FTS_CONFIG_SQL, ["hashsize", FTS_LOAD_HASH_BYTES])
                # One grouped pass per table instead of three correlated look-ups per
                # customer.
                for sql in _SEARCH_PARTS_SQL:
                    conn.execute(sql)
                try:
                    conn.execute(_SEARCH_ALL_DOCS_SQL)
                    conn.execute(OPTIMIZE_SQL)
                finally:
                    for table in ("search_contacts", "search_tags", "search_notes"):
                        conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
                    conn.execute(_FTS_CONFIG_SQL, ["hashsize", FTS_HASH_BYTES])
                return
            id_list = list(ids)
            conn.executemany("DELETE FROM customer_search WHERE rowid = ?",
                             [(i,) for i in id_list])
            for chunk in _chunks(id_list, 500):
                marks = ", ".join("?" * len(chunk))
                conn.execute(f"{_SEARCH_DOC_SQL} WHERE c.id IN ({marks})", chunk)

    def search_documents_json(self, first_id: int, last_id: int) -> str:
        """The search documents of the customers with ids ``first_id..last_id`` as one
        JSON array of ``[id, name, pinyin, initials, contacts, facts, tags, notes,
        name_norm]``
        (what :class:`~tuicrm.core.store.searchbuild.SearchIndexBuilder` takes)."""
        return str(self.conn.execute(_SEARCH_DOCS_JSON_SQL, [first_id, last_id]).fetchone()[0])

    def rebuild_grams(self) -> None:
        """Rebuild the short-query grams of every name, set-based, in one transaction."""
        with self.write() as conn:
            conn.execute("DELETE FROM name_grams")
            conn.execute("DELETE FROM common_grams")  # every gram is listed again
            longest = conn.execute(
                "SELECT coalesce(max(length(name_norm)), 0) FROM customers").fetchone()[0]
            conn.execute(_GRAMS_SQL.format(where=""), [longest])
        self.rebuild_letters()

    def index_new_customers(self, first_id: int, last_id: int, *, grams: bool = True) -> None:
        """Grams (unless ``grams`` is false) and search documents of the customers with
        ids ``first_id..last_id``, which have none yet.

        A bulk load in id order calls this after each batch: the batch's grams and
        documents go to the end of each gram's run and of the full-text index, instead
        of a rebuild of both at the end.
        """
        with self.write() as conn:
            self.index_letters("id BETWEEN ? AND ?", [first_id, last_id])
            if not grams:
                conn.execute(f"{_SEARCH_DOC_SQL} WHERE c.id BETWEEN ? AND ?",
                             [first_id, last_id])
                return
            longest = conn.execute(
                "SELECT coalesce(max(length(name_norm)), 0) FROM customers "
                "WHERE id BETWEEN ? AND ?", [first_id, last_id]).fetchone()[0]
            conn.execute(_GRAMS_SQL.format(where="WHERE c.id BETWEEN ? AND ?"),
                         [longest, first_id, last_id, first_id, last_id])
            conn.execute(f"{_SEARCH_DOC_SQL} WHERE c.id BETWEEN ? AND ?", [first_id, last_id])

    def search(self, query: str, *, limit: int = 20) -> list[CustomerRow]:
        """Customers matching ``query``, ranked: exact name, name prefix, then the rest.

        Matches names, pinyin (``keji``) and initials (``akj``), contacts, industry and
        region, tags and the latest follow-up text. Queries of one or two characters
        match names only.
        """
        plan = plan_search(query)
        if plan is None:
            return []
        return self.rows_by_id(search_ids(self.conn, plan, limit))

    def search_count(self, query: str) -> int:
        """How many customers match ``query``."""
        plan = plan_search(query)
        if plan is None:
            return 0
        sql, params = _match_ids_sql(self.conn, plan)
        return int(self.conn.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0])

    def rows_by_id(self, ids: Sequence[int]) -> list[CustomerRow]:
        """List rows for these ids, in the order given."""
        if not ids:
            return []
        return [customer_row(r) for r in fetch_rows(self.conn, ids)]


_SEARCH_DOC_SELECT = """
SELECT c.id AS id, c.name AS name, c.pinyin AS pinyin, c.initials AS initials,
    coalesce((SELECT group_concat(p.name || ' ' || p.title || ' ' || p.phone || ' '
              || p.email, ' ') FROM contacts p WHERE p.customer_id = c.id), '')
        || ' ' || c.contact AS contacts,
    c.industry || ' ' || c.region || ' ' || c.source || ' ' || c.need_categories || ' '
        || c.status || ' ' || c.owner AS facts,
    coalesce((SELECT group_concat(t.dimension || ':' || t.value, ' ') FROM tags t
              WHERE t.customer_id = c.id), '') AS tags,
    coalesce((SELECT f.content || ' ' || f.feedback FROM followups f
              WHERE f.customer_id = c.id ORDER BY f.date DESC, f.id DESC LIMIT 1), '')
        AS notes{extra}
FROM customers c
"""
_SEARCH_DOC_SQL = (
    "INSERT INTO customer_search (rowid, name, pinyin, initials, contacts, facts, tags, notes)"
    + _SEARCH_DOC_SELECT.format(extra="")
)
# The documents of a range of ids as one JSON array of arrays, to hand to another
# connection.
_SEARCH_DOCS_JSON_SQL = f"""
SELECT json_group_array(json_array(id, name, pinyin, initials, contacts, facts, tags, notes,
                                  name_norm))
FROM ({_SEARCH_DOC_SELECT.format(extra=", c.name_norm AS name_norm")}
      WHERE c.id BETWEEN ? AND ? ORDER BY c.id)
"""


# Secondary indexes of the tables a bulk load fills, except those on customer_id first.
_BULK_INDEXES_SQL = """
SELECT i.name, i.sql FROM sqlite_master i
WHERE i.type = 'index' AND i.sql IS NOT NULL
    AND i.tbl_name IN ('customers', 'contacts', 'followups', 'todos')
    AND NOT EXISTS (SELECT 1 FROM pragma_index_info(i.name) k
                    WHERE k.seqno = 0 AND k.name = 'customer_id')
"""


# Every character and every pair of adjacent characters of the names (see
# text.name_grams). Positions only up to the longest name: each name is joined with every
# position, and a fixed 200 cost 15 times the work for names of a dozen characters.
# Sorted by the key, the rows append to the table's b-tree.
_GRAMS_SQL = """
WITH RECURSIVE pos(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM pos WHERE i < ?)
INSERT OR IGNORE INTO name_grams (gram, customer_id)
SELECT gram, id FROM (
    SELECT substr(c.name_norm, pos.i, 2) AS gram, c.id AS id
    FROM customers c JOIN pos ON pos.i < length(c.name_norm) {where}
    UNION ALL
    SELECT substr(c.name_norm, pos.i, 1), c.id
    FROM customers c JOIN pos ON pos.i <= length(c.name_norm) {where}
) ORDER BY gram, id
"""

# The same documents as _SEARCH_DOC_SQL, for everyone at once, from per-customer parts.
_SEARCH_PARTS_SQL = (
    "DROP TABLE IF EXISTS temp.search_contacts",
    "DROP TABLE IF EXISTS temp.search_tags",
    "DROP TABLE IF EXISTS temp.search_notes",
    "CREATE TEMP TABLE search_contacts (customer_id INTEGER PRIMARY KEY, text TEXT)",
    "CREATE TEMP TABLE search_tags (customer_id INTEGER PRIMARY KEY, text TEXT)",
    "CREATE TEMP TABLE search_notes (customer_id INTEGER PRIMARY KEY, text TEXT)",
    """
    INSERT INTO search_contacts
    SELECT customer_id, group_concat(name || ' ' || title || ' ' || phone || ' ' || email, ' ')
    FROM (SELECT * FROM contacts ORDER BY customer_id, id) GROUP BY customer_id
    """,
    """
    INSERT INTO search_tags
    SELECT customer_id, group_concat(dimension || ':' || value, ' ')
    FROM tags GROUP BY customer_id
    """,
    # max() with bare columns: content and feedback come from the row of the maximum,
    # the latest date (the highest id on a tie).
    """
    INSERT INTO search_notes
    SELECT customer_id, text FROM (
        SELECT customer_id, max(date || printf('%020d', id)), content || ' ' || feedback AS text
        FROM followups GROUP BY customer_id)
    """,
)
_SEARCH_ALL_DOCS_SQL = """
INSERT INTO customer_search (rowid, name, pinyin, initials, contacts, facts, tags, notes)
SELECT c.id, c.name, c.pinyin, c.initials,
    coalesce(p.text, '') || ' ' || c.contact,
    c.industry || ' ' || c.region || ' ' || c.source || ' ' || c.need_categories || ' '
        || c.status || ' ' || c.owner,
    coalesce(t.text, ''),
    coalesce(n.text, '')
FROM customers c
LEFT JOIN temp.search_contacts p ON p.customer_id = c.id
LEFT JOIN temp.search_tags t ON t.customer_id = c.id
LEFT JOIN temp.search_notes n ON n.customer_id = c.id
ORDER BY c.id
"""

_FTS_CONFIG_SQL = "INSERT INTO customer_search (customer_search, rank) VALUES (?, ?)"

_match_ids_sql = match_ids_sql


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_STORED_AS_JSON = {"custom"}
_NOT_STORED = {"id", "version", "tier", "lifecycle", "strategy", "cadence_days",
               "last_contact_date", "next_due"}


def _customer_values(customer: Customer) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in Customer.model_fields:
        if name in _NOT_STORED:
            continue
        value = getattr(customer, name)
        if name in _STORED_AS_JSON:
            value = json.dumps(value, ensure_ascii=False, sort_keys=True)
        elif isinstance(value, dt.date):
            value = value.isoformat()
        values[name] = value
    return values


def _customer_from_row(row: dict[str, Any]) -> Customer:
    data = {k: v for k, v in row.items() if k in Customer.model_fields}
    data["custom"] = json.loads(row.get("custom") or "{}")
    return Customer.stored(data)


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
