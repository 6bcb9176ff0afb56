"""Time bulk segmentation on a generated database.

    tuicrm --db /tmp/seg1m.db --today 2024-06-01 gen --customers 1000000
    python benchmarks/bench_segment.py /tmp/seg1m.db 2024-06-01

Runs: as generated (nothing to change), the next day, a threshold change
(high_min 300,000) and back; prints each run's seconds and how many customers changed.
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
    runs = [
        ("as generated", default_rules(), today),
        ("next day", default_rules(), next_day),
        ("high_min 300,000", lower, next_day),
        ("back to defaults", default_rules(), next_day),
    ]
    with Store(path) as store:
        customers = store.customer_count()
        for label, rules, as_of in runs:
            start = time.perf_counter()
            report = segment(store, rules, as_of)
            seconds = time.perf_counter() - start
            print(f"{label:<20}{seconds:7.1f} s  {report.changed:>9,} of {customers:,} changed")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
