"""The team install: identity in both modes, roles, the public pool, file modes, backup,
restore and check, and the team commands."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tuicrm.cli import cli
from tuicrm.core.identity import resolve_identity
from tuicrm.core.models import Customer, FollowUp
from tuicrm.core.permissions import Actor, PermissionDenied, can_edit, can_view
from tuicrm.core.store import Conflict, Store, StoreError, team
from tuicrm.core.store.files import create_shared

BOSS = Actor("boss", "manager")
ALICE = Actor("alice", "rep")
BOB = Actor("bob", "rep")


# -- identity --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "environ", "running_as", "name", "source", "ignored"),
    [
        # open install: --user, then TUICRM_USER, then the login
        (None, {}, "alice", "alice", "login", ""),
        ("bob", {"TUICRM_USER": "carol"}, "alice", "bob", "option", ""),
        (None, {"TUICRM_USER": "carol"}, "alice", "carol", "environment", ""),
        # locked-down install: sudo -u tuicrm tuicrm; SUDO_USER wins, the rest is ignored
        ("boss", {"SUDO_USER": "alice"}, "tuicrm", "alice", "sudo", "boss"),
        (None, {"SUDO_USER": "alice", "TUICRM_USER": "boss"}, "tuicrm", "alice", "sudo",
         "boss"),
        (None, {"SUDO_USER": "alice"}, "tuicrm", "alice", "sudo", ""),
        # sudo to oneself changes nothing
        ("bob", {"SUDO_USER": "alice"}, "alice", "bob", "option", ""),
    ],
)
def test_identity(option: str | None, environ: dict[str, str], running_as: str, name: str,
                  source: str, ignored: str) -> None:
    identity = resolve_identity(option, environ, effective_user=running_as)
    assert (identity.name, identity.source, identity.ignored) == (name, source, ignored)
    assert identity.locked == (source == "sudo")


# -- the rules -------------------------------------------------------------------------

MINE = Customer(name="A科技有限公司", owner="alice")
THEIRS = Customer(name="B商贸公司", owner="bob")
POOLED = Customer(name="C个体工作室", owner="")


@pytest.mark.parametrize(
    ("who", "customer", "fields", "allowed"),
    [
        (ALICE, MINE, ["goals"], True),
        (ALICE, MINE, ["owner"], False),
        (ALICE, THEIRS, ["goals"], False),
        (ALICE, POOLED, ["goals"], False),
        (BOSS, THEIRS, ["goals", "owner"], True),
        (BOSS, POOLED, ["owner"], True),
    ],
)
def test_who_may_edit(who: Actor, customer: Customer, fields: list[str], allowed: bool) -> None:
    assert can_edit(who, customer, fields) is allowed


@pytest.mark.parametrize(
    ("who", "customer", "visible"),
    [(ALICE, MINE, True), (ALICE, THEIRS, False), (ALICE, POOLED, True), (BOSS, THEIRS, True)],
)
def test_who_may_see(who: Actor, customer: Customer, visible: bool) -> None:
    assert can_view(who, customer) is visible


@pytest.fixture
def team_store(store: Store) -> Store:
    """boss (manager, the first user), alice and bob (reps), and one customer each."""
    assert team.actor(store, "boss") == BOSS
    team.add_user(store, BOSS, "alice", "rep")
    team.add_user(store, BOSS, "bob", "rep")
    store.add_customer(MINE, user="boss")
    store.add_customer(THEIRS, user="boss")
    store.add_customer(POOLED, user="boss")
    return store


def test_first_user_is_manager_and_strangers_are_refused(team_store: Store) -> None:
    assert team.actor(team_store, "alice") == ALICE
    with pytest.raises(PermissionDenied, match="tuicrm user add mallory --role rep"):
        team.actor(team_store, "mallory")
    assert [(u.name, u.role) for u in team.users(team_store)] == [
        ("boss", "manager"), ("alice", "rep"), ("bob", "rep")]


def test_only_managers_add_users(team_store: Store) -> None:
    with pytest.raises(PermissionDenied, match="only a manager can add users"):
        team.add_user(team_store, ALICE, "mallory", "manager")
    with pytest.raises(StoreError, match="already exists"):
        team.add_user(team_store, BOSS, "alice", "manager")


def test_rep_edits_own_customer_only(team_store: Store) -> None:
    mine = team_store.customer_by_name("A科技有限公司")
    theirs = team_store.customer_by_name("B商贸公司")
    updated = team.edit_customer(team_store, ALICE, mine.id or 0, {"goals": "复购"},
                                 expected_version=mine.version)
    assert updated.goals == "复购"
    # the owner field sent back unchanged (as a form does) is not an owner change
    team.edit_customer(team_store, ALICE, mine.id or 0, {"owner": "alice", "goals": "x"})
    with pytest.raises(PermissionDenied, match="cannot edit B商贸公司: it is owned by bob"):
        team.edit_customer(team_store, ALICE, theirs.id or 0, {"goals": "x"})
    with pytest.raises(PermissionDenied, match="only a manager can change who owns"):
        team.edit_customer(team_store, ALICE, mine.id or 0, {"owner": "bob"})
    with pytest.raises(Conflict):
        team.edit_customer(team_store, ALICE, mine.id or 0, {"goals": "y"},
                           expected_version=mine.version)
    team.edit_customer(team_store, BOSS, theirs.id or 0, {"goals": "战略", "owner": "alice"})
    assert team_store.customer(theirs.id or 0).owner == "alice"


def test_a_board_move_is_refused_when_the_status_changed_since(team_store: Store) -> None:
    """Moving a card decides on the status the board showed: if bob changed it in the
    meantime, the move is refused with who and what, and nothing changes."""
    theirs = team_store.customer_by_name("B商贸公司")
    shown = theirs.status
    team.edit_customer(team_store, BOB, theirs.id or 0, {"status": "待谈判"})
    with pytest.raises(Conflict, match="B商贸公司: bob changed the status to 待谈判"):
        team.move_status(team_store, BOSS, theirs.id or 0, seen=shown, status="合作中")
    assert team_store.customer(theirs.id or 0).status == "待谈判"
    moved = team.move_status(team_store, BOSS, theirs.id or 0, seen="待谈判", status="合作中")
    assert moved.status == "合作中"


def test_anyone_adds_followups_to_any_customer(team_store: Store) -> None:
    theirs = team_store.customer_by_name("B商贸公司")
    followup = FollowUp(date=dt.date(2024, 3, 1), method="电话", content="代接来电")
    team.add_followup(team_store, ALICE, theirs.id or 0, followup)
    assert [f.owner for f in team_store.followups(theirs.id or 0)] == ["alice"]


# -- the public pool -------------------------------------------------------------------


def test_neglected_customers_return_to_the_pool(team_store: Store) -> None:
    today = dt.date.today() + dt.timedelta(days=200)
    mine = team_store.customer_by_name("A科技有限公司")
    theirs = team_store.customer_by_name("B商贸公司")
    # alice followed up 10 days ago; bob's customer only got a follow-up from alice
    for customer, who, days_ago in ((mine, "alice", 10), (theirs, "alice", 5)):
        team_store.add_followup(customer.id or 0, FollowUp(
            date=today - dt.timedelta(days=days_ago), method="电话", content="跟进"), user=who)

    returned = team.return_to_pool(team_store, today=today, days=90)

    assert [(r.name, r.owner) for r in returned] == [("B商贸公司", "bob")]
    after = team_store.customer(theirs.id or 0)
    assert after.owner == ""
    assert after.version == theirs.version + 1  # an open edit of it now conflicts
    assert [e.action for e in team_store.history(theirs.id or 0)][-1] == "return to pool"
    assert {r.name for r in team.pool(team_store)} == {"B商贸公司", "C个体工作室"}
    # a second sweep changes nothing
    assert team.return_to_pool(team_store, today=today, days=90) == []


def test_a_fresh_claim_is_not_taken_back(team_store: Store) -> None:
    today = dt.date.today() + dt.timedelta(days=200)
    pooled = team_store.customer_by_name("C个体工作室")
    team.claim(team_store, ALICE, pooled.id or 0, today=today)
    returned = team.return_to_pool(team_store, today=today + dt.timedelta(days=89))
    # the two customers owned since they were created go; the one claimed stays
    assert {r.name for r in returned} == {"A科技有限公司", "B商贸公司"}
    assert team_store.customer(pooled.id or 0).owner == "alice"
    returned = team.return_to_pool(team_store, today=today + dt.timedelta(days=91))
    assert [r.name for r in returned] == ["C个体工作室"]


def test_claim_and_assign(team_store: Store) -> None:
    today = dt.date(2024, 3, 1)
    pooled = team_store.customer_by_name("C个体工作室").id or 0
    theirs = team_store.customer_by_name("B商贸公司").id or 0
    assert team.claim(team_store, ALICE, pooled, today=today).owner == "alice"
    with pytest.raises(team.ClaimLost, match="not in the pool: alice owns it"):
        team.claim(team_store, BOB, pooled, today=today)
    with pytest.raises(team.ClaimLost, match="you already own it"):
        team.claim(team_store, ALICE, pooled, today=today)
    with pytest.raises(PermissionDenied, match="only a manager can reassign owners"):
        team.assign(team_store, BOB, theirs, "bob", today=today)
    with pytest.raises(StoreError, match="mallory is not a user"):
        team.assign(team_store, BOSS, theirs, "mallory", today=today)
    assert team.assign(team_store, BOSS, theirs, "alice", today=today).owner == "alice"
    assert team.assign(team_store, BOSS, theirs, "", today=today).owner == ""
    entries = [(e.action, e.old, e.new) for e in team_store.history(theirs)]
    assert entries[-2:] == [("assign", "bob", "alice"), ("assign", "alice", "")]


# -- files -----------------------------------------------------------------------------


def test_shared_install_modes(tmp_path: Path) -> None:
    db = tmp_path / "team" / "tuicrm.db"
    create_shared(db)
    Store(db).close()
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o2770
    assert stat.S_IMODE(db.stat().st_mode) == 0o660


def test_world_writable_database_is_refused(db_path: Path) -> None:
    Store(db_path).close()
    os.chmod(db_path, 0o666)
    with pytest.raises(StoreError, match=r"world-writable.*chmod o-w"):
        Store(db_path)


# -- backup, restore, check ------------------------------------------------------------


def corrupt_copy(path: Path) -> Path:
    """A database whose index disagrees with its table: integrity_check fails."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("CREATE INDEX customers_name ON customers(name)")
    conn.executemany("INSERT INTO customers (name) VALUES (?)",
                     [(f"name{n:05}",) for n in range(2000)])
    conn.commit()
    conn.close()
    data = bytearray(path.read_bytes())
    at = data.find(b"name01000")
    data[at + 8] = ord("X")
    path.write_bytes(bytes(data))
    return path


def test_backup_and_restore(team_store: Store, tmp_path: Path) -> None:
    copy = team.backup(team_store, tmp_path)
    assert copy.parent == tmp_path and copy.name.startswith("tuicrm-")
    team_store.add_customer(Customer(name="D集团"), user="boss")
    with pytest.raises(PermissionDenied):
        team.restore(team_store, ALICE, copy)
    saved = team.restore(team_store, BOSS, copy)
    assert team_store.customer_count() == 3
    assert saved is not None and saved.exists()
    assert team.check(team_store) == []


@pytest.mark.parametrize("kind", ["corrupt", "garbage", "not tuicrm"])
def test_restore_refuses_a_bad_file(team_store: Store, tmp_path: Path, kind: str) -> None:
    bad = tmp_path / "bad.db"
    if kind == "corrupt":
        corrupt_copy(bad)
    elif kind == "garbage":
        bad.write_bytes(b"this is not a database" * 300)
    else:
        sqlite3.connect(bad).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(StoreError, match=r"nothing restored|not a tuicrm database"):
        team.restore(team_store, BOSS, bad)
    assert team_store.customer_count() == 3


def test_backup_refuses_to_overwrite_the_database(team_store: Store) -> None:
    with pytest.raises(StoreError, match="the database itself"):
        team.backup(team_store, team_store.path)


# -- the commands ----------------------------------------------------------------------


Invoke = Callable[..., Result]


@pytest.fixture
def run(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Invoke ``tuicrm`` on the test database as a user (or through sudo)."""
    for name in ("SUDO_USER", "TUICRM_USER", "TUICRM_SHARED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TUICRM_DB", str(db_path))

    def invoke(*args: str, user: str = "boss", sudo_user: str | None = None) -> Result:
        env = {"TUICRM_USER": user}
        if sudo_user:
            env["SUDO_USER"] = sudo_user
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def test_team_commands(run: Invoke, tmp_path: Path) -> None:
    assert "boss is a manager" in run("init").output
    assert run("user", "add", "alice", "--role", "rep").exit_code == 0
    refused = run("user", "add", "mallory", user="alice")
    assert refused.exit_code == 1 and "only a manager can add users" in refused.output
    users = json.loads(run("user", "list", "--json").output)
    assert [(u["name"], u["role"]) for u in users] == [("boss", "manager"), ("alice", "rep")]

    with Store(os.environ["TUICRM_DB"]) as store:
        store.add_customer(Customer(name="C个体工作室"), user="boss")
    pooled = json.loads(run("pool", "--json", user="alice").output)
    assert [r["name"] for r in pooled] == ["C个体工作室"]
    assert "is now yours, alice" in run("claim", "C个体工作室", user="alice").output
    second = run("claim", "C个体工作室", user="boss")
    assert second.exit_code == 1 and "alice owns it" in second.output
    assert "belongs to the pool" in run("assign", "C个体工作室", "--to", "").output

    history = json.loads(run("history", "C个体工作室", "--json").output)
    assert [h["action"] for h in history] == ["create", "claim", "assign"]
    assert "claim" in run("history", "C个体工作室").output

    assert "backed up" in run("backup", str(tmp_path / "copy.db")).output
    assert run("backup", str(tmp_path / "x.db"), user="alice").exit_code == 1
    assert run("check").output.endswith(": ok\n")
    bad = corrupt_copy(tmp_path / "bad.db")
    refused = run("restore", "--yes", str(bad))
    assert refused.exit_code == 1 and "fails integrity_check" in refused.output
    assert "restored" in run("restore", "--yes", str(tmp_path / "copy.db")).output


def test_locked_mode_takes_the_name_from_sudo(run: Invoke) -> None:
    run("init")
    run("user", "add", "alice", "--role", "rep")
    # alice, through sudo, asks to be boss: she stays alice, and is told so
    result = run("--user", "boss", "user", "add", "mallory", user="boss", sudo_user="alice")
    assert result.exit_code == 1
    assert "ignoring the requested user 'boss'" in result.output
    assert "alice is a rep: only a manager can add users" in result.output


def test_check_refuses_world_writable(run: Invoke, db_path: Path) -> None:
    run("init")
    os.chmod(db_path, 0o666)
    result = run("check")
    assert result.exit_code == 1 and "world-writable" in result.output


def test_init_shared(run: Invoke, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUICRM_SHARED", "1")
    assert run("init").exit_code == 0
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o660


@pytest.mark.parametrize(
    "command",
    [["user"], ["user", "add"], ["user", "list"], ["pool"], ["claim"], ["assign"],
     ["history"], ["backup"], ["restore"], ["check"], ["serve"], ["init"]],
)
def test_team_commands_have_help(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_init_by_a_stranger_still_brings_the_database_up_to_date(run: Invoke) -> None:
    run("init")
    result = run("init", user="mallory")
    assert result.exit_code == 0
    assert "mallory is not one of its users" in result.output


def test_backup_to_a_missing_directory_says_so(team_store: Store, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot write the backup"):
        team.backup(team_store, tmp_path / "nowhere" / "copy.db")


def test_a_rep_cannot_read_another_reps_history(run: Invoke) -> None:
    run("init")
    run("user", "add", "alice", "--role", "rep")
    with Store(os.environ["TUICRM_DB"]) as store:
        store.add_customer(Customer(name="B商贸公司", owner="bob"), user="boss")
    refused = run("history", "B商贸公司", user="alice")
    assert refused.exit_code == 1 and "owned by bob" in refused.output
    assert run("history", "B商贸公司").exit_code == 0


def test_look_ups_and_team_core_import_without_textual_or_aiohttp() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tuicrm.cli, tuicrm.core.store.team, tuicrm.core.permissions, "
        "tuicrm.core.identity; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'textual_serve', 'aiohttp')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("batch", [1, 2, 200])
def test_pool_returns_in_short_transactions(
    team_store: Store, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(team, "POOL_BATCH", batch)
    today = dt.date.today() + dt.timedelta(days=200)
    returned = team.return_to_pool(team_store, today=today)
    assert sorted(r.name for r in returned) == ["A科技有限公司", "B商贸公司"]
    assert {r.name for r in team.pool(team_store)} == {"A科技有限公司", "B商贸公司",
                                                      "C个体工作室"}
