"""Many processes on one database: the stress test, a writer killed mid-transaction, a
backup taken under load, and a race for the same pooled customer.

Workers are real processes (tests/team_worker.py) started together through a pipe, so
nothing sleeps; every wait has a timeout so a hang fails the test instead of the suite.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tuicrm.core.models import Customer
from tuicrm.core.permissions import Actor
from tuicrm.core.store import Store, team

WORKER = str(Path(__file__).with_name("team_worker.py"))
TIMEOUT = 120


class Worker:
    """One worker process, started and then released with :meth:`go`."""

    def __init__(self, *args: object) -> None:
        self.process = subprocess.Popen(
            [sys.executable, WORKER, *map(str, args)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8",
        )

    def read_line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(f"worker died: {self.process.stderr.read()}")  # type: ignore[union-attr]
        return line.strip()

    def wait_for(self, expected: str) -> None:
        line = self.read_line()
        assert line == expected, line

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def result(self) -> object:
        out, err = self.process.communicate(timeout=TIMEOUT)
        assert self.process.returncode == 0, err
        return json.loads(out.strip().splitlines()[-1])

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=TIMEOUT)


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        if worker.process.poll() is None:
            worker.kill()


def start(workers: list[Worker], *args: object) -> Worker:
    worker = Worker(*args)
    workers.append(worker)
    worker.wait_for("ready")
    return worker


def add_customers(store: Store, count: int, owner: str = "") -> list[int]:
    return [
        store.add_customer(Customer(name=f"压力测试{n}公司", owner=owner), user="setup")
        for n in range(count)
    ]


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


PROCESSES = 8
WRITES = 200


def test_stress_every_write_lands_or_is_a_conflict(
    db_path: Path, tmp_path: Path, workers: list[Worker]
) -> None:
    with Store(db_path) as store:
        ids = add_customers(store, 4)
    for n in range(PROCESSES):
        start(workers, "stress", db_path, n, WRITES, *ids)
    for worker in workers:
        worker.go()

    # A backup taken while all eight write.
    workers[0].wait_for("progress")
    with Store(db_path) as store:
        copy = team.backup(store, tmp_path / "during.db")
    results = [r for worker in workers for r in worker.result()]  # type: ignore[attr-defined]

    assert len(results) == PROCESSES * WRITES
    errors = [r for r in results if r["kind"] == "error"]
    assert errors == []
    with Store(db_path) as store:
        conn = store.conn
        followups = Counter(r[0] for r in conn.execute(
            "SELECT content FROM followups WHERE customer_id IN (?, ?, ?, ?)", ids))
        written = {r["marker"] for r in results if r["kind"] == "followup"}
        assert set(followups) == written
        assert set(followups.values()) == {1}
        edits = [r for r in results if r["kind"] == "edit"]
        done = {r["marker"] for r in edits if r["outcome"] == "ok"}
        refused = {r["marker"] for r in edits if r["outcome"] == "conflict"}
        assert len(done) + len(refused) == PROCESSES * WRITES // 2
        audited = Counter(r[0] for r in conn.execute(
            "SELECT new FROM audit WHERE field = 'goals' AND action = 'update'"))
        assert set(audited) == done  # every saved edit kept, no refused one
        assert set(audited.values()) == {1}
        for customer_id in ids:
            saved = sum(1 for r in edits if r["outcome"] == "ok" and r["customer"] == customer_id)
            assert store.customer_version(customer_id) == 1 + saved
        assert team.integrity_problems(conn) == []
    print(f"\nstress: {len(written)} follow-ups, {len(done)} edits saved, "
          f"{len(refused)} refused as conflicts, 0 errors")

    # The backup restores and holds a consistent subset of what was written.
    restored = tmp_path / "restored.db"
    with Store(restored) as fresh:
        team.restore(fresh, Actor("boss", "manager"), copy)
        assert team.integrity_problems(fresh.conn) == []
        in_backup = {r[0] for r in fresh.conn.execute("SELECT content FROM followups")}
        assert in_backup <= written
        assert 0 < len(in_backup) < len(written)  # taken mid-stream
        assert fresh.customer_count() == 4
    assert integrity(restored) == "ok"


def test_writer_killed_mid_transaction_leaves_nothing_of_it(
    db_path: Path, workers: list[Worker]
) -> None:
    with Store(db_path) as store:
        (customer_id,) = add_customers(store, 1)
    wal = db_path.with_name(db_path.name + "-wal")
    worker = start(workers, "kill-mid", db_path, customer_id, 300)
    before = wal.stat().st_size
    worker.go()
    worker.wait_for("mid")
    assert wal.stat().st_size > before  # the uncommitted pages did reach the file
    worker.kill()

    assert integrity(db_path) == "ok"
    with Store(db_path) as store:
        assert store.followups(customer_id) == []
        # The write lock died with the process: a new write goes through at once.
        store.update_customer(customer_id, {"goals": "after the crash"}, user="t")
        assert team.integrity_problems(store.conn) == []


def test_writer_killed_at_any_moment_keeps_transactions_whole(
    db_path: Path, workers: list[Worker]
) -> None:
    rows = 50
    with Store(db_path) as store:
        (customer_id,) = add_customers(store, 1)
    worker = start(workers, "kill-loop", db_path, customer_id, rows)
    worker.go()
    for tx in range(6):
        worker.wait_for(f"committed {tx}")
    worker.kill()

    assert integrity(db_path) == "ok"
    with Store(db_path) as store:
        per_tx = Counter(
            f.content.split("-")[0] for f in store.followups(customer_id)
        )
    assert set(per_tx.values()) == {rows}  # each transaction wholly or not at all
    assert {f"tx{n}" for n in range(6)} <= set(per_tx)  # acknowledged ones all there


def test_claim_race_has_exactly_one_winner(db_path: Path, workers: list[Worker]) -> None:
    with Store(db_path) as store:
        boss = team.actor(store, "boss")
        team.add_user(store, boss, "alice", "rep")
        team.add_user(store, boss, "bob", "rep")
        ids = add_customers(store, 30)
    racers = [start(workers, "claim", db_path, user, *ids) for user in ("alice", "bob")]
    for racer in racers:
        racer.go()
    outcomes = [racer.result() for racer in racers]

    with Store(db_path) as store:
        for customer_id in ids:
            won = [user for user, outcome in zip(("alice", "bob"), outcomes, strict=True)
                   if outcome[str(customer_id)] == "won"]  # type: ignore[index]
            assert len(won) == 1
            assert store.customer(customer_id).owner == won[0]
            claims = [e for e in store.history(customer_id) if e.action == "claim"]
            assert [e.user for e in claims] == won
