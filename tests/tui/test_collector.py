"""The garbage collector runs at quiet moments, not in the middle of keys."""

from __future__ import annotations

import gc
from collections.abc import Callable

import pytest
from waiting import settle

from tuicrm.tui import collector
from tuicrm.tui.app import TuiCrmApp
from tuicrm.tui.collector import IdleCollector

AppFactory = Callable[..., TuiCrmApp]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many objects were made since the last run (what gc.get_count says); the
    collector's runs are recorded, not run."""
    count = [0]
    monkeypatch.setattr(gc, "get_count", lambda: (count[0], 0, 0))
    monkeypatch.setattr(gc, "collect", lambda generation=2: 0)
    return count


@pytest.mark.parametrize(
    ("quiet_for", "made_since", "expected"),
    [
        (0.0, 5_000, []),  # keys are coming: wait
        (0.0, collector.AT_MOST + 1, [1]),  # ... unless they made too much
        (collector.QUIET + 0.01, 5_000, [1]),  # quiet: the young objects
        (collector.QUIET + 0.01, 10, []),  # quiet, but hardly anything to collect
        (collector.EVERYTHING_EVERY, 10, [2]),  # now and then, everything
    ],
)
def test_runs_when_quiet_or_when_too_much_was_made(
    made: list[int], quiet_for: float, made_since: int, expected: list[int],
) -> None:
    clock = Clock()
    idle = IdleCollector(clock)
    idle.start()
    try:
        assert not gc.isenabled()
        idle.heard()
        clock.now += quiet_for
        made[0] = made_since
        idle.tick()
        assert idle.runs == expected
    finally:
        idle.stop()
    assert gc.isenabled()


def test_nothing_runs_before_start_up_is_over(made: list[int]) -> None:
    clock = Clock()
    idle = IdleCollector(clock)
    clock.now += collector.EVERYTHING_EVERY
    made[0] = collector.AT_MOST + 1
    idle.tick()
    assert idle.runs == []
    idle.stop()  # not started: leaves the collector as it was
    assert gc.isenabled()


async def test_the_app_collects_at_quiet_moments_while_it_runs(make_app: AppFactory) -> None:
    """Once start-up is over the app runs the collector itself, hears each key, and
    gives the collector its automatic runs back when it ends."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.collector.started and not gc.isenabled()
        heard = app.collector.last_input
        await pilot.press("down")
        assert app.collector.last_input > heard
    assert gc.isenabled()
