"""Bulk import and export: the SQL of tuicrm's spreadsheet import and export.

An import is one ``BEGIN IMMEDIATE`` transaction, so a crash, a kill or Ctrl-C leaves the
database as it was. Rows go in chunks through ``executemany`` with ids assigned here (the
write lock is held, so nobody else takes them); the search index is rebuilt once at the
end. A big import into a database without customers instead hands each chunk's search
documents and the names' grams to a
:class:`~tuicrm.core.store.searchbuild.SearchIndexBuilder`, which indexes them on the
other core while the rows go in and segmentation runs. (A writer thread beside the
reading one lost time: each statement hands the GIL over and waits to get it back.)

A big customer list into an empty database is a *fresh load*: every valid row is a new
customer, so the ids are known ahead and a forked child process reads, checks and keys
the rows and works out each table's rows (:class:`FreshPlanner`), while this process only
writes them. A name that comes twice ends the fresh load at its chunk: the chunks before it
stay, and the rest of the file is read here and imported the ordinary way.

Each import is a batch: the rows it created carry its id, and the old value of every
field it changed is kept, so :func:`undo_batch` can put everything back.
"""

from __future__ import annotations

import gc
import json
import pickle
import sqlite3
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from itertools import count, islice
from pathlib import Path
from typing import Any

from tuicrm.core.io.aside import Aside, can_fork
from tuicrm.core.io.records import ImportRow, RowError
from tuicrm.core.models import Customer
from tuicrm.core.namekeys import NameKeys
from tuicrm.core.store import Store, _customer_values, utc_now
from tuicrm.core.store.indexing import create_indexes
from tuicrm.core.store.searchbuild import GramBatches, SearchIndexBuilder
from tuicrm.core.text import normalize_name

#: The name keys (normalised name, pinyin, initials) of a chunk's valid rows, in order.
Keys = list[tuple[str, str, str]]

CHUNK = 5_000
#: Search documents handed to the index builder at once (see BulkImport._documents): the
#: builder holds a run's JSON and its parse while it indexes it (at 200,000 rows, runs
#: of 50,000 peaked at 368 MiB, of 20,000 at 299, of 10,000 at 281).
DOCUMENT_RUN = 20_000
#: Above this many touched customers the search index is rebuilt whole, set-based.
FULL_REINDEX_AT = 20_000
NOTES_KEPT = 200
_PARAMS = 900
#: From this many rows (and at least as many as the customers already there) the indexes
#: whose keys land at random places are dropped for the import and built again at the end:
#: sorting once is several times cheaper than a million random B-tree inserts.
BIG_IMPORT = 50_000
#: The page cache during an import, in KiB: enough for the tables' rightmost pages and the
#: name index; more only adds to the peak memory (issue 7: 400 MB for a million rows).
#: At a million rows, 32 MiB instead of 64 took the peak from 417 to 356 MiB and the
#: import from 108.6 to 104.4 s.
CACHE_KIB = 32_768
#: Name rests the reading process of a fresh load memoises (see namekeys): its memory
#: adds to the writer's (a million names: 338 MiB in all with 50,000, 71.1 s).
FRESH_MEMO = 50_000
# A fresh load segments its customers this many at a time, as it writes them.
SEGMENT_STEP = 100_000
#: Indexes kept during a big import: the ones the import itself looks rows up by.
_LOOKUP_COLUMNS = frozenset(("customer_id", "plan_id", "followup_id", "batch_id"))
_DROPPABLE_TABLES = ("customers", "followups", "todos", "tags")

_CUSTOMER_DEFAULTS = _customer_values(Customer(name="-"))
# The 1- and 2-character grams of the names a batch created, as text.name_grams makes
# them: one recursive step per character (not a join with every position up to 200),
# inserted in key order.
_BATCH_GRAMS_SQL = """
WITH RECURSIVE g(id, norm, i) AS (
    SELECT id, name_norm, 1 FROM customers WHERE import_batch = ? AND name_norm != ''
    UNION ALL SELECT id, norm, i + 1 FROM g WHERE i < length(norm)
)
INSERT OR IGNORE INTO name_grams (gram, customer_id)
SELECT gram, id FROM (
    SELECT substr(norm, i, 1) AS gram, id FROM g
    UNION ALL SELECT substr(norm, i, 2), id FROM g WHERE i < length(norm)
) ORDER BY gram, id
"""
#: The columns of a new customer that differ from row to row, whatever the file holds.
_OWN_COLUMNS = ("id", "name", "name_norm", "pinyin", "initials", "last_contact_date")
_KINDS = ("enterprise", "individual")
_INSERT_FOLLOWUP = (
    "INSERT INTO followups (id, customer_id, date, method, participants, content, feedback, "
    "owner, next_date, entered_at, import_batch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, {now}, "
    "{batch})"
)
_INSERT_TODO = (
    "INSERT INTO todos (customer_id, followup_id, text, due, owner, done, import_batch) "
    "VALUES (?, ?, ?, ?, ?, 0, {batch})"
)
_NEXT_DUE = "UPDATE customers SET next_due_manual = ? WHERE id = ?"
# The batch id is written into the statements that run for every row (one value fewer
# to bind a row); it is an integer this module assigned.
_INSERT_TAG = (
    "INSERT OR IGNORE INTO tags (customer_id, dimension, value, source, reason, import_batch) "
    "VALUES (?, ?, ?, 'manual', 'imported', {batch})"
)
_NEW_PLAN = (
    "INSERT INTO strategy_plans (id, customer_id, customer_type, goal, owner, deadline, "
    "expected_effect, import_batch) VALUES (?, ?, '', '', '', NULL, '', {batch})"
)
_NEW_ACTION = (
    "INSERT INTO strategy_actions (plan_id, action, owner, deadline, import_batch) "
    "VALUES (?, ?, ?, NULL, {batch})"
)
_INSERT_PLAN = (
    "INSERT INTO strategy_plans (id, customer_id, customer_type, goal, owner, deadline, "
    "expected_effect, import_batch) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ACTION = (
    "INSERT INTO strategy_actions (plan_id, action, owner, deadline, import_batch) "
    "VALUES (?, ?, ?, ?, ?)"
)
_INSERT_CONTACT = (
    "INSERT INTO contacts (customer_id, name, title, cares_about, import_batch) "
    "VALUES (?, ?, ?, ?, {batch})"
)
#: What undo may write back, per table: the fields an import can change.
_UNDOABLE = {
    "customers": set(_CUSTOMER_DEFAULTS),
    "followups": {"method", "participants", "feedback", "owner", "next_date"},
    "strategy_plans": {"owner", "deadline", "expected_effect", "customer_type", "goal"},
}


class _Rollback(Exception):
    """Raised inside the import's transaction to leave the database untouched."""


@dataclass
class ImportSummary:
    """What an import did (or, dry-run or refused, would have done)."""

    table: str
    source: str
    batch_id: int | None = None
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    added: int = 0
    rejected: list[RowError] = field(default_factory=list)
    rejected_rows: list[ImportRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: bool = False
    dry_run: bool = False

    @property
    def rejected_count(self) -> int:
        """How many rows were refused."""
        return len({e.row for e in self.rejected})

    def note(self, text: str) -> None:
        """Keep a line for the summary (the first few hundred)."""
        if len(self.notes) < NOTES_KEPT:
            self.notes.append(text)

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain data, for ``--json``."""
        return {
            "table": self.table, "source": self.source, "batch": self.batch_id,
            "rows": self.rows, "created": self.created, "updated": self.updated,
            "unchanged": self.unchanged, "added": self.added,
            "rejected": self.rejected_count, "written": self.written,
            "dry_run": self.dry_run,
            "errors": [{"row": e.row, "column": e.column, "reason": e.reason}
                       for e in self.rejected],
            "notes": self.notes,
        }


def _jsonable(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


class BulkImport:
    """Writes checked rows of one working table in one transaction, as one batch."""

    def __init__(
        self,
        store: Store,
        table: str,
        *,
        source: str,
        user: str = "",
        skip_invalid: bool = False,
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
        expected_rows: int = 0,
    ) -> None:
        self.store = store
        self.conn: sqlite3.Connection = store.conn
        self.table = table
        self.user = user
        self.skip_invalid = skip_invalid
        self.progress = progress
        self.summary = ImportSummary(table, source, dry_run=dry_run)
        self.keys = NameKeys()
        self.now = utc_now()
        self.touched: set[int] = set()
        self.full_reindex = False
        self.batch_id = 0
        self.expected_rows = expected_rows
        # A big customer list into an empty database is a fresh load (see _fresh).
        self.fresh = False
        self.segmented_upto = 1
        self.grams = GramBatches()
        self._dropped_indexes: list[str] = []
        # The file row that created each customer, by id - first new id: what a later row
        # of the same customer is reported against (an array, not a dict of a million names).
        self._first_rows = array("q")
        self._rows_of_existing: dict[int, int] = {}
        self.name_header = "客户名称"
        # Into a database without customers: the full-text index and the grams are
        # built on another thread (see the module's docstring).
        self.builder: SearchIndexBuilder | None = None
        # Customers of this batch whose documents changed after the builder had them.
        self.redo: set[int] = set()
        self._runs: list[str] = []
        self._run_size = 0
        # One INSERT statement per set of fields the file gives (see _insert_customers).
        self._customer_sql: dict[tuple[str, ...], str] = {}

    def run(self, rows: Iterable[ImportRow]) -> ImportSummary:
        """Import ``rows``; nothing is written when any row is invalid (unless
        ``skip_invalid``) or on a dry run. ``rows`` is read again from the start if a
        fresh load (see :meth:`_fresh`) must go on the ordinary way."""
        summary = self.summary
        cache = self.conn.execute("PRAGMA cache_size").fetchone()[0]
        # The rows make no reference cycles; the collector's walks over millions of
        # young objects were a tenth of a big import's time.
        collecting = gc.isenabled()
        gc.disable()
        try:
            into_empty = self._into_empty()
            self.fresh = into_empty and self._fresh()
            # A fresh load's rows are read and planned by a child process, forked before
            # the index builder's thread starts; the builder's scratch database is
            # detached after the transaction ends.
            with ExitStack() as reading, self.store.rollback_journal(into_empty), \
                    ExitStack() as builder_stack, self.store.write():
                plans = reading.enter_context(closing(Aside(FreshPlanner(
                    self.user).chunks(rows), FreshWire()))) if self.fresh else None
                self.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
                self._start(builder_stack)
                written = 0 if plans is None else self._write_planned(plans)
                if written is not None:  # the ordinary way, from the first row not written
                    if plans is not None:
                        plans.close()
                        self._go_ordinary()
                    self._write_chunks(islice(rows, written, None))
                if self.builder is not None and (grams := self.grams.take()):
                    self.builder.add_grams(grams)
                if summary.dry_run or (summary.rejected and not self.skip_invalid):
                    raise _Rollback
                self._finish()
            summary.written = True
        except _Rollback:
            summary.batch_id = None
        finally:
            if collecting:
                gc.enable()
            self.conn.execute(f"PRAGMA cache_size = {int(cache)}")
        return summary

    def _into_empty(self) -> bool:
        """A big import into a database without customers (see Store.rollback_journal)."""
        return (self.expected_rows >= BIG_IMPORT and not self.summary.dry_run
                and self.conn.execute("SELECT 1 FROM customers LIMIT 1").fetchone() is None)

    def _fresh(self) -> bool:
        """Whether this big import into an empty database can be a fresh load: the
        customer list into a database file with no follow-ups or plans either (so every
        id starts at 1), and a child process may be forked to read it."""
        return (self.table in ("customers", "needs") and isinstance(self.store.path, Path)
                and can_fork() and not any(self.conn.execute(
                    f"SELECT 1 FROM {table} LIMIT 1").fetchone()
                    for table in ("followups", "strategy_plans", "name_grams")))

    def _write_planned(self, plans: Iterable[FreshChunk]) -> int | None:
        """Write a fresh load's chunks; ``None`` once all are written, or how many rows
        were when one cannot be written as planned."""
        written = 0
        for plan in plans:
            if not self.fresh or not self._write_fresh(plan):
                return written
            written += plan.rows
        return None

    def _go_ordinary(self) -> None:
        """Go on the ordinary way after the chunks a fresh load wrote (its ids are dense
        from 1, so the next ones follow the largest)."""
        self.fresh = False
        self._next_ids()

    def _next_ids(self) -> None:
        """The next customer, follow-up and plan ids: each above the largest there."""
        def next_id(table: str) -> int:
            row = self.conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()
            return int(row[0]) + 1

        self.next_customer = next_id("customers")
        self.next_followup = next_id("followups")
        self.next_plan = next_id("strategy_plans")

    def _write_fresh(self, plan: FreshChunk) -> bool:
        """Write what the reading process worked out for a chunk of a fresh load; false
        (having written nothing of it) when a name in it comes twice."""
        if plan.repeated:
            return False
        try:
            for shape, values in plan.customers.items():
                self.conn.executemany(self._insert_customer_sql(shape), values)
        except sqlite3.IntegrityError:  # the name of a customer of an earlier chunk
            # Take back the chunk's customers written before it (a savepoint around
            # every chunk would journal each index page it touches: 11 s, not 7.6).
            self.conn.execute("DELETE FROM customers WHERE id >= ?", [plan.first_id])
            return False
        s = self.summary
        s.rows += plan.rows
        for row in plan.rejected:
            self._reject(row, row.errors)
        self._first_rows.extend(plan.row_numbers)
        created = sum(map(len, plan.customers.values()))
        s.created += created
        s.added += len(plan.followups)
        self.next_customer = plan.first_id + created
        for template, values in ((_INSERT_TAG, plan.tags),
                                 (_INSERT_FOLLOWUP, plan.followups),
                                 (_INSERT_TODO, plan.todos), (_NEXT_DUE, plan.next_dues),
                                 (_NEW_PLAN, plan.plans), (_NEW_ACTION, plan.actions),
                                 (_INSERT_CONTACT, plan.contacts)):
            if values:
                self.conn.executemany(self._sql(template), values)
        if self.builder is not None and created:
            self._documents(plan.first_id, self.next_customer - 1)
            # The grams here, not in the reading process: this one waits for it.
            self._add_grams(plan.first_id, plan.norms)
        if self.next_customer - self.segmented_upto >= SEGMENT_STEP:
            self._segment_written()
        if self.progress and plan.rows:
            self.progress(plan.rows)
        return True

    def _segment_written(self) -> None:
        """Segment the customers a fresh load wrote since it last did.

        The writer would otherwise wait for the reading process meanwhile; segmenting
        everyone at the end kept this core busy for 11 s while the other had little left
        to do (a million customers: 66.9 s against 68.3-70.9 s)."""
        if self.segmented_upto < self.next_customer:
            self.store.resegment(range(self.segmented_upto, self.next_customer))
            self.segmented_upto = self.next_customer

    def _write_chunks(self, rows: Iterable[ImportRow]) -> None:
        keyed = self.table in ("customers", "needs")
        chunk: list[ImportRow] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= CHUNK:
                self._chunk(chunk, self._keys(chunk) if keyed else [])
                chunk = []
        if chunk:
            self._chunk(chunk, self._keys(chunk) if keyed else [])

    def _keys(self, chunk: list[ImportRow]) -> Keys:
        return [self.keys(row.name) for row in chunk if row.valid]

    # -- the batch ----------------------------------------------------------------------

    def _start(self, builder_stack: ExitStack) -> None:
        cursor = self.conn.execute(
            "INSERT INTO import_batches (source, table_name, user, started_at) "
            "VALUES (?, ?, ?, ?)", [self.summary.source, self.table, self.user, self.now])
        self.batch_id = int(cursor.lastrowid or 0)
        self.summary.batch_id = self.batch_id
        self._next_ids()
        self.first_customer = self.next_customer
        if self.fresh and (self.next_customer, self.next_followup, self.next_plan) != (1, 1, 1):
            self.fresh = False  # the database changed since the import began
        if (self.expected_rows >= BIG_IMPORT and not self.summary.dry_run
                and self.expected_rows >= self._customer_count()):
            self._drop_indexes()
            if (self.first_customer == 1 and self.table in ("customers", "needs")
                    and isinstance(self.store.path, Path)
                    and not self.conn.execute("SELECT 1 FROM name_grams LIMIT 1").fetchone()):
                self.builder = builder_stack.enter_context(SearchIndexBuilder(
                    self.store, grams_from_documents=not self.fresh))

    def _customer_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM customers").fetchone()[0])

    def _drop_indexes(self) -> None:
        """Drop the indexes a big import would fill at random places (their text is kept
        to build them again in :meth:`_finish`, inside the same transaction)."""
        marks = ", ".join("?" * len(_DROPPABLE_TABLES))
        for name, sql in self.conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({marks}) ORDER BY name", _DROPPABLE_TABLES).fetchall():
            first = self.conn.execute("SELECT name FROM pragma_index_info(?) WHERE seqno = 0",
                                      [name]).fetchone()
            if first is not None and first[0] in _LOOKUP_COLUMNS:
                continue
            self.conn.execute(f'DROP INDEX "{name}"')
            self._dropped_indexes.append(sql)

    def _rebuild_indexes(self) -> None:
        builder = self.builder
        create_indexes(self.conn, self._dropped_indexes,
                       other_core_busy=builder.working if builder is not None else None)
        self._dropped_indexes.clear()

    def _finish(self) -> None:
        s = self.summary
        # One line of history per created customer, set-based.
        self.conn.execute(
            "INSERT INTO audit (customer_id, user, at, action, field, old, new) "
            "SELECT id, ?, ?, 'create', 'name', NULL, name FROM customers "
            "WHERE id >= ? AND import_batch = ? ORDER BY id",
            [self.user, self.now, self.first_customer, self.batch_id])
        self.conn.execute(
            "UPDATE import_batches SET rows = ?, created = ?, updated = ?, rejected = ? "
            "WHERE id = ?", [s.rows, s.created, s.updated, s.rejected_count, self.batch_id])
        if self.builder is not None:
            # The builder indexes the last run and sorts the grams on the other core
            # while this one segments and builds the indexes; then its index and grams
            # are copied in.
            self._documents(1, 0)  # the last run
            self.builder.end()
            if self.fresh:
                self._segment_written()
                self.store.segmented_everyone()
            else:
                self.store.resegment()
            self._rebuild_indexes()
            self.builder.adopt(self.store)
            self.store.add_common_grams(self.grams.common)
            if self.redo:
                self.store.reindex(sorted(self.redo))
            return
        # Names never change on update: only the created customers need their grams.
        if s.created:
            self.conn.execute(_BATCH_GRAMS_SQL, [self.batch_id])
            self.store.index_letters("import_batch = ?", [self.batch_id])
        if self.full_reindex or len(self.touched) > FULL_REINDEX_AT:
            self.store.reindex()
            # Segmenting with the dropped indexes still gone spares it from updating them.
            self.store.resegment()
        elif self.touched:
            ids = sorted(self.touched)
            self.store.reindex(ids)
            self.store.resegment(ids)
        self._rebuild_indexes()

    def _touch(self, customer_id: int) -> None:
        if not self.full_reindex:
            self.touched.add(customer_id)
            if len(self.touched) > FULL_REINDEX_AT:
                self.full_reindex = True
                self.touched.clear()

    def _chunk(self, chunk: list[ImportRow], keys: Keys) -> None:
        valid: list[ImportRow] = []
        for row in chunk:
            self.summary.rows += 1
            if row.valid:
                valid.append(row)
            else:
                self._reject(row, row.errors)
        if self.table in ("customers", "needs"):
            self._customers(valid, keys)
        elif self.table == "strategy":
            self._plans(valid)
        else:
            self._followups(valid)
        if self.progress:
            self.progress(len(chunk))

    def _reject(self, row: ImportRow, errors: list[RowError]) -> None:
        self.summary.rejected.extend(errors)
        if len(self.summary.rejected_rows) < 1_000_000:
            self.summary.rejected_rows.append(row)

    def _change(self, table: str, row_id: int, column: str, old: Any, new: Any) -> None:
        self.conn.execute(
            "INSERT INTO import_changes (batch_id, table_name, row_id, field, old, new) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [self.batch_id, table, row_id, column, _jsonable(old), _jsonable(new)])

    def _existing(self, norms: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(norms), _PARAMS):
            part = norms[start : start + _PARAMS]
            cursor = self.conn.execute(
                f"SELECT * FROM customers WHERE name_norm IN ({', '.join('?' * len(part))})",
                part)
            names = [d[0] for d in cursor.description]
            for values in cursor:
                record = dict(zip(names, values, strict=True))
                found[record["name_norm"]] = record
        return found

    # -- customers (the customer list and the needs analysis) ---------------------------

    def _customers(self, rows: list[ImportRow], row_keys: Keys) -> None:
        merged: dict[str, ImportRow] = {}
        keys: dict[str, tuple[str, str, str]] = {}
        for row, name_keys in zip(rows, row_keys, strict=True):
            norm = name_keys[0]
            earlier = merged.get(norm)
            if earlier is None:
                merged[norm] = row
                keys[norm] = name_keys
            else:
                self._note_repeat(row, earlier.row)
                _merge(earlier, row)
        # One query per chunk finds the names already there, from earlier chunks included.
        existing = self._existing(list(merged))
        inserts: list[tuple[int, ImportRow, tuple[str, str, str]]] = []
        children: list[tuple[int, ImportRow, bool]] = []
        for norm, row in merged.items():
            current = existing.get(norm)
            if current is None:
                customer_id = self.next_customer
                self.next_customer += 1
                self._first_rows.append(row.row)
                inserts.append((customer_id, row, keys[norm]))
                children.append((customer_id, row, True))
                self.summary.created += 1
            else:
                customer_id = int(current["id"])
                if self.builder is not None:
                    self.redo.add(customer_id)
                if current["import_batch"] == self.batch_id:
                    self._note_repeat(
                        row, self._first_rows[customer_id - self.first_customer])
                elif customer_id in self._rows_of_existing:
                    self._note_repeat(row, self._rows_of_existing[customer_id])
                elif len(self._rows_of_existing) < 2_000_000:
                    self._rows_of_existing[customer_id] = row.row
                self._update_customer(current, row)
                children.append((customer_id, row, False))
            self._touch(customer_id)
        self._insert_customers(inserts)
        self._children(children)
        if self.builder is not None and inserts:
            self._documents(inserts[0][0], inserts[-1][0])
            if not self.builder.grams_from_documents:  # after a fresh load's chunks
                self._add_grams(inserts[0][0], [keys[0] for _, _, keys in inserts])

    def _add_grams(self, first_id: int, norms: Sequence[str]) -> None:
        """Gather the grams of new customers with ids from ``first_id`` on, handing the
        builder each full batch."""
        assert self.builder is not None
        if (grams := self.grams.add(first_id, norms)) is not None:
            self.builder.add_grams(grams)

    def _documents(self, first_id: int, last_id: int) -> None:
        """Hand the builder the search documents of these new customers, in runs of
        ``DOCUMENT_RUN``: the full-text table writes a segment at the end of each
        statement, and fewer, larger segments need less merging."""
        if first_id <= last_id:
            run = self.store.search_documents_json(first_id, last_id)
            self._runs.append(run[1:-1])
            self._run_size += last_id - first_id + 1
        if self._run_size >= DOCUMENT_RUN or (first_id > last_id and self._runs):
            assert self.builder is not None
            self.builder.add(f"[{','.join(self._runs)}]")
            self._runs.clear()
            self._run_size = 0

    def _note_repeat(self, row: ImportRow, first_row: int) -> None:
        self.summary.note(f"row {row.row}: {row.name!r} is the customer of row "
                          f"{first_row}; it updates it")

    def _insert_customers(self, inserts: list[tuple[int, ImportRow, tuple[str, str, str]]],
                          ) -> None:
        """Insert new customers, binding only what a row gives: the defaults of the other
        columns and the batch's constants are written into the statement (binding all
        45 columns of a million rows one by one was most of the time of writing them)."""
        shapes: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for customer_id, row, keys in inserts:
            _add_customer(shapes, customer_id, row, keys)
        for shape, values in shapes.items():
            self.conn.executemany(self._insert_customer_sql(shape), values)

    def _sql(self, template: str) -> str:
        """A statement with this batch's id and time written in (``{batch}``, ``{now}``):
        one value fewer to bind for each of a million rows."""
        return template.format(batch=int(self.batch_id), now=f"'{self.now}'")

    def _insert_customer_sql(self, shape: tuple[str, ...]) -> str:
        sql = self._customer_sql.get(shape)
        if sql is None:
            constants = {column: value for column, value in _CUSTOMER_DEFAULTS.items()
                         if column not in shape and column not in _OWN_COLUMNS}
            if constants.get("kind") not in _KINDS:
                constants["kind"] = "enterprise"
            constants.update(created_at=self.now, updated_at=self.now, updated_by=self.user,
                             version=1, import_batch=self.batch_id)
            literals = [str(self.conn.execute("SELECT quote(?)", [v]).fetchone()[0])
                        for v in constants.values()]
            columns = [*_OWN_COLUMNS, *shape, *constants]
            sql = (f"INSERT INTO customers ({', '.join(columns)}) VALUES "
                   f"({', '.join(['?'] * (len(_OWN_COLUMNS) + len(shape)) + literals)})")
            self._customer_sql[shape] = sql
        return sql

    def _update_customer(self, current: dict[str, Any], row: ImportRow) -> None:
        customer_id = int(current["id"])
        changes = {k: v for k, v in row.fields.items() if current.get(k) != v}
        if row.custom:
            custom = json.loads(current.get("custom") or "{}")
            merged = {**custom, **row.custom}
            if merged != custom:
                changes["custom"] = json.dumps(merged, ensure_ascii=False, sort_keys=True)
        has_children = bool(row.tags or row.followups or row.actions or row.contacts)
        if not changes:
            if not has_children:
                self.summary.unchanged += 1
            return
        ours = current.get("import_batch") == self.batch_id
        if not ours:
            self.summary.updated += 1
            self.summary.note(f"row {row.row}: {current['name']!r} updated: "
                              f"{', '.join(sorted(changes))}")
            for column, new in changes.items():
                self._change("customers", customer_id, column, current.get(column), new)
                self.store._audit(customer_id, self.user, "update", column,
                                  _text(current.get(column)), _text(new))
        assignments = ", ".join(f"{k} = ?" for k in changes)
        self.conn.execute(
            f"UPDATE customers SET {assignments}, version = version + 1, updated_at = ?, "
            "updated_by = ? WHERE id = ?",
            [*changes.values(), self.now, self.user, customer_id])
        current.update(changes)

    def _children(self, children: list[tuple[int, ImportRow, bool]]) -> None:
        tags: list[tuple[Any, ...]] = []
        for customer_id, row, _ in children:
            tags.extend((customer_id, dim, value) for dim, value in row.tags)
        if tags:
            self.conn.executemany(self._sql(_INSERT_TAG), tags)
        followups = [(cid, row, new) for cid, row, new in children if row.followups]
        if followups:
            self._add_followups(followups)
        plans: list[tuple[Any, ...]] = []
        actions: list[tuple[Any, ...]] = []
        for customer_id, row, new in children:
            if row.actions and new:
                # A new customer's strategy: one plan holding the actions, in bulk.
                plan_id = self.next_plan
                self.next_plan += 1
                plans.append((plan_id, customer_id))
                owner = row.fields.get("owner", "")
                actions.extend((plan_id, action, owner) for action in dict.fromkeys(row.actions))
            elif row.actions:
                self._add_actions(customer_id, row, new)
            if row.contacts:
                self._add_contacts(customer_id, row, new)
        if plans:
            self.conn.executemany(self._sql(_NEW_PLAN), plans)
            self.conn.executemany(self._sql(_NEW_ACTION), actions)

    def _add_followups(self, items: list[tuple[int, ImportRow, bool]]) -> None:
        followups: list[tuple[Any, ...]] = []
        todos: list[tuple[Any, ...]] = []
        refresh: list[int] = []
        for customer_id, row, new in items:
            seen: dict[tuple[str, str], tuple[Any, ...]] = {}
            if not new:
                seen = {(r[1], r[2]): r for r in self.conn.execute(
                    "SELECT id, date, content, method, participants, feedback, owner, "
                    "next_date, import_batch FROM followups WHERE customer_id = ?",
                    [customer_id])}
            for record in row.followups:
                key = (record["date"], record["content"])
                if key in seen:
                    if seen[key]:
                        self._enrich_followup(customer_id, seen[key], record)
                    continue
                seen[key] = ()
                followup_id = self.next_followup
                self.next_followup += 1
                _add_followup(followups, todos, followup_id, customer_id, record, self.user)
                self.summary.added += 1
                if not new:
                    refresh.append(customer_id)
                if record.get("next_date"):
                    self._set_next_due(customer_id, record["next_date"])
        self.conn.executemany(self._sql(_INSERT_FOLLOWUP), followups)
        self.conn.executemany(self._sql(_INSERT_TODO), todos)
        for customer_id in dict.fromkeys(refresh):
            self.conn.execute(
                "UPDATE customers SET last_contact_date = (SELECT max(date) FROM followups "
                "WHERE customer_id = ?) WHERE id = ?", [customer_id, customer_id])
            self._touch(customer_id)

    def _enrich_followup(self, customer_id: int, current: tuple[Any, ...],
                         record: dict[str, Any]) -> None:
        """A follow-up already there (same date and content): fill in what the file adds,
        such as the method and to-dos the customer list's one-cell record lacks."""
        followup_id = int(current[0])
        now = dict(zip(("method", "participants", "feedback", "owner", "next_date"),
                       current[3:8], strict=True))
        changes = {k: record[k] for k in now if record.get(k) and record[k] != now[k]}
        if changes.get("method") == "其他":
            del changes["method"]
        for column, new in changes.items():
            if current[8] != self.batch_id:
                self._change("followups", followup_id, column, now[column], new)
            self.conn.execute(f"UPDATE followups SET {column} = ? WHERE id = ?",
                              [new, followup_id])
        have = {t for (t,) in self.conn.execute(
            "SELECT text FROM todos WHERE followup_id = ?", [followup_id])}
        todos = [(customer_id, followup_id, text, due, owner or record.get("owner", ""))
                 for text, due, owner in record["todos"] if text not in have]
        self.conn.executemany(self._sql(_INSERT_TODO), todos)
        if changes or todos:
            self.summary.updated += 1
        if record.get("next_date"):
            self._set_next_due(customer_id, record["next_date"])

    def _set_next_due(self, customer_id: int, next_date: str) -> None:
        row = self.conn.execute(
            "SELECT next_due_manual, import_batch FROM customers WHERE id = ?", [customer_id]
        ).fetchone()
        if row[0] == next_date:
            return
        if row[1] != self.batch_id:
            self._change("customers", customer_id, "next_due_manual", row[0], next_date)
        self.conn.execute(_NEXT_DUE, [next_date, customer_id])

    def _add_actions(self, customer_id: int, row: ImportRow, new: bool) -> None:
        plan = None if new else self.conn.execute(
            "SELECT id FROM strategy_plans WHERE customer_id = ? ORDER BY id DESC LIMIT 1",
            [customer_id]).fetchone()
        if plan is None:
            plan_id = self._new_plan(customer_id, {})
            have: set[str] = set()
        else:
            plan_id = int(plan[0])
            have = {a for (a,) in self.conn.execute(
                "SELECT action FROM strategy_actions WHERE plan_id = ?", [plan_id])}
        owner = row.fields.get("owner", "")
        self.conn.executemany(_INSERT_ACTION, [
            (plan_id, action, owner, None, self.batch_id)
            for action in dict.fromkeys(row.actions) if action not in have])

    def _new_plan(self, customer_id: int, plan: dict[str, Any]) -> int:
        plan_id = self.next_plan
        self.next_plan += 1
        self.conn.execute(_INSERT_PLAN, [
            plan_id, customer_id, plan.get("customer_type", ""), plan.get("goal", ""),
            plan.get("owner", ""), plan.get("deadline"), plan.get("expected_effect", ""),
            self.batch_id])
        return plan_id

    def _add_contacts(self, customer_id: int, row: ImportRow, new: bool) -> None:
        have: set[str] = set() if new else {n for (n,) in self.conn.execute(
            "SELECT name FROM contacts WHERE customer_id = ?", [customer_id])}
        fresh = [c for c in row.contacts if c["name"] and c["name"] not in have]
        self.conn.executemany(self._sql(_INSERT_CONTACT), _contact_values(customer_id, fresh))
        if fresh and not new:
            self._touch(customer_id)

    # -- strategy plans and follow-ups of customers already there -----------------------

    def _known(self, rows: list[ImportRow]) -> list[tuple[int, ImportRow]]:
        norms = {normalize_name(row.name) for row in rows}
        existing = self._existing(list(norms))
        known: list[tuple[int, ImportRow]] = []
        for row in rows:
            current = existing.get(normalize_name(row.name))
            if current is None:
                self._reject(row, [RowError(
                    row.row, self.name_header,
                    f"no customer named {row.name!r}; import the customer list first")])
            else:
                known.append((int(current["id"]), row))
        return known

    def _followups(self, rows: list[ImportRow]) -> None:
        known = self._known(rows)
        added = self.summary.added
        self._add_followups([(cid, row, False) for cid, row in known])
        self.summary.unchanged += len(known) - (self.summary.added - added)

    def _plans(self, rows: list[ImportRow]) -> None:
        for customer_id, row in self._known(rows):
            plan = row.plan or {}
            match = self.conn.execute(
                "SELECT id, owner, deadline, expected_effect, import_batch FROM strategy_plans "
                "WHERE customer_id = ? AND customer_type = ? AND goal = ? ORDER BY id DESC",
                [customer_id, plan.get("customer_type", ""), plan.get("goal", "")]).fetchone()
            if match is None:
                # The plan the customer list's 跟进策略 made has no type or goal yet.
                match = self.conn.execute(
                    "SELECT id, owner, deadline, expected_effect, import_batch, customer_type, "
                    "goal FROM strategy_plans WHERE customer_id = ? AND customer_type = '' "
                    "AND goal = '' ORDER BY id DESC", [customer_id]).fetchone()
            changes: dict[str, Any] = {}
            if match is None:
                plan_id = self._new_plan(customer_id, plan)
                have: set[str] = set()
                self.summary.added += 1
            else:
                plan_id = int(match[0])
                current = dict(zip(("owner", "deadline", "expected_effect"), match[1:4],
                                   strict=True))
                if len(match) > 5:
                    current.update(customer_type=match[5], goal=match[6])
                changes = {k: plan[k] for k in current if k in plan and plan[k] != current[k]}
                for column, new in changes.items():
                    if match[4] != self.batch_id:
                        self._change("strategy_plans", plan_id, column, current[column], new)
                    self.conn.execute(f"UPDATE strategy_plans SET {column} = ? WHERE id = ?",
                                      [new, plan_id])
                if changes:
                    self.summary.updated += 1
                have = {a for (a,) in self.conn.execute(
                    "SELECT action FROM strategy_actions WHERE plan_id = ?", [plan_id])}
            actions = [a for a in dict.fromkeys(plan.get("actions", [])) if a not in have]
            self.conn.executemany(_INSERT_ACTION, [
                (plan_id, action, plan.get("owner", ""), plan.get("deadline"), self.batch_id)
                for action in actions])
            if match is not None and not actions and not changes:
                self.summary.unchanged += 1


@dataclass
class FreshChunk:
    """What a chunk of a fresh load writes, worked out by the reading process: each
    table's rows, ready for ``executemany``, with the ids they take."""

    rows: int = 0
    rejected: list[ImportRow] = field(default_factory=list)
    first_id: int = 0
    customers: dict[tuple[str, ...], list[tuple[Any, ...]]] = field(default_factory=dict)
    tags: list[tuple[Any, ...]] = field(default_factory=list)
    followups: list[tuple[Any, ...]] = field(default_factory=list)
    todos: list[tuple[Any, ...]] = field(default_factory=list)
    next_dues: list[tuple[Any, ...]] = field(default_factory=list)
    plans: list[tuple[Any, ...]] = field(default_factory=list)
    actions: list[tuple[Any, ...]] = field(default_factory=list)
    contacts: list[tuple[Any, ...]] = field(default_factory=list)
    #: The new customers' normalised names and file rows, in id order.
    norms: list[str] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)
    #: A name comes twice in the chunk: the load cannot be fresh.
    repeated: bool = False


class FreshWire:
    """A :class:`FreshChunk` as marshal's types (see core.io.aside.Wire): its fields by
    name, the refused rows pickled."""

    def to_wire(self, chunk: FreshChunk) -> dict[str, Any]:
        value = dict(vars(chunk))
        value["rejected"] = pickle.dumps(chunk.rejected) if chunk.rejected else b""
        return value

    def from_wire(self, value: dict[str, Any]) -> FreshChunk:
        rejected = value.pop("rejected")
        return FreshChunk(rejected=pickle.loads(rejected) if rejected else [], **value)


class FreshPlanner:
    """Plans a fresh load chunk by chunk: the customer list into a database without
    customers, follow-ups or plans, each row a new customer.

    A fresh load's ids are known ahead (1, 2, ... for the valid rows), so the reading
    process can work out each table's rows and the names' grams the way
    :class:`BulkImport` does for new customers, and the writing process only writes them.
    That holds until a name comes twice; then the writer goes on the ordinary way.
    """

    def __init__(self, user: str, size: int = 0) -> None:
        self.user = user
        self.size = size or CHUNK
        self.keys = NameKeys(FRESH_MEMO)
        self.next_customer = self.next_followup = self.next_plan = 1

    def chunks(self, rows: Iterable[ImportRow]) -> Iterator[FreshChunk]:
        """The plans of ``rows``' chunks."""
        iterator = iter(rows)
        while chunk := list(islice(iterator, self.size)):
            yield self.plan(chunk)

    def plan(self, chunk: list[ImportRow]) -> FreshChunk:
        """What this chunk writes (as BulkImport._customers and _children would)."""
        valid = [row for row in chunk if row.valid]
        plan = FreshChunk(rows=len(chunk), rejected=[row for row in chunk if not row.valid],
                          first_id=self.next_customer)
        keys = [self.keys(row.name) for row in valid]
        norms = [k[0] for k in keys]
        if len(set(norms)) < len(norms):
            plan.repeated = True
            return plan
        # The chunk's equal texts (a status, an owner, a date, a note used again) as one
        # object each: marshal writes an object met again as a reference to the first,
        # so the chunk travels smaller and is read back faster.
        same: dict[str, str] = {}
        for customer_id, row, name_keys in zip(count(plan.first_id), valid, keys,
                                               strict=False):
            _add_customer(plan.customers, customer_id, row, name_keys, same)
            plan.tags.extend((customer_id, dim, value) for dim, value in row.tags)
        for customer_id, row in zip(count(plan.first_id), valid, strict=False):
            seen: set[tuple[str, str]] = set()
            for record in row.followups:
                key = (record["date"], record["content"])
                if key in seen:
                    continue
                seen.add(key)
                _add_followup(plan.followups, plan.todos, self.next_followup, customer_id,
                              record, self.user, same)
                self.next_followup += 1
                if record.get("next_date"):
                    plan.next_dues.append((record["next_date"], customer_id))
        for customer_id, row in zip(count(plan.first_id), valid, strict=False):
            if row.actions:
                plan.plans.append((self.next_plan, customer_id))
                owner = row.fields.get("owner", "")
                plan.actions.extend((self.next_plan, action, owner)
                                    for action in dict.fromkeys(row.actions))
                self.next_plan += 1
            if row.contacts:
                plan.contacts.extend(_contact_values(
                    customer_id, [c for c in row.contacts if c["name"]]))
        self.next_customer += len(valid)
        plan.norms = norms
        plan.row_numbers = [row.row for row in valid]
        return plan


def _add_customer(shapes: dict[tuple[str, ...], list[tuple[Any, ...]]], customer_id: int,
                  row: ImportRow, keys: tuple[str, str, str],
                  same: dict[str, str] | None = None) -> None:
    """Add a new customer's values to those of its shape (the fields its file gives);
    with ``same``, equal texts of its fields become one object (see FreshPlanner.plan)."""
    fields = row.fields
    if row.custom or fields.get("kind", "enterprise") not in _KINDS:
        fields = dict(fields)
        if row.custom:
            fields["custom"] = json.dumps(row.custom, ensure_ascii=False, sort_keys=True)
        if fields.get("kind", "enterprise") not in _KINDS:
            fields["kind"] = "enterprise"
    last_contact = max((f["date"] for f in row.followups if f.get("date")), default=None)
    values: Iterable[Any] = fields.values()
    if same is not None:
        values = [same.setdefault(v, v) if v.__class__ is str else v for v in values]
    shapes.setdefault(tuple(fields), []).append(
        (customer_id, row.name, *keys, last_contact, *values))


def _add_followup(followups: list[tuple[Any, ...]], todos: list[tuple[Any, ...]],
                  followup_id: int, customer_id: int, record: dict[str, Any],
                  user: str, same: dict[str, str] | None = None) -> None:
    """Add a new follow-up's values (see _INSERT_FOLLOWUP) and its to-dos'; with
    ``same``, equal texts become one object."""
    owner = record.get("owner", "") or user
    texts: tuple[Any, ...] = (
        record["date"], record.get("method") or "其他", record.get("participants", ""),
        record["content"], record.get("feedback", ""), owner)
    if same is not None:
        texts = tuple(same.setdefault(t, t) for t in texts)
    followups.append((followup_id, customer_id, *texts, record.get("next_date")))
    todos.extend((customer_id, followup_id, text, due, todo_owner or owner)
                 for text, due, todo_owner in record["todos"])


def _contact_values(customer_id: int, contacts: list[dict[str, str]],
                    ) -> list[tuple[Any, ...]]:
    """New contacts' values (see _INSERT_CONTACT), one a name: the last row wins."""
    return [(customer_id, c["name"], c["title"], c["cares_about"])
            for c in {c["name"]: c for c in contacts}.values()]


def _merge(earlier: ImportRow, later: ImportRow) -> None:
    """A later row of the same customer: its values win, its records add up."""
    earlier.fields.update(later.fields)
    earlier.custom.update(later.custom)
    earlier.tags += later.tags
    earlier.followups += later.followups
    earlier.actions += later.actions
    earlier.contacts += later.contacts


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# -- undo ---------------------------------------------------------------------------------


@dataclass
class UndoSummary:
    """What undoing a batch did."""

    batch_id: int
    removed: int = 0
    restored: int = 0
    removed_records: int = 0
    kept: list[str] = field(default_factory=list)


class BatchError(Exception):
    """A batch that cannot be undone; the message says why."""


def undo_batch(store: Store, batch_id: int, *, user: str = "") -> UndoSummary:
    """Revert an import: remove the customers and records it created, put back the
    fields it changed unless someone changed them since (those are listed in ``kept``)."""
    summary = UndoSummary(batch_id)
    conn = store.conn
    with store.write():
        batch = conn.execute("SELECT undone_at FROM import_batches WHERE id = ?",
                             [batch_id]).fetchone()
        if batch is None:
            raise BatchError(f"no import batch {batch_id}")
        if batch[0]:
            raise BatchError(f"import batch {batch_id} was already undone on {batch[0]}")
        affected: set[int] = set()
        for table in ("todos", "followups", "contacts", "tags"):
            # Customers the batch did not create but added records to.
            affected.update(cid for (cid,) in conn.execute(
                f"SELECT DISTINCT r.customer_id FROM {table} r JOIN customers c "
                "ON c.id = r.customer_id WHERE r.import_batch = ? "
                "AND c.import_batch IS NOT ?", [batch_id, batch_id]))
            summary.removed_records += conn.execute(
                f"DELETE FROM {table} WHERE import_batch = ?", [batch_id]).rowcount
        summary.removed_records += conn.execute(
            "DELETE FROM strategy_actions WHERE import_batch = ?", [batch_id]).rowcount
        summary.removed_records += conn.execute(
            "DELETE FROM strategy_plans WHERE import_batch = ?", [batch_id]).rowcount
        conn.execute("DELETE FROM name_grams WHERE customer_id IN "
                     "(SELECT id FROM customers WHERE import_batch = ?)", [batch_id])
        conn.execute("DELETE FROM name_letters WHERE customer_id IN "
                     "(SELECT id FROM customers WHERE import_batch = ?)", [batch_id])
        conn.execute("DELETE FROM customer_search WHERE rowid IN "
                     "(SELECT id FROM customers WHERE import_batch = ?)", [batch_id])
        conn.execute(
            "INSERT INTO audit (customer_id, user, at, action, field, old, new) "
            "SELECT id, ?, ?, 'delete', 'name', name, NULL FROM customers "
            "WHERE import_batch = ?", [user, utc_now(), batch_id])
        summary.removed = conn.execute("DELETE FROM customers WHERE import_batch = ?",
                                       [batch_id]).rowcount
        changes = conn.execute(
            "SELECT table_name, row_id, field, old, new FROM import_changes "
            "WHERE batch_id = ? ORDER BY id DESC", [batch_id]).fetchall()
        for table, row_id, column, old, new in changes:
            if column not in _UNDOABLE.get(table, set()):
                continue
            row = conn.execute(f"SELECT {column} FROM {table} WHERE id = ?",
                               [row_id]).fetchone()
            if row is None:
                continue
            label = _label(conn, table, row_id)
            if _jsonable(row[0]) != new:
                summary.kept.append(
                    f"{label}: {column} was changed since the import "
                    f"(now {row[0]!r}); kept")
                continue
            value = None if old is None else json.loads(old)
            conn.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", [value, row_id])
            summary.restored += 1
            if table == "customers":
                affected.add(row_id)
                store._audit(row_id, user, "undo import", column, _text(row[0]), _text(value))
        live = [cid for cid in sorted(affected) if conn.execute(
            "SELECT 1 FROM customers WHERE id = ?", [cid]).fetchone()]
        for customer_id in live:
            conn.execute(
                "UPDATE customers SET last_contact_date = (SELECT max(date) FROM followups "
                "WHERE customer_id = ?), version = version + 1, updated_at = ?, "
                "updated_by = ? WHERE id = ?", [customer_id, utc_now(), user, customer_id])
        conn.execute("UPDATE import_batches SET undone_at = ?, undone_by = ? WHERE id = ?",
                     [utc_now(), user, batch_id])
        if live:
            store.reindex(live)
            store.resegment(live)
    return summary


def _label(conn: sqlite3.Connection, table: str, row_id: int) -> str:
    if table == "customers":
        row = conn.execute("SELECT name FROM customers WHERE id = ?", [row_id]).fetchone()
        return repr(row[0]) if row else f"customer {row_id}"
    return f"{table} {row_id}"


def import_batches(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    """The latest import batches, newest first."""
    cursor = store.conn.execute(
        "SELECT id, source, table_name, user, started_at, rows, created, updated, rejected, "
        "undone_at FROM import_batches ORDER BY id DESC LIMIT ?", [limit])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor]


# -- export -------------------------------------------------------------------------------

EXPORT_CHUNK = 2_000
FILTERABLE = frozenset((*_CUSTOMER_DEFAULTS, "tier", "lifecycle", "strategy", "next_due",
                        "last_contact_date"))


def _where(filters: dict[str, str]) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in filters.items():
        if column not in FILTERABLE:
            raise ValueError(f"--filter: {column!r} is not a customer field")
        clauses.append(f"customers.{column} = ?")
        params.append(value)
    return (" AND ".join(clauses) or "1"), params


def export_customers(store: Store, filters: dict[str, str] | None = None,
                     *, with_children: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
    """Customers (matching ``filters``, column = value) in id order, each a dict of its
    stored columns plus, as asked: ``tags``, ``followups`` (newest first), ``plans``
    (each with ``actions``) and ``contacts``."""
    conn = store.conn
    where, params = _where(filters or {})
    last = 0
    while True:
        cursor = conn.execute(
            f"SELECT * FROM customers WHERE id > ? AND {where} ORDER BY id LIMIT ?",
            [last, *params, EXPORT_CHUNK])
        names = [d[0] for d in cursor.description]
        page = [dict(zip(names, r, strict=True)) for r in cursor]
        if not page:
            return
        last = page[-1]["id"]
        ids = [c["id"] for c in page]
        by_id = {c["id"]: c for c in page}
        for c in page:
            c["custom"] = json.loads(c.get("custom") or "{}")
            for child in with_children:
                c[child] = []
        marks = ", ".join("?" * len(ids))
        if "tags" in with_children:
            for cid, dim, value, source in conn.execute(
                    f"SELECT customer_id, dimension, value, source FROM tags "
                    f"WHERE customer_id IN ({marks}) ORDER BY customer_id, dimension, value",
                    ids):
                by_id[cid]["tags"].append((dim, value, source))
        if "followups" in with_children:
            todo_rows: dict[int, list[dict[str, Any]]] = {}
            for fid, text, due, owner in conn.execute(
                    f"SELECT followup_id, text, due, owner FROM todos WHERE customer_id IN "
                    f"({marks}) AND followup_id IS NOT NULL ORDER BY id", ids):
                todo_rows.setdefault(fid, []).append({"text": text, "due": due,
                                                      "owner": owner})
            cursor = conn.execute(
                f"SELECT * FROM followups WHERE customer_id IN ({marks}) "
                "ORDER BY customer_id, date DESC, id DESC", ids)
            fnames = [d[0] for d in cursor.description]
            for values in cursor:
                record = dict(zip(fnames, values, strict=True))
                record["todos"] = todo_rows.get(record["id"], [])
                by_id[record["customer_id"]]["followups"].append(record)
        if "plans" in with_children:
            plans: dict[int, dict[str, Any]] = {}
            cursor = conn.execute(
                f"SELECT * FROM strategy_plans WHERE customer_id IN ({marks}) ORDER BY id", ids)
            pnames = [d[0] for d in cursor.description]
            for values in cursor:
                plan = dict(zip(pnames, values, strict=True))
                plan["actions"] = []
                plans[plan["id"]] = plan
                by_id[plan["customer_id"]]["plans"].append(plan)
            if plans:
                for plan_id, action in conn.execute(
                        f"SELECT plan_id, action FROM strategy_actions WHERE plan_id IN "
                        f"({', '.join('?' * len(plans))}) ORDER BY id", list(plans)):
                    plans[plan_id]["actions"].append(action)
        if "contacts" in with_children:
            for cid, name, title, cares in conn.execute(
                    f"SELECT customer_id, name, title, cares_about FROM contacts "
                    f"WHERE customer_id IN ({marks}) ORDER BY id", ids):
                by_id[cid]["contacts"].append(
                    {"name": name, "title": title, "cares_about": cares})
        yield from page


def count_customers(store: Store, filters: dict[str, str] | None = None) -> int:
    """How many customers match ``filters``."""
    where, params = _where(filters or {})
    return int(store.conn.execute(f"SELECT count(*) FROM customers WHERE {where}",
                                  params).fetchone()[0])


def custom_keys(store: Store, filters: dict[str, str] | None = None) -> list[str]:
    """The custom field names the matching customers use, sorted."""
    where, params = _where(filters or {})
    return [k for (k,) in store.conn.execute(
        f"SELECT DISTINCT j.key FROM customers, json_each(customers.custom) j "
        f"WHERE customers.custom != '{{}}' AND {where} "
        "ORDER BY j.key", params)]
