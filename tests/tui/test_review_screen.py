"""The review screen: opened with r from the board, figures that open their customers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, OptionList
from waiting import settle

from tuicrm.core.store import Store
from tuicrm.tui.app import TuiCrmApp
from tuicrm.tui.screens.profile import ProfileScreen
from tuicrm.tui.screens.review import FigureCustomersScreen, ReviewScreen
from tuicrm.tui.widgets.lessons import LessonsPanel

TODAY = dt.date(2024, 3, 25)  # the day of the app fixtures (tests/tui/conftest.py)

AppFactory = Callable[..., TuiCrmApp]
SIZE = (80, 24)


def overdue_ids(app_db: Path) -> list[int]:
    with Store(app_db) as store:
        return [r[0] for r in store.conn.execute(
            "SELECT id FROM customers WHERE next_due < ? ORDER BY id",
            [TODAY.isoformat()]).fetchall()]


async def test_review_figure_opens_its_customers(make_app: AppFactory, app_db: Path) -> None:
    expected = overdue_ids(app_db)
    assert expected  # the demo data has overdue customers
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        assert screen.review is not None
        table = screen.query_one(DataTable)
        keys = [row.key.value for row in table.ordered_rows]
        assert keys[:8] == ["new_customers", "deals", "tier_moves", "lifecycle_moves",
                            "late_entries", "overdue", "todos_past_due",
                            "unanswered_problems"]
        assert str(table.get_row("overdue")[1]) == str(len(expected))
        table.move_cursor(row=keys.index("overdue"))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FigureCustomersScreen)
        listed = app.screen.query_one(OptionList)
        ids = [int(listed.get_option_at_index(i).id or 0) for i in range(listed.option_count)]
        assert ids == expected
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ProfileScreen)
        assert app.screen.customer_id == expected[0]


async def test_figure_pages_its_customers_when_the_cursor_reaches_the_last(
        make_app: AppFactory, app_db: Path, monkeypatch: Any) -> None:
    import tuicrm.tui.screens.review as review_screen

    expected = overdue_ids(app_db)
    assert len(expected) > 3
    monkeypatch.setattr(review_screen, "LISTED_AT_MOST", 2)  # pages of 2
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_review()
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=[r.key.value for r in table.ordered_rows].index("overdue"))
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FigureCustomersScreen)
        listed = screen.query_one(OptionList)
        counts = [listed.option_count]
        while listed.option_count < len(expected) and len(counts) < len(expected):
            await pilot.press("end")
            await settle(pilot)
            counts.append(listed.option_count)
        ids = [int(listed.get_option_at_index(i).id or 0) for i in range(listed.option_count)]
        assert ids == expected
        assert counts[:2] == [2, 4]


async def test_review_steps_back_a_week(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_review()
        await settle(pilot)
        await pilot.press("left_square_bracket")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        assert (screen.start.isoformat(), screen.end.isoformat()) == (  # type: ignore[union-attr]
            "2024-03-18", "2024-03-24")
        await pilot.press("escape")
        assert not isinstance(app.screen, ReviewScreen)


def test_review_snapshot(snap_compare: Any, make_app: AppFactory) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def add_lesson_on_first_customer(app_db: Path) -> str:
    from tuicrm.core.review import Lesson, add_lesson

    with Store(app_db) as store:
        add_lesson(store, Lesson.model_validate({
            "title": "[@click=app.quit]报价[/]", "kind": "failure",
            "advice": "quote tiers early", "customer_ids": [1], "tags": ["价格"]}),
            user="经理", at=TODAY)
        return store.customer(1).name


async def test_lesson_shows_on_its_profile(make_app: AppFactory, app_db: Path) -> None:
    add_lesson_on_first_customer(app_db)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_profile(1)
        await settle(pilot)
        panel = app.screen.query_one(LessonsPanel)
        text = str(panel.render())
        assert "- [@click=app.quit]报价[/]: quote tiers early" in text
        assert isinstance(app.screen, ProfileScreen)


async def test_palette_finds_a_lesson_and_opens_its_customer(make_app: AppFactory,
                                                             app_db: Path) -> None:
    add_lesson_on_first_customer(app_db)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"价格")
        wanted = "lesson: [@click=app.quit]报价[/]\nquote tiers early"
        for _ in range(40):  # the palette searches in the background
            await pilot.pause(0.05)
            hits = app.screen.query_one(OptionList)
            prompts = [str(hits.get_option_at_index(i).prompt)
                       for i in range(hits.option_count)]
            if wanted in prompts:
                break
        assert wanted in prompts
        hits.highlighted = prompts.index(wanted)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ProfileScreen)
        assert app.screen.customer_id == 1


async def test_meeting_walks_the_agenda_and_keeps_decisions(make_app: AppFactory,
                                                            app_db: Path) -> None:
    agenda = overdue_ids(app_db)  # no tier moved in the demo data: the overdue ones
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_review()
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await pilot.press("n", "n", "p")
        await settle(pilot)
        assert screen.current is not None and screen.current.id == agenda[0]
        await pilot.press("d")
        await pilot.press(*"call [b]boss[/b]", "enter")
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
    with Store(app_db) as store:
        assert [t.text for t in store.todos(agenda[0])].count("call [b]boss[/b]") == 1
    minutes = (app_db.parent / f"minutes-{TODAY.isoformat()}.md").read_text(encoding="utf-8")
    assert "call [b]boss[/b]" in minutes and f"(#{agenda[0]})" in minutes
