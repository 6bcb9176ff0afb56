"""A separate process writing to a shared database, driven by the team tests.

Run as ``python team_worker.py MODE DB ...``. It prints ``ready`` once its imports are
done and waits for a line on stdin, so the test can start every worker at the same
moment without sleeping; it reports on stdout, one line per event, JSON at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import sys

from tuicrm.core.models import FollowUp
from tuicrm.core.store import Conflict, Store


def say(text: str) -> None:
    print(text, flush=True)


def wait_for_go() -> None:
    say("ready")
    sys.stdin.readline()


def followup(content: str) -> FollowUp:
    return FollowUp(date=dt.date(2024, 3, 1), method="电话", content=content)


def stress(db: str, worker: int, writes: int, customer_ids: list[int]) -> None:
    """Alternate follow-ups and versioned edits over a few customers."""
    results: list[dict[str, object]] = []
    user = f"w{worker}"
    with Store(db) as store:
        wait_for_go()
        for j in range(writes):
            if j == writes // 4:
                say("progress")
            customer_id = customer_ids[(worker + j) % len(customer_ids)]
            marker = f"{user}-{j}"
            try:
                if j % 2 == 0:
                    store.add_followup(customer_id, followup(marker), user=user)
                    results.append({"kind": "followup", "marker": marker, "outcome": "ok"})
                else:
                    version = store.customer_version(customer_id)
                    store.update_customer(customer_id, {"goals": marker}, user=user,
                                          expected_version=version)
                    results.append({"kind": "edit", "marker": marker, "outcome": "ok",
                                    "customer": customer_id})
            except Conflict:
                results.append({"kind": "edit", "marker": marker, "outcome": "conflict",
                                "customer": customer_id})
            except Exception as exc:  # every other failure is what the test counts
                results.append({"kind": "error", "marker": marker, "outcome": repr(exc)})
    say(json.dumps(results))


def kill_mid(db: str, customer_id: int, rows: int) -> None:
    """Write ``rows`` follow-ups in one transaction, then wait (to be killed) inside it."""
    with Store(db) as store:
        # A tiny page cache makes SQLite spill the open transaction's pages into the
        # -wal file before the commit: the kill then leaves uncommitted frames behind.
        store.conn.execute("PRAGMA cache_size = 10")
        wait_for_go()
        with store.write():
            for m in range(rows):
                store.add_followup(customer_id, followup(f"mid-{m}"), user="killed")
            say("mid")
            sys.stdin.readline()


def kill_loop(db: str, customer_id: int, rows: int) -> None:
    """Commit transaction after transaction of ``rows`` follow-ups until killed."""
    with Store(db) as store:
        wait_for_go()
        tx = 0
        while True:
            with store.write():
                for m in range(rows):
                    store.add_followup(customer_id, followup(f"tx{tx}-{m}"), user="killed")
            say(f"committed {tx}")
            tx += 1


def claim_all(db: str, user: str, customer_ids: list[int]) -> None:
    """Claim every customer of the list, in order; report which claims won."""
    from tuicrm.core.store import team

    outcomes: dict[int, str] = {}
    with Store(db) as store:
        me = team.actor(store, user, bootstrap=False)
        wait_for_go()
        for customer_id in customer_ids:
            try:
                team.claim(store, me, customer_id, today=dt.date(2024, 3, 1))
                outcomes[customer_id] = "won"
            except team.ClaimLost:
                outcomes[customer_id] = "lost"
    say(json.dumps(outcomes))


def main(argv: list[str]) -> None:
    mode, db, *rest = argv
    if mode == "stress":
        stress(db, int(rest[0]), int(rest[1]), [int(x) for x in rest[2:]])
    elif mode == "kill-mid":
        kill_mid(db, int(rest[0]), int(rest[1]))
    elif mode == "kill-loop":
        kill_loop(db, int(rest[0]), int(rest[1]))
    elif mode == "claim":
        claim_all(db, rest[0], [int(x) for x in rest[1:]])
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
