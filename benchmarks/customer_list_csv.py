"""Write a customer list (客户管理清单) CSV of N generated rows, for the import benchmark.

    python benchmarks/customer_list_csv.py 1000000 /tmp/io1m.csv
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import sys

from tuicrm.core import gen
from tuicrm.core.io.layout import headers


def main(count: int, path: str) -> None:
    """Write ``count`` rows to ``path`` (UTF-8 with BOM, as Excel saves)."""
    rng = random.Random(5)
    end = dt.date(2024, 3, 1)
    reps = gen.owners()
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(headers("customers"))
        for index in range(count):
            name = gen.company_name(index, rng)[0]
            first = end - dt.timedelta(days=rng.randint(30, 1000))
            last = first + dt.timedelta(days=rng.randint(0, (end - first).days))
            content, feedback = rng.choice(gen.CONTENTS)
            writer.writerow([
                name, rng.choice(gen.TITLES)[0], rng.choice(gen.INDUSTRIES),
                rng.choice(gen.SIZES)[1], first.isoformat(),
                f"{rng.randint(1, 50000) / 100:g}", last.isoformat(),
                f"{rng.choice(('高价值', '中价值', '潜力'))}/{rng.choice(gen.NEEDS)}/"
                f"{rng.choice(('稳定合作', '间歇合作', '流失风险'))}",
                "每月上门拜访", f"{last.isoformat()}:{content}/{feedback}",
                rng.choice(gen.STATUSES), rng.choice(reps),
            ])


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
