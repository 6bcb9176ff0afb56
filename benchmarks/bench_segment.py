"""Time bulk segmentation on a generated database.

    tuicrm --db /tmp/seg1m.db --today 2024-06-01 gen --customers 1000000
    python benchmarks/bench_segment.py /tmp/seg1m.db 2024-06-01

Runs: as generated (nothing to change), the next day, a threshold change
(high_min 300,000) and back, every cadence one day longer (cadence and next due change
for nearly everyone) and back, and a first segmentation (the stored outcome wiped, not
timed: every column and tier_history for everyone); prints each run's seconds and how
many customers changed. The database is changed: run it on a copy.
"""

from __future__ import annotations

import datetime as dt
import sys
import time

from tuicrm.core.rules import default_rules, parse_rules
from tuicrm.core.store import Store
from tuicrm.core.store.segments import segment


def main(path: str, today_text: str) -> None:
    today = dt.date.fromisoformat(today_text)
    next_day = today + dt.timedelta(days=1)
    lower = parse_rules({"value": {"high_min": 300_000}})
    longer = parse_rules({"playbook": {
        key: {"cadence_days": days + 1} for key, days in
        (("high", 30), ("mid", 14), ("potential", 30), ("churn_risk", 7), ("nurture", 90))}})
    runs = [
        ("as generated", default_rules(), today),
        ("next day", default_rules(), next_day),
        ("high_min 300,000", lower, next_day),
        ("back to defaults", default_rules(), next_day),
        ("cadences + 1 day", longer, next_day),
        ("back to defaults", default_rules(), next_day),
        ("first segmentation", default_rules(), next_day),
    ]
    with Store(path) as store:
        customers = store.customer_count()
        for label, rules, as_of in runs:
            if label == "first segmentation":
                with store.write() as conn:
                    conn.execute("UPDATE customers SET tier = '', lifecycle = '', "
                                 "segment = '', strategy = '', cadence_days = NULL, "
                                 "next_due = NULL")
            start = time.perf_counter()
            report = segment(store, rules, as_of)
            seconds = time.perf_counter() - start
            print(f"{label:<20}{seconds:7.1f} s  {report.changed:>9,} of {customers:,} changed")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
