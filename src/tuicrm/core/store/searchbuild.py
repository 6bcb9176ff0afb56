"""The full-text index of a large load, built beside the store on another CPU core.

Tokenizing every customer's search document into trigrams is most of the work of
filling a new database with a million customers, and SQLite does it on one core. The
loading connection hands the documents over in runs (JSON text, so a run crosses
threads as one string); a thread with its own connection builds the index in a scratch
database next to the store while the loader segments and indexes, and merges it into
one segment (see OPTIMIZE_SQL); then the store takes the finished index over by copying
the FTS5 table's shadow tables, which hold the same format for the same table
definition. The short-query grams of the load go the same way: the thread appends the
batches the loader gathers (:class:`GramBatches`, gram by gram in key order) and merges
them at the end, or works them out from the documents' names as they come (a recursive
SQL step a character, then a sort: five times the CPU), and the store copies the finished
table (SQLite copies an identical table's records without decoding them)."""

from __future__ import annotations

import contextlib
import operator
import os
import queue
import sqlite3
import sys
import threading
from array import array
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from tuicrm.core.store import (
    OPTIMIZE_SQL,
    Store,
    StoreError,
    insert_gram_runs,
)
from tuicrm.core.text import common_grams

# How much lower than the loader's the builder thread's priority is (a nice value): 5
# leaves it a quarter of a core it shares with the writer; with 10 (a tenth) the other
# jobs of a busy machine starved it (a million customers took 9 minutes at a load of 4-5).
BUILDER_NICENESS = 5

# Runs of documents queued for the builder at most: when it falls behind, the loader
# waits instead of holding every run's JSON (a million customers' runs piled up to
# 455 MiB when a reading process took the builder's core).
RUNS_AHEAD = 3

# Bytes of new terms the builder's full-text index holds before it writes a segment. With
# its merging held back until the end, the size changed nothing in the time it takes
# (a million documents: 22.8-23.9 CPU s with 8, 16 or 64 MiB) but the memory it takes.
BUILD_HASH_BYTES = 16 * 1024 * 1024

# The shadow tables of a full-text table that hold its index (its config stays the
# store's own); its documents are the staged ones (see _external_content).
_SHADOW_TABLES = ("data", "idx", "docsize")

# Each gram's customer ids in ascending order (what Store.add_gram_runs takes).
GramRuns = Mapping[str, Sequence[int]]

_STAGE_RUN_SQL = """
INSERT INTO load_docs (id, name, pinyin, initials, contacts, facts, tags, notes)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
    value ->> 6, value ->> 7
FROM json_each(?)
"""
_INDEX_STAGED_SQL = """
INSERT INTO customer_search (rowid, name, pinyin, initials, contacts, facts, tags, notes)
SELECT * FROM load_docs WHERE id > ? AND id <= ? ORDER BY id
"""
#: Staged documents indexed at a time (a segment each) when no run waits to be staged.
INDEX_STEP = 20_000
# The 1- and 2-character grams of a run's names (the documents' ninth element), as
# text.name_grams makes them; gathered unsorted, then sorted into name_grams once.
_RUN_GRAMS_SQL = """
WITH RECURSIVE d(id, norm) AS (SELECT value ->> 0, value ->> 8 FROM json_each(?)),
g(id, norm, i) AS (
    SELECT id, norm, 1 FROM d WHERE norm != ''
    UNION ALL SELECT id, norm, i + 1 FROM g WHERE i < length(norm)
)
INSERT INTO load_grams (gram, customer_id)
SELECT substr(norm, i, 1), id FROM g UNION ALL SELECT substr(norm, i, 2), id FROM g
WHERE i < length(norm)
"""
_SORT_GRAMS_SQL = ("INSERT OR IGNORE INTO name_grams (gram, customer_id) "
                   "SELECT gram, customer_id FROM load_grams ORDER BY 1, 2")


#: Names whose grams GramBatches gathers before handing them over: each batch goes to a
#: table of its own (see SearchIndexBuilder._append_grams); ~8 MB of ids a batch.
GRAM_BATCH = 100_000


class GramBatches:
    """The 1- and 2-character grams (text.name_grams) of a load's new names, gathered as
    each gram's ids in ascending order and handed over in batches.

    A few dictionary appends a name, where the builder's SQL made and then sorted twenty
    million pairs for a million names (25 CPU seconds against 4, plus 5 to append them).
    The grams common in the first batch (text.common_grams) are left out of it and of
    every later one: :attr:`common` says which, for the store's ``common_grams``.
    """

    def __init__(self, batch: int | None = GRAM_BATCH) -> None:
        self.batch = batch
        self.gathered = 0
        self.runs: defaultdict[str, array[int]] = defaultdict(_ids)
        self.common: frozenset[str] = frozenset()
        self._first = True

    def add(self, first_id: int, norms: Sequence[str]) -> GramRuns | None:
        """Gather the grams of these names (ids from ``first_id`` on, above every id
        gathered before); a batch once it is full (never, with a ``batch`` of ``None``:
        :meth:`take` hands everything over as one)."""
        runs = self.runs
        pair = operator.add
        common = self.common
        for customer_id, norm in enumerate(norms, first_id):
            grams = set(norm)
            grams.update(map(pair, norm, norm[1:]))
            grams -= common
            for gram in grams:
                runs[gram].append(customer_id)
        self.gathered += len(norms)
        return self.take() if self.batch and self.gathered >= self.batch else None

    def take(self) -> GramRuns | None:
        """The grams gathered since the last batch (``None`` when there are none)."""
        if not self.gathered:
            return None
        runs = dict(self.runs)
        if self._first:
            self._first = False
            self.common = common_grams(((g, len(ids)) for g, ids in runs.items()),
                                       self.gathered)
            for gram in self.common:
                del runs[gram]
        self.runs = defaultdict(_ids)
        self.gathered = 0
        return runs


def _ids() -> array[int]:
    return array("I")


class SearchIndexBuilder:
    """Builds the customers' full-text index of ``store`` on a thread of its own.

    :meth:`add` queues runs of documents (from :meth:`Store.search_documents_json`, in
    id order), :meth:`add_grams` the name grams of the load (into a store without any);
    with ``grams_from_documents`` the builder works the grams out of the documents
    instead, for a store without any; :meth:`end` says that nothing more comes, so the
    thread finishes the index while the loader goes on;
    :meth:`adopt` waits for both and copies them into the store's current transaction;
    :meth:`close` removes the scratch file (also after an error).
    """

    def __init__(self, store: Store, *, grams_from_documents: bool = False) -> None:
        if not isinstance(store.path, Path):
            raise StoreError("a search index is built beside a database file")
        self.path = store.path.with_name(store.path.name + ".search-build")
        self.path.unlink(missing_ok=True)
        self.table_sql, self.grams_sql = (store.conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = ?", [name]).fetchone()[0]
            for name in ("customer_search", "name_grams"))
        self.runs: queue.Queue[str | GramRuns | None] = queue.Queue(maxsize=RUNS_AHEAD)
        self.has_grams = self.grams_from_documents = grams_from_documents
        self.gram_batches = 0
        # Documents staged (load_docs) but not indexed yet, and the last id indexed.
        self.staged = False
        self.indexed = 0
        self.ended = False
        self.error: BaseException | None = None
        self.attached_to: Store | None = None
        self.thread = threading.Thread(target=self._build, name="search-index", daemon=True)
        self.thread.start()

    def __enter__(self) -> SearchIndexBuilder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, run: str) -> None:
        """Queue a run of documents."""
        self.runs.put(run)

    def add_grams(self, runs: GramRuns) -> None:
        """Queue name grams of the load: each batch's ids above the earlier batches'."""
        self.has_grams = True
        self.runs.put(runs)

    def end(self) -> None:
        """Nothing more to add: the thread sorts the grams and merges the index now."""
        if not self.ended:
            self.ended = True
            self.runs.put(None)

    def working(self) -> bool:
        """Whether the thread is still building."""
        return self.thread.is_alive()

    def _build(self) -> None:
        _lower_priority()
        read_all = False
        try:
            conn = sqlite3.connect(str(self.path), isolation_level=None,
                                   check_same_thread=False)
            try:
                # A scratch file: nothing to recover if the load fails.
                conn.execute("PRAGMA journal_mode = OFF")
                conn.execute("PRAGMA synchronous = OFF")
                conn.execute("CREATE TABLE load_docs (id INTEGER PRIMARY KEY, name, pinyin, "
                             "initials, contacts, facts, tags, notes)")
                conn.execute(_external_content(self.table_sql))
                conn.execute("INSERT INTO customer_search (customer_search, rank) "
                             "VALUES ('hashsize', ?)", [BUILD_HASH_BYTES])
                # No merging while the documents come in: the optimize at the end merges
                # every segment once (a tenth less work than merging them as they pile up).
                conn.execute("INSERT INTO customer_search (customer_search, rank) "
                             "VALUES ('automerge', 0)")
                conn.execute(self.grams_sql)
                if self.grams_from_documents:
                    conn.execute("CREATE TABLE load_grams (gram TEXT, customer_id INTEGER)")
                conn.execute("BEGIN")
                while (run := self._next_run(conn)) is not None:
                    if isinstance(run, str):
                        conn.execute(_STAGE_RUN_SQL, [run])
                        self.staged = True
                        if self.grams_from_documents:
                            conn.execute(_RUN_GRAMS_SQL, [run])
                    else:
                        self._append_grams(conn, run)
                read_all = True
                while self._index_staged(conn):
                    pass
                if self.grams_from_documents:
                    conn.execute(_SORT_GRAMS_SQL)
                    conn.execute("DROP TABLE load_grams")
                elif self.gram_batches > 1:
                    self._merge_grams(conn)
                conn.execute(OPTIMIZE_SQL)
                conn.execute("COMMIT")
            finally:
                conn.close()
        except BaseException as exc:  # handed to the loading thread in adopt()
            self.error = exc
            while not read_all and self.runs.get() is not None:  # let the loader go on
                pass

    def _next_run(self, conn: sqlite3.Connection) -> str | GramRuns | None:
        """The next run handed over; while none waits, index staged documents.

        Runs are staged as they come (appended to a plain table) and indexed when
        nothing else is to be done: the loader never waits for the index to take a run,
        and what is not indexed while both cores are busy is indexed while the loader
        segments and rebuilds indexes on one (a million customers: 67.5 and 69.2 s
        against 70.0 and 72.0 s indexed as they came, back to back)."""
        while self.staged:
            try:
                return self.runs.get_nowait()
            except queue.Empty:
                self.staged = self._index_staged(conn)
        return self.runs.get()

    def _index_staged(self, conn: sqlite3.Connection) -> bool:
        """Index the next staged documents; whether any are left to index."""
        staged = int(conn.execute("SELECT coalesce(max(id), 0) FROM load_docs").fetchone()[0])
        if staged <= self.indexed:
            return False
        upto = min(staged, self.indexed + INDEX_STEP)
        conn.execute(_INDEX_STAGED_SQL, [self.indexed, upto])
        self.indexed = upto
        return upto < staged

    def _append_grams(self, conn: sqlite3.Connection, runs: GramRuns) -> None:
        """The first batch of grams goes into the table; each later one into a table of
        its own, in key order: appending is cheap, inserting among the earlier batches'
        ids is not (a million names' grams in four batches: 5.4 s appended to four
        tables, then 6.4 s to merge them, against 9.5 s inserted in one table, which
        also ends up a fifth larger)."""
        table = "name_grams" if not self.gram_batches else f"gram_batch_{self.gram_batches}"
        if self.gram_batches:
            conn.execute(self.grams_sql.replace("name_grams", table, 1))
        insert_gram_runs(conn, runs, table)
        self.gram_batches += 1

    def _merge_grams(self, conn: sqlite3.Connection) -> None:
        """Merge the batches' tables into one: each is in key order, so SQLite merges
        them as they are read instead of sorting every pair."""
        conn.execute("ALTER TABLE name_grams RENAME TO gram_batch_0")
        conn.execute(self.grams_sql)
        tables = [f"gram_batch_{n}" for n in range(self.gram_batches)]
        conn.execute("INSERT INTO name_grams (gram, customer_id) " + " UNION ALL ".join(
            f"SELECT gram, customer_id FROM {table}" for table in tables) + " ORDER BY 1, 2")
        for table in tables:
            conn.execute(f"DROP TABLE {table}")

    def adopt(self, store: Store) -> None:
        """Wait for the index and copy it into ``store`` (inside its write transaction),
        replacing what its full-text table held; the same for the grams, if given."""
        self.end()
        self.thread.join()
        if self.error is not None:
            raise self.error
        conn = store.conn
        # SQLite attaches inside a transaction but detaches only outside one: close().
        conn.execute("ATTACH DATABASE ? AS search_build", [str(self.path)])
        self.attached_to = store
        for shadow in _SHADOW_TABLES:
            table = f"customer_search_{shadow}"
            conn.execute(f"DELETE FROM main.{table}")
            conn.execute(f"INSERT INTO main.{table} SELECT * FROM search_build.{table}")
        conn.execute("DELETE FROM main.customer_search_content")
        conn.execute("INSERT INTO main.customer_search_content "
                     "SELECT * FROM search_build.load_docs")
        if self.has_grams:
            conn.execute("DELETE FROM main.name_grams")
            conn.execute("INSERT INTO main.name_grams SELECT * FROM search_build.name_grams")
            store.rebuild_letters()

    def close(self) -> None:
        """After the store's transaction: stop the thread (if running), detach the
        scratch database and remove its file."""
        if self.thread.is_alive():
            self.end()
            self.thread.join()
        if self.attached_to is not None:
            self.attached_to.conn.execute("DETACH DATABASE search_build")
            self.attached_to = None
        self.path.unlink(missing_ok=True)


def _external_content(table_sql: str) -> str:
    """The store's full-text table, reading its documents from the staged ones
    (``load_docs``, laid out as the table's own content, id and a column each) instead
    of keeping a copy: the builder writes each document once, not twice (a million
    documents: 22.4 CPU s against 24.2); the store copies load_docs as the content."""
    head, _, _ = table_sql.rstrip().rpartition(")")
    return f"{head}, content = 'load_docs', content_rowid = 'id')"


def _lower_priority() -> None:
    """Give the calling thread a lower priority than the loader's threads.

    While the loader inserts rows, its writer needs a core of its own (the database
    work after the rows waits for it); the builder is not waited for until the very end,
    so it should take what the loader leaves: the gaps while rows are drawn, and the
    idle second core while the loader segments and rebuilds indexes on one. Runs that
    wait meanwhile are queued. Linux gives each thread its own nice value; elsewhere
    the whole process would be lowered, so the builder runs as it is.
    """
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError):  # a sandbox may refuse: the build is only slower
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BUILDER_NICENESS)
