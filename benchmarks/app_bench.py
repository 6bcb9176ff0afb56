"""How fast the app feels on a big database (a harness, not a test).

    tuicrm --db /tmp/big.db gen --customers 1000000      # once, a few minutes
    python benchmarks/app_bench.py /tmp/big.db

Runs the app headless (``App.run_test``) at 80×24 and prints, in milliseconds:

- first frame: from the start of a fresh Python process to the list showing rows
  (imports included; the process is started by this script);
- keystroke → visible rows: typing queries into the search box, a character at a time,
  until the rows on screen are those of the new query (p50, p95, max), and the count;
- End, PgDn, PgUp: until the row under the cursor is loaded;
- opening a profile (enter on the list), saving a follow-up from it (ctrl+s in the form
  until the profile shows it): these write five follow-ups into the database;
- board: from ``b`` to the figures and the first cell's cards on screen, and the weekly
  review from the board (``r``);
- resident memory of the process at the end (VmRSS).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

QUERIES = ("科技", "akj", "keji", "北京恒达", "有限公司", "zzz", "恒达科技")


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of the values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class CollectorPauses:
    """The garbage collector's pauses longer than 5 ms (a pause stalls every frame)."""

    def __init__(self) -> None:
        self.long: list[tuple[str, int, float]] = []
        self.phase = "start-up"  # what the session is doing (set as it goes)
        self._started = 0.0
        gc.callbacks.append(self._heard)

    def _heard(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif (took := (time.perf_counter() - self._started) * 1000) > 5:
            self.long.append((self.phase, info["generation"], round(took, 1)))


def rss_mib() -> float:
    """Resident memory of this process in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def session(db: Path, started: float, *, first_frame_only: bool = False,
                  ) -> dict[str, object]:
    """One headless session: first frame, typing, paging, the board.

    Keys are posted to the app the way the terminal driver posts them, and the clock
    stops at the first frame painted while the condition holds (checked right after
    each paint: a poll between frames sees the condition only once the event loop is
    free, which can be a frame or two after the one that showed it); Pilot's ``press``
    is not used because it waits for the process to idle (~20 ms a key).
    """
    from tuicrm.context import Context, build_app

    # As `tuicrm` starts it: the list's first page is read while Textual is imported, the
    # list reads through light connections, and the store (with the rules' segmenter,
    # so that a save works out the customer's tags, tier and due date again) opens
    # behind the first frame.
    app = build_app(Context(str(db), "bench", "2026-11-23", None))

    from textual import events

    from tuicrm.tui.widgets.customer_table import CustomerTable

    figures: dict[str, object] = {}
    pauses = CollectorPauses()
    original_refresh = app._display
    # The condition being waited for, and the time of the first frame painted while it
    # held.
    watched: list[Callable[[], bool] | None] = [None]
    shown_at = [0.0]
    shown_wall = [0.0]  # the same moment on the clock the process start was read from

    def display(*args: object, **kwargs: object) -> None:
        original_refresh(*args, **kwargs)  # type: ignore[arg-type]
        done = watched[0]
        if done is not None and not shown_at[0] and done():
            shown_at[0] = time.perf_counter()
            shown_wall[0] = time.time()

    app._display = display  # type: ignore[method-assign]

    async def until(done: Callable[[], bool], limit: float = 10) -> float:
        """Milliseconds until the first frame painted while ``done()`` holds."""
        start = time.perf_counter()
        shown_at[0] = 0.0
        watched[0] = done
        try:
            while not shown_at[0]:
                await asyncio.sleep(0.0005)
                if time.perf_counter() - start > limit:
                    if done():  # it holds, but nothing was painted since
                        return (time.perf_counter() - start) * 1000
                    t = app.screen.query_one(CustomerTable)
                    raise TimeoutError(
                        f"no answer in time: {app.screen.query_one('#search').value!r} "  # type: ignore[attr-defined]
                        f"gen {t.generation} total {t.total} rows {len(t.rows)} "
                        f"pending {t._pending} top {t.scroll_y} h {t.page_height}")
        finally:
            watched[0] = None
        return (shown_at[0] - start) * 1000

    def press(key: str) -> None:
        character = key if len(key) == 1 else None
        app.post_message(events.Key(key, character))

    def table() -> CustomerTable:
        return app.screen.query_one(CustomerTable)

    def visible_loaded() -> bool:
        if not app.screen.query(CustomerTable):
            return False
        t = table()
        top = int(t.scroll_y)
        last = top + t.page_height - 1
        if t.total is not None:
            last = min(last, t.total - 1)
            if t.total == 0:
                return True
        return bool(t.rows) and all(i in t.rows for i in range(top, last + 1))

    # Watched from the first paint on: run_test returns only once the app is ready, and
    # the first frame with rows may be painted before.
    watched[0] = visible_loaded
    async with app.run_test(size=(80, 24)):
        def newer(generation: int, *, counted: bool = False) -> Callable[[], bool]:
            """A check: the list shows rows of a search newer than ``generation``."""
            return lambda: (table().generation > generation and visible_loaded()
                            and (not counted or table().total is not None))

        def moved(cursor: int) -> Callable[[], bool]:
            """A check: the cursor left ``cursor`` and its row is on screen."""
            return lambda: (table().cursor != cursor and table().current is not None
                            and visible_loaded())

        while not shown_at[0]:
            await asyncio.sleep(0.0005)
        watched[0] = None
        figures["first_frame_ms"] = round((shown_wall[0] - started) * 1000)
        if first_frame_only:
            return figures
        # The store opens behind the first frame; a person takes longer than that to
        # reach for the first key.
        await until(lambda: not [w for w in app.workers if w.group == "warm" and w.is_running]
                    and app.lanes["write"]._store is not None)
        from tuicrm.tui.screens.board import BoardGrid, BoardScreen

        # Typing into the search box, a character at a time.
        pauses.phase = "typing"
        press("slash")
        await until(lambda: app.focused is app.screen.query_one("#search"))
        keystrokes: list[float] = []
        counts: list[float] = []
        search = app.screen.query_one("#search")
        for query in QUERIES:
            if search.value:  # type: ignore[attr-defined]
                generation = table().generation
                search.value = ""  # type: ignore[attr-defined]
                await until(newer(generation, counted=True))
            await asyncio.sleep(0.05)
            for char in query:
                generation = table().generation
                start = time.perf_counter()
                press(char)
                keystrokes.append(await until(newer(generation)))
                await until(lambda: table().total is not None)
                counts.append((time.perf_counter() - start) * 1000)
        figures["keystrokes"] = " ".join(
            f"{c}:{ms:.0f}" for c, ms in zip("".join(QUERIES), keystrokes, strict=True))
        figures["keystroke_ms"] = {
            "n": len(keystrokes), "p50": round(statistics.median(keystrokes), 1),
            "p95": round(percentile(keystrokes, 0.95), 1), "max": round(max(keystrokes), 1)}
        figures["count_after_keystroke_ms"] = {
            "p95": round(percentile(counts, 0.95), 1), "max": round(max(counts), 1)}

        # Paging the whole list.
        pauses.phase = "paging"
        generation = table().generation
        search.value = ""  # type: ignore[attr-defined]
        await until(lambda: table().generation > generation and table().total is not None
                    and visible_loaded())
        press("escape")
        await until(lambda: app.focused is table())
        await asyncio.sleep(0.3)  # the footer shows the list's keys again
        moves: dict[str, list[float]] = {"end": [], "pagedown": [], "pageup": [], "home": []}
        for _ in range(5):
            for key, repeat in (("end", 1), ("pageup", 10), ("home", 1), ("pagedown", 10)):
                for _ in range(repeat):
                    cursor = table().cursor
                    press(key)
                    moves[key].append(await until(moved(cursor)))
        figures["paging_ms"] = {
            key: {"p95": round(percentile(v, 0.95), 1), "max": round(max(v), 1)}
            for key, v in moves.items()}
        figures["end_each_ms"] = [round(v) for v in moves["end"]]
        figures["rows"] = table().total

        # Opening profiles, and saving a follow-up from each (the profile shows it, with
        # its tags, tier and due date worked out again).
        from tuicrm.tui.screens.follow_up import FollowUpScreen
        from tuicrm.tui.screens.profile import ProfileScreen

        def profile_shows(marker: str | None) -> Callable[[], bool]:
            def check() -> bool:
                screen = app.screen
                if not isinstance(screen, ProfileScreen) or screen.profile is None:
                    return False
                return marker is None or any(
                    f.content == marker for f in screen.profile.followups)
            return check

        opens: list[float] = []
        saves: list[float] = []
        pauses.phase = "profiles"
        for round_ in range(5):
            cursor = table().cursor
            press("down")
            await until(moved(cursor))
            press("enter")
            opens.append(await until(profile_shows(None)))
            press("l")
            await until(lambda: isinstance(app.screen, FollowUpScreen)
                        and app.screen.customer is not None)
            marker = f"bench follow-up {time.time():.0f}-{round_}"
            form = app.screen
            form._set("method", "电话")  # type: ignore[attr-defined]
            form._set("content", marker)  # type: ignore[attr-defined]
            await asyncio.sleep(0.05)
            press("ctrl+s")
            saves.append(await until(profile_shows(marker)))
            press("escape")
            await until(lambda: bool(app.screen.query(CustomerTable))
                        and app.focused is table())
        figures["open_profile_ms"] = {"p95": round(percentile(opens, 0.95), 1),
                                      "max": round(max(opens), 1)}
        figures["save_follow_up_ms"] = {"p95": round(percentile(saves, 0.95), 1),
                                        "max": round(max(saves), 1)}
        figures["open_save_each_ms"] = [
            (round(o), round(v)) for o, v in zip(opens, saves, strict=True)]

        # The board. After the saves above its figures are worked out again behind them
        # (~200 ms or more on a million customers); a person takes longer than that to
        # reach for b. The aggregate itself is timed below, uncached.
        await until(lambda: not [w for w in app.workers
                                 if w.group == "warm-board" and w.is_running])
        with app.lanes["board"].use() as store:
            from tuicrm.core import listing

            start = time.perf_counter()
            listing._board(store, owner=None, today=app.today)
            figures["board_aggregate_ms"] = round((time.perf_counter() - start) * 1000, 1)
        boards: list[float] = []
        pauses.phase = "board"
        for _ in range(3):
            press("b")
            boards.append(await until(
                lambda: isinstance(app.screen, BoardScreen)
                and bool(app.screen.query(BoardGrid))
                and bool(app.screen.query_one(BoardGrid).board.cells)
                and bool(app.screen.cards)))
            press("escape")
            await asyncio.sleep(0.1)
        figures["board_ms"] = {"first": round(boards[0], 1), "max": round(max(boards), 1)}

        # The weekly review, from the board.
        pauses.phase = "review"
        from tuicrm.tui.screens.review import ReviewScreen

        press("b")
        await until(lambda: isinstance(app.screen, BoardScreen))
        press("r")
        figures["review_ms"] = round(await until(
            lambda: isinstance(app.screen, ReviewScreen)
            and getattr(app.screen, "review", None) is not None, limit=60), 1)
        figures["rss_mib"] = round(rss_mib(), 1)
        figures["gc_pauses_over_5_ms"] = pauses.long
    return figures


def main() -> None:
    """Run a session in a fresh process (so the first frame includes start-up)."""
    if len(sys.argv) > 2 and sys.argv[2] == "--child":
        started = float(os.environ["BENCH_STARTED"])
        only = os.environ.get("BENCH_FIRST_FRAME_ONLY") == "1"
        print(json.dumps(asyncio.run(session(Path(sys.argv[1]), started,
                                             first_frame_only=only)), ensure_ascii=False))
        return
    if len(sys.argv) < 2:
        sys.exit("usage: python benchmarks/app_bench.py DATABASE")
    db = Path(sys.argv[1])
    # Open once so migrations (index builds on an old database) are not timed.
    from tuicrm.core.store import Store

    with Store(db) as store:
        customers = store.customer_count()
    print(f"{db}: {customers:,} customers")
    started = time.time()
    out = subprocess.run(
        [sys.executable, __file__, str(db), "--child"], capture_output=True, text=True,
        env={**os.environ, "BENCH_STARTED": repr(started)}, check=True,
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    for key, value in figures.items():
        print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
