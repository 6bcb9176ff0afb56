"""tuicrm at a million customers: every target of the benchmark table, with baselines.

    python benchmarks/run.py                     # 1,000,000 customers (cached after the first run)
    python benchmarks/run.py --customers 100000  # a quicker look
    python benchmarks/run.py --skip import,naive # leave out the slow parts

Builds the database once with ``tuicrm gen`` under ``benchmarks/.cache/``, then measures
whole processes (median and p95 over repeated runs, peak resident memory of each), the
app headless (``benchmarks/app_bench.py``), import / export / segment, and the baselines
beside them: the ``sqlite3`` shell's LIKE look-up, a bare Textual app's first frame, and
the naive app (Textual's DataTable filled with every customer of a 100,000-customer
database, filtered in Python per keystroke). Prints a Markdown table; not part of the test
run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
TODAY = "2026-11-01"
RUNS = 7
MB_PER_MIB = 1.048576  # the targets are in MB (10**6 bytes); memory is read in MiB


@dataclass
class Timing:
    """Wall-clock seconds of repeated runs and the largest peak RSS among them."""

    seconds: list[float]
    rss_mib: float

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def timed(argv: list[str], *, runs: int = 1, env: dict[str, str] | None = None,
          stdin: str | None = None, tree: bool = False) -> Timing:
    """Run a command ``runs`` times, timing each whole process and its peak memory; with
    ``tree``, the memory is the largest sum of the proportional set sizes of the process
    and its children, sampled every 0.1 s (a forked child shares pages with its parent,
    so adding up peak resident sizes would count them twice)."""
    seconds, peak = [], 0.0
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )
        if stdin is not None and proc.stdin:
            proc.stdin.write(stdin.encode())
            proc.stdin.close()
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG if tree else 0)
            if pid:
                break
            peak = max(peak, _tree_pss_mib(proc.pid))
            time.sleep(0.1)
        seconds.append(time.perf_counter() - start)
        if not tree:
            peak = max(peak, usage.ru_maxrss / 1024)
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"{' '.join(argv)} failed: {err[-500:]}")
    return Timing(seconds, peak)


def _tree_pss_mib(pid: int) -> float:
    """The summed proportional set size of a process and its descendants, in MiB."""
    total, pids = 0, [pid]
    while pids:
        current = pids.pop()
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pids.extend(int(c) for c in (task / "children").read_text().split())
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:  # ended meanwhile
            continue
    return total / 1024


def tuicrm(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tuicrm", "--db", str(db), "--today", TODAY, *args]


def database(customers: int) -> tuple[Path, Timing | None]:
    """The cached generated database (built, and timed, on first use)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"gen-{customers}.db"
    if path.exists():
        return path, None
    building = path.with_suffix(".building")
    for stale in CACHE.glob(building.name + "*"):
        stale.unlink()
    print(f"building {customers:,} customers (once) …", file=sys.stderr)
    timing = timed(tuicrm(building, "gen", "--customers", str(customers), "--seed", "1"))
    for suffix in ("-wal", "-shm"):
        Path(str(building) + suffix).unlink(missing_ok=True)
    building.rename(path)
    return path, timing


def lookups(db: Path) -> dict[str, Timing]:
    """Whole-process look-ups, as a rep types them in a shell."""
    probe = subprocess.run(tuicrm(db, "find", "科技", "--json", "--limit", "1"),
                           capture_output=True, text=True, check=True).stdout
    name = json.loads(probe)[0]["name"]
    return {
        "find 科技": timed(tuicrm(db, "find", "科技"), runs=RUNS),
        "find akj": timed(tuicrm(db, "find", "akj"), runs=RUNS),
        "find 恒 (1 character)": timed(tuicrm(db, "find", "恒"), runs=RUNS),
        "find keji": timed(tuicrm(db, "find", "keji"), runs=RUNS),
        f"show {name}": timed(tuicrm(db, "show", name), runs=RUNS),
        "due --json": timed(tuicrm(db, "due", "--json"), runs=3),
    }


def sqlite_like(db: Path) -> dict[str, Timing]:
    """The ``sqlite3`` shell doing the look-up with LIKE: ranked as ``find`` ranks
    (exact name, then name prefix, then the rest by name), and, for scale, the first
    20 matches in no order (which stops as soon as it has 20, but answers another
    question)."""
    shell = shutil.which("sqlite3")
    if not shell:
        return {}
    ranked = ("SELECT name, tier, status, owner, last_contact_date FROM customers "
              "WHERE name LIKE '%科技%' ORDER BY name = '科技' DESC, "
              "name LIKE '科技%' DESC, name LIMIT 20;")
    unranked = "SELECT name FROM customers WHERE name LIKE '%科技%' LIMIT 20;"
    return {"ranked": timed([shell, str(db), ranked], runs=RUNS),
            "unranked": timed([shell, str(db), unranked], runs=RUNS)}


# The floor: a bare Textual app, started and watched as app_bench.py starts and watches
# tuicrm (under run_test, the clock stopped by the first paint).
BARE_APP = """
import asyncio, sys, time
from textual.app import App
from textual.widgets import Static
started = float(sys.argv[1])
class Bare(App):
    def compose(self):
        yield Static("hello")
async def main():
    app = Bare()
    shown = []
    paint = app._display
    def display(*args, **kwargs):
        paint(*args, **kwargs)
        if not shown:
            shown.append(time.time())
    app._display = display
    async with app.run_test(size=(80, 24)):
        while not shown:
            await asyncio.sleep(0.0005)
    print(shown[0] - started)
asyncio.run(main())
"""


def bare_first_frames(runs: int = RUNS) -> list[float]:
    """Seconds from process start to a bare Textual app's first frame (headless)."""
    results = []
    for _ in range(runs):
        started = time.time()
        out = subprocess.run([sys.executable, "-c", BARE_APP, repr(started)],
                             capture_output=True, text=True, check=True).stdout
        results.append(float(out.strip().splitlines()[-1]))
    return results


def app_first_frames(db: Path, runs: int = RUNS) -> list[float]:
    """Seconds from process start to the app's first frame with rows (headless)."""
    results = []
    for _ in range(runs):
        started = time.time()
        out = subprocess.run(
            [sys.executable, str(HERE / "app_bench.py"), str(db), "--child"],
            capture_output=True, text=True, check=True,
            env={**os.environ, "BENCH_STARTED": repr(started), "TUICRM_TODAY": TODAY,
                 "BENCH_FIRST_FRAME_ONLY": "1"},
        ).stdout
        results.append(float(json.loads(out.strip().splitlines()[-1])["first_frame_ms"]) / 1000)
    return results


def compile_modules() -> None:
    """Compile tuicrm's modules once, as installing it does: started from a checkout
    with ``PYTHONDONTWRITEBYTECODE`` set, every process would compile them again (25 ms
    of the first frame that no installed tuicrm spends), while Textual's come compiled."""
    import compileall

    import tuicrm

    compileall.compile_dir(Path(tuicrm.__file__).parent, quiet=1)


def app_session(db: Path) -> dict[str, object]:
    """The app headless on ``db``: first frame, keystrokes, paging, board, memory."""
    started = time.time()
    out = subprocess.run(
        [sys.executable, str(HERE / "app_bench.py"), str(db), "--child"],
        capture_output=True, text=True, check=True,
        env={**os.environ, "BENCH_STARTED": repr(started), "TUICRM_TODAY": TODAY},
    ).stdout
    figures: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return figures


NAIVE_APP = """
import sqlite3, sys, time
from textual.app import App
from textual.widgets import DataTable
db, started = sys.argv[1], float(sys.argv[2])
rows = sqlite3.connect(db).execute(
    "SELECT name, tier, status, owner, industry, total_amount, last_contact_date, next_due "
    "FROM customers LIMIT 100000").fetchall()
class Naive(App):
    def compose(self):
        yield DataTable()
    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("name", "tier", "status", "owner", "industry", "total", "last", "due")
        table.add_rows(rows)
        self.call_after_refresh(self.first)
    def first(self):
        print("first", time.time() - started, flush=True)
        table = self.query_one(DataTable)
        t = time.perf_counter()
        kept = [r for r in rows if "科技" in r[0]]
        table.clear()
        table.add_rows(kept)
        self.call_after_refresh(lambda: self.keyed(t))
    def keyed(self, t):
        print("keystroke", time.perf_counter() - t, flush=True)
        self.exit()
import asyncio
asyncio.run(Naive().run_async(headless=True, size=(80, 24)))
"""


def naive_app(db: Path) -> dict[str, float]:
    """Textual's DataTable filled with 100,000 customers, filtered in Python."""
    started = time.time()
    out = subprocess.run([sys.executable, "-c", NAIVE_APP, str(db), repr(started)],
                         capture_output=True, text=True, check=True, timeout=900).stdout
    figures = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        figures[key] = float(value)
    return figures


def bulk(db: Path, customers: int) -> dict[str, Timing]:
    """Export everyone as the customer-list CSV, import it into an empty database,
    re-segment everyone (as of another date, so every due date moves)."""
    csv = CACHE / f"export-{customers}.csv"
    fresh = CACHE / "import-target.db"
    for stale in CACHE.glob("import-target.db*"):
        stale.unlink()
    figures = {"export (CSV)": timed(tuicrm(db, "export", str(csv)))}
    figures["import (CSV)"] = timed(tuicrm(fresh, "import", str(csv)), tree=True)
    for stale in CACHE.glob("import-target.db*"):
        stale.unlink()
    figures["segment everyone"] = timed(
        [sys.executable, "-m", "tuicrm", "--db", str(db), "--today", "2026-11-15", "segment"])
    timed(tuicrm(db, "segment"))  # back to the cached date
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--skip", default="", help="comma list: app,naive,import")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    compile_modules()
    db, gen = database(args.customers)
    rows: list[tuple[str, str, str, str]] = []

    def row(what: str, figure: str, target: str, ok: bool | None) -> None:
        verdict = "" if ok is None else ("met" if ok else "**missed**")
        rows.append((what, figure, target, verdict))

    if gen:
        row(f"gen --customers {args.customers:,}", f"{gen.median:.0f} s, {gen.rss_mib:.0f} MiB",
            "≤ 120 s", gen.median <= 120)
    likes = sqlite_like(db)
    like = likes.get("ranked")
    for what, t in lookups(db).items():
        ratio = f", {t.median / like.median:.1f}× sqlite3 LIKE" if like and "find" in what else ""
        row(f"`tuicrm {what}`", f"median {t.median * 1000:.0f} ms, p95 {t.p95 * 1000:.0f} ms,"
            f" {t.rss_mib:.0f} MiB{ratio}", "median ≤ 300 ms" + (", ≤ 3× LIKE" if ratio else ""),
            t.median <= 0.3 and (not ratio or t.median <= 3 * like.median) if like else None)
    if like:
        row("baseline: `sqlite3` shell LIKE '%科技%', ranked as find ranks",
            f"median {like.median * 1000:.0f} ms", "", None)
    if "unranked" in likes:
        row("baseline: `sqlite3` shell LIKE '%科技%' LIMIT 20, unranked",
            f"median {likes['unranked'].median * 1000:.0f} ms", "", None)
    if "app" not in skip:
        bares = bare_first_frames()
        bare = statistics.median(bares)
        firsts = Timing(app_first_frames(db), 0.0)
        first = firsts.median
        row("app: first frame with rows, headless (run_test)",
            f"median {first * 1000:.0f} ms, p95 {firsts.p95 * 1000:.0f} ms "
            f"({first / bare:.2f}× bare)", "≤ 700 ms, ≤ 1.3× bare",
            first <= 0.7 and first <= 1.3 * bare)
        row("baseline: bare Textual app first frame, headless (run_test)",
            f"median {bare * 1000:.0f} ms, p95 {Timing(bares, 0.0).p95 * 1000:.0f} ms", "",
            None)
        app = app_session(db)
        pty = json.loads(subprocess.run(
            [sys.executable, str(HERE / "pty_first_frame.py"), str(db), "--runs", "7"],
            capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
        pty_bare = json.loads(subprocess.run(
            [sys.executable, str(HERE / "pty_first_frame.py"), "--bare", "--runs", "7"],
            capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
        ratio = pty["median_ms"] / pty_bare["median_ms"]
        row("app: first frame with rows, `tuicrm` in a real 80×24 pty",
            f"median {pty['median_ms']} ms, p95 {pty['p95_ms']} ms ({ratio:.2f}× bare "
            f"{pty_bare['median_ms']} ms)", "≤ 700 ms, ≤ 1.3× bare",
            pty["median_ms"] <= 700 and ratio <= 1.3)
        keys = app.get("keystroke_ms", {})
        row("app: keystroke → visible rows", f"p95 {keys.get('p95')} ms (p50 {keys.get('p50')})",
            "p95 ≤ 50 ms", float(keys.get("p95", 1e9)) <= 50)  # type: ignore[union-attr]
        counts = app.get("count_after_keystroke_ms", {})
        row("app: total count after keystroke", f"p95 {counts.get('p95')} ms",  # type: ignore[union-attr]
            "≤ 300 ms", float(counts.get("p95", 1e9)) <= 300)  # type: ignore[union-attr]
        for key, value in dict(app.get("paging_ms", {})).items():  # type: ignore[call-overload]
            row(f"app: {key}", f"p95 {value['p95']} ms (max {value['max']})", "p95 ≤ 50 ms",
                float(value["p95"]) <= 50)
        for what, key in (("open a profile", "open_profile_ms"),
                          ("save a follow-up (tags, tier, due updated)", "save_follow_up_ms")):
            value = dict(app.get(key, {}))  # type: ignore[call-overload]
            row(f"app: {what}", f"p95 {value.get('p95')} ms (max {value.get('max')})",
                "p95 ≤ 50 ms", float(value.get("p95", 1e9)) <= 50)
        board = app.get("board_ms", {})
        row("app: board, every tier × status", f"{board.get('first')} ms",  # type: ignore[union-attr]
            "≤ 300 ms", float(board.get("first", 1e9)) <= 300)  # type: ignore[union-attr]
        row("app: weekly review from the board", f"{app.get('review_ms')} ms", "", None)
        rss = float(app.get("rss_mib", 0))  # type: ignore[arg-type]
        row("app: resident memory", f"{rss:.0f} MiB", "≤ 200 MB", rss * MB_PER_MIB <= 200)
    if "naive" not in skip:
        naive = naive_app(db)
        row("baseline: naive DataTable app, 100,000 customers",
            f"first frame {naive.get('first', 0):.1f} s, keystroke "
            f"{naive.get('keystroke', 0):.2f} s", "", None)
    if "import" not in skip:
        for what, t in bulk(db, args.customers).items():
            rate = f", {args.customers / t.median:,.0f} rows/s" if "port" in what else ""
            fits = t.median <= 60 and t.rss_mib * MB_PER_MIB <= 400
            target = {"import (CSV)": ("≤ 60 s, ≤ 400 MB", fits),
                      "segment everyone": ("≤ 30 s", t.median <= 30)}.get(what, ("", None))
            row(f"`tuicrm {what}`", f"{t.median:.1f} s{rate}, {t.rss_mib:.0f} MiB", *target)

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=HERE).stdout.strip()
    print(f"\n{args.customers:,} customers, commit {commit}, as of {TODAY}\n")
    print("| what | measured | target | |\n|---|---|---|---|")
    for what, figure, target, verdict in rows:
        print(f"| {what} | {figure} | {target} | {verdict} |")


if __name__ == "__main__":
    main()
