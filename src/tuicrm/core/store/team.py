"""The team install's SQL: users and roles, the public pool (公海), guarded edits, and the
safety commands (backup, restore, check).

Every function takes an open :class:`~tuicrm.core.store.Store` and writes through
``store.write()`` (one ``BEGIN IMMEDIATE`` transaction), so the rules hold when fifty reps
save at once.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuicrm.core import reader
from tuicrm.core.models import Customer, FollowUp
from tuicrm.core.permissions import (
    ROLES,
    Actor,
    PermissionDenied,
    Role,
    require_edit,
    require_followup,
    require_manager,
)
from tuicrm.core.rows import ROW_COLUMNS, CustomerRow, customer_row
from tuicrm.core.store import Conflict, Store, StoreError, utc_now
from tuicrm.core.text import clean_line

POOL_DAYS = 90
"""Days without a follow-up by its owner after which a customer returns to the pool.
The rules file overrides it; functions take it as a parameter."""
POOL_USER = "pool"
"""The name the audit records for customers the pool took back."""
MAX_USER_NAME = 64


class ClaimLost(StoreError):
    """Someone else claimed the customer first."""


@dataclass(frozen=True)
class User:
    """A user of a team install."""

    name: str
    role: Role
    created_at: str
    created_by: str


@dataclass(frozen=True)
class PoolReturn:
    """A customer the pool took back from its owner."""

    customer_id: int
    name: str
    owner: str
    last_followup: str | None


# -- users and roles -------------------------------------------------------------------


def users(store: Store) -> list[User]:
    """Every user, managers first."""
    rows = store.conn.execute(
        "SELECT name, role, created_at, created_by FROM users "
        "ORDER BY role != 'manager', name"
    ).fetchall()
    return [User(*row) for row in rows]


def user_count(store: Store) -> int:
    """How many users there are (0 on a database nobody has claimed yet)."""
    return int(store.conn.execute("SELECT count(*) FROM users").fetchone()[0])


def _user_role(store: Store, name: str) -> Role | None:
    row = store.conn.execute("SELECT role FROM users WHERE name = ?", [name]).fetchone()
    return row[0] if row else None


def actor(store: Store, name: str, *, bootstrap: bool = True) -> Actor:
    """The user ``name`` with their role.

    On a database without users the first one to ask (``tuicrm init`` normally) becomes
    its manager. Anyone else not in the users table is refused.
    """
    role = _user_role(store, name)
    if role is None and bootstrap and user_count(store) == 0:
        with store.write() as conn:
            if user_count(store) == 0:
                conn.execute(
                    "INSERT INTO users (name, role, created_at, created_by) "
                    "VALUES (?, 'manager', ?, ?)", [name, utc_now(), name],
                )
                store._audit(None, name, "add user", "users", None, f"{name}:manager")
        role = _user_role(store, name)
    if role is None:
        raise PermissionDenied(
            f"{name} is not a user of this database; a manager can add them with "
            f"'tuicrm user add {name} --role rep'"
        )
    return Actor(name, role)


def add_user(store: Store, by: Actor, name: str, role: Role) -> User:
    """Add a user; only a manager may."""
    require_manager(by, "add users")
    clean = clean_line(name)
    if not clean or len(clean) > MAX_USER_NAME or clean != name.strip():
        raise StoreError(f"user: {name!r} is not a valid user name")
    if role not in ROLES:
        raise StoreError(f"role: {role!r} is not one of {', '.join(ROLES)}")
    with store.write() as conn:
        existing = _user_role(store, clean)
        if existing is not None:
            raise StoreError(f"user: {clean} already exists (as {existing})")
        conn.execute(
            "INSERT INTO users (name, role, created_at, created_by) VALUES (?, ?, ?, ?)",
            [clean, role, utc_now(), by.name],
        )
        store._audit(None, by.name, "add user", "users", None, f"{clean}:{role}")
    return User(clean, role, utc_now(), by.name)


# -- guarded edits ---------------------------------------------------------------------


def edit_customer(
    store: Store,
    by: Actor,
    customer_id: int,
    changes: dict[str, Any],
    *,
    expected_version: int | None = None,
) -> Customer:
    """``Store.update_customer`` with the role rules: a rep edits only what they own and
    never the owner. Raises :class:`PermissionDenied` or
    :class:`~tuicrm.core.store.Conflict`."""
    with store.write() as conn:
        current = store.customer(customer_id)
        wanted = Customer.parse({**current.model_dump(), **changes}, changed=changes)
        changed = [k for k in changes if getattr(wanted, k) != getattr(current, k)]
        require_edit(by, current, changed)
        updated = store.update_customer(
            customer_id, changes, user=by.name, expected_version=expected_version
        )
        if "owner" in changed:
            _record_owner(conn, customer_id, updated.owner, dt.date.today())
        return updated


def move_status(store: Store, by: Actor, customer_id: int, *, seen: str, status: str) -> Customer:
    """Move a board card from the status ``seen`` (what the board showed) to ``status``.

    Refused with :class:`~tuicrm.core.store.Conflict` when someone changed the status
    since the board was drawn: the move was decided on what the board showed.
    """
    with store.write():
        current = store.customer(customer_id)
        if current.status != seen:
            who = last_editor(store, customer_id) or "someone"
            raise Conflict(f"{current.name}: {who} changed the status to "
                           f"{current.status or '-'} since the board was drawn; "
                           "nothing was moved", current)
        return edit_customer(store, by, customer_id, {"status": status},
                             expected_version=current.version)


def add_followup(store: Store, by: Actor, customer_id: int, followup: FollowUp) -> int:
    """Record a follow-up as ``by``; any user may, on any customer."""
    require_followup(by, store.customer(customer_id))
    return store.add_followup(customer_id, followup, user=by.name)


def last_editor(store: Store, customer_id: int) -> str:
    """Who saved the customer last ('' when unknown)."""
    row = store.conn.execute(
        "SELECT updated_by FROM customers WHERE id = ?", [customer_id]
    ).fetchone()
    return str(row[0] or "") if row else ""


data_version = reader.data_version


# -- the public pool -------------------------------------------------------------------


def pool(store: Store, *, limit: int | None = None) -> list[CustomerRow]:
    """The customers nobody owns, by name."""
    sql = f"SELECT {ROW_COLUMNS} FROM customers WHERE owner = '' ORDER BY name_norm, id"
    params: list[Any] = []
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [customer_row(r) for r in store.conn.execute(sql, params).fetchall()]


# Whether customer ``c`` is stale as of :cutoff: its owner has had it since before the
# cutoff and logged no follow-up since. Shared by the listing and the UPDATE, so the
# UPDATE re-checks under the write lock what the listing read without it.
_STALE_WHERE = """
c.owner != ''
AND coalesce((SELECT o.since FROM ownership o
              WHERE o.customer_id = c.id AND o.owner = c.owner),
             substr(c.created_at, 1, 10)) < :cutoff
AND coalesce((SELECT max(f.date) FROM followups f
              WHERE f.customer_id = c.id AND f.owner = c.owner), '') < :cutoff
"""

_STALE_SQL = f"""
SELECT c.id, c.name, c.owner,
    (SELECT max(f.date) FROM followups f
     WHERE f.customer_id = c.id AND f.owner = c.owner) AS last_followup
FROM customers c
WHERE {_STALE_WHERE}
ORDER BY c.id
"""

POOL_BATCH = 200
"""Customers returned per transaction: a first sweep over a large, long-neglected book
must not hold the write lock for seconds while reps are saving."""


def stale(store: Store, *, today: dt.date, days: int = POOL_DAYS) -> list[PoolReturn]:
    """Owned customers whose owner logged no follow-up in the last ``days`` days (nor
    got them in that time)."""
    cutoff = (today - dt.timedelta(days=days)).isoformat()
    return [PoolReturn(*row) for row in store.conn.execute(_STALE_SQL, {"cutoff": cutoff})]


def return_to_pool(store: Store, *, today: dt.date, days: int = POOL_DAYS) -> list[PoolReturn]:
    """Put every stale customer back in the pool, with an audit line each.

    Works in short transactions of :data:`POOL_BATCH` customers. Each ``UPDATE``
    re-checks staleness and the owner under the write lock, so a follow-up or a claim
    that lands meanwhile is never undone.
    """
    cutoff = (today - dt.timedelta(days=days)).isoformat()
    candidates = stale(store, today=today, days=days)
    returned: list[PoolReturn] = []
    for start in range(0, len(candidates), POOL_BATCH):
        batch: list[PoolReturn] = []
        with store.write() as conn:
            now = utc_now()
            for entry in candidates[start : start + POOL_BATCH]:
                cursor = conn.execute(
                    "UPDATE customers AS c SET owner = '', version = version + 1, "
                    f"updated_at = :now, updated_by = :user WHERE c.id = :id "
                    f"AND c.owner = :owner AND {_STALE_WHERE}",
                    {"now": now, "user": POOL_USER, "id": entry.customer_id,
                     "owner": entry.owner, "cutoff": cutoff},
                )
                if cursor.rowcount != 1:
                    continue
                conn.execute("DELETE FROM ownership WHERE customer_id = ?",
                             [entry.customer_id])
                store._audit(entry.customer_id, POOL_USER, "return to pool", "owner",
                             entry.owner, "")
                batch.append(entry)
            if batch:
                ids = [r.customer_id for r in batch]
                store._after_change(ids)
                store.reindex(ids)
        returned += batch
    return returned


def claim(store: Store, by: Actor, customer_id: int, *, today: dt.date) -> Customer:
    """Take a customer from the pool. One conditional ``UPDATE`` inside ``BEGIN
    IMMEDIATE``: of two reps claiming at once, the first wins and the second gets
    :class:`ClaimLost`."""
    with store.write() as conn:
        cursor = conn.execute(
            "UPDATE customers SET owner = ?, version = version + 1, updated_at = ?, "
            "updated_by = ? WHERE id = ? AND owner = ''",
            [by.name, utc_now(), by.name, customer_id],
        )
        current = store.customer(customer_id)
        if cursor.rowcount != 1:
            # Whoever lost a race reads the winner here: the write lock orders the two.
            who = "you already own it" if current.owner == by.name else \
                f"{current.owner} owns it"
            raise ClaimLost(f"{current.name} is not in the pool: {who}")
        _record_owner(conn, customer_id, by.name, today)
        store._audit(customer_id, by.name, "claim", "owner", "", by.name)
        store._after_change([customer_id])
        store.reindex([customer_id])
        return store.customer(customer_id)


def assign(store: Store, by: Actor, customer_id: int, to: str, *, today: dt.date) -> Customer:
    """A manager gives a customer to a user (``''`` puts it in the pool)."""
    require_manager(by, "reassign owners")
    with store.write() as conn:
        if to and _user_role(store, to) is None:
            raise StoreError(f"user: {to} is not a user of this database")
        current = store.customer(customer_id)
        if current.owner == to:
            return current
        conn.execute(
            "UPDATE customers SET owner = ?, version = version + 1, updated_at = ?, "
            "updated_by = ? WHERE id = ?",
            [to, utc_now(), by.name, customer_id],
        )
        if to:
            _record_owner(conn, customer_id, to, today)
        else:
            conn.execute("DELETE FROM ownership WHERE customer_id = ?", [customer_id])
        store._audit(customer_id, by.name, "assign", "owner", current.owner, to)
        store._after_change([customer_id])
        store.reindex([customer_id])
        return store.customer(customer_id)


def _record_owner(conn: sqlite3.Connection, customer_id: int, owner: str,
                  since: dt.date) -> None:
    conn.execute(
        "INSERT INTO ownership (customer_id, owner, since) VALUES (?, ?, ?) "
        "ON CONFLICT (customer_id) DO UPDATE SET owner = excluded.owner, "
        "since = excluded.since",
        [customer_id, owner, since.isoformat()],
    )


# -- safety: backup, restore, check ----------------------------------------------------


def integrity_problems(conn: sqlite3.Connection) -> list[str]:
    """What ``PRAGMA integrity_check`` and ``foreign_key_check`` find; empty when ok."""
    problems = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    if problems == ["ok"]:
        problems = []
    problems += [
        f"foreign key: {table} row {rowid} points to a missing {parent}"
        for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check").fetchall()
    ]
    return problems


def check(store: Store) -> list[str]:
    """Everything wrong with an open database; empty when all is well."""
    from tuicrm.core.store.files import UnsafeFile, refuse_world_writable

    problems = integrity_problems(store.conn)
    mode = store.conn.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal":
        problems.append(f"journal_mode is {mode}, not wal: readers would block writers")
    try:
        refuse_world_writable(str(store.path))
    except UnsafeFile as exc:
        problems.append(str(exc))
    return problems


def backup(store: Store, dest: str | os.PathLike[str]) -> Path:
    """Copy the database with SQLite's online backup API, safe while others write.

    ``dest`` may be a directory (the copy is named after the time). The copy is written
    beside its destination, checked, and renamed into place, so a full disk or a crash
    never leaves a half backup under the real name. Returns the file written.
    """
    target = Path(dest)
    if target.is_dir():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        target = target / f"tuicrm-{stamp}.db"
    if isinstance(store.path, Path) and target.exists() and target.samefile(store.path):
        raise StoreError(f"{target} is the database itself; back up to another file")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        fd = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as exc:
        raise StoreError(f"{target}: cannot write the backup ({exc.strerror})") from None
    os.close(fd)
    try:
        copy = sqlite3.connect(str(partial), isolation_level=None)
        try:
            # One step (pages=-1) reads one consistent snapshot; in WAL mode writers
            # carry on meanwhile.
            store.conn.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")
            problems = integrity_problems(copy)
        finally:
            copy.close()
        if problems:
            raise StoreError(f"the backup failed its check: {problems[0]}")
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as exc:
        partial.unlink(missing_ok=True)
        # A full disk lands here: the half-written copy is gone, the database untouched.
        raise StoreError(f"{target}: the backup failed ({exc}); nothing written") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def verify_backup(source: str | os.PathLike[str]) -> None:
    """Refuse a file that is not a sound tuicrm database."""
    path = Path(source)
    if not path.is_file():
        raise StoreError(f"{path}: no such file")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open it ({exc})") from None
    try:
        try:
            problems = integrity_problems(conn)
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} fails integrity_check ({exc}); nothing restored") \
                from None
    finally:
        conn.close()
    if problems:
        raise StoreError(
            f"{path} fails integrity_check ({problems[0]}); nothing restored"
        )
    if "customers" not in tables:
        raise StoreError(f"{path} is not a tuicrm database (no customers table)")


def restore(store: Store, by: Actor, source: str | os.PathLike[str]) -> Path | None:
    """Replace the database's content with a backup, after checking the backup.

    A manager only. The current content is first saved beside the database
    (``NAME.before-restore-TIME``); returns that file.
    """
    require_manager(by, "restore a backup")
    verify_backup(source)
    saved: Path | None = None
    if isinstance(store.path, Path):
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        saved = backup(store, store.path.with_name(f"{store.path.name}.before-restore-{stamp}"))
    src = sqlite3.connect(f"{Path(source).resolve().as_uri()}?mode=ro", uri=True)
    try:
        src.backup(store.conn)
    finally:
        src.close()
    if hasattr(store, "_columns_cache"):
        del store._columns_cache
    store._migrate()  # an older backup comes up to the current schema
    problems = integrity_problems(store.conn)
    if problems:
        raise StoreError(f"the restored database fails its check: {problems[0]}")
    return saved
