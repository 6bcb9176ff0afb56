"""Hostile customer data on every screen: shown literally, never run, never a crash,
and no terminal escape sequence from the data reaches the terminal."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Footer, Input
from textual.widgets._footer import FooterKey
from waiting import settle

from tuicrm.core.models import Customer, FollowUp
from tuicrm.core.store import NotFound, Store, team
from tuicrm.tui.app import TuiCrmApp
from tuicrm.tui.screens.follow_up import FollowUpScreen
from tuicrm.tui.screens.profile import ProfileScreen
from tuicrm.tui.widgets.customer_table import CustomerTable

AppFactory = Callable[..., TuiCrmApp]
USER = "经理"
REP = "顾问"

# Shown literally: markup that would run an action, close a tag that is not open, or
# slip past textual.markup.escape; right-to-left and zero-width characters.
LITERAL = [
    "[bold]x",
    "Acme [/] Corp",
    "[@click=app.quit]x[/]",
    "[ @click=app.quit]y[/]",
    "\u202eRTL名\u200b字",
]
# Never sent to the terminal: OSC 52 (write the clipboard) and DCS strings. The store
# strips control characters from input, so these are written with SQL behind its back,
# as a sqlite3 shell or an old database would.
ESCAPES = ["osc\x1b]52;c;SGVsbG8=\x07客户", "dcs\x1bPq#0;2;0;0;0\x1b\\客户"]
LONG = "长" * 300
NOTE = "[@click=app.quit]note[/] \x1b]52;c;SGVsbG8=\x07 [b]"


@pytest.fixture
def hostile_db(app_db: Path) -> Path:
    """The demo database plus a customer for each hostile string, owned by 经理, with a
    hostile follow-up; 顾问 is a rep (so their edits are refused with a message that
    names the customer)."""
    with Store(app_db) as store:
        boss = team.actor(store, USER)
        team.add_user(store, boss, REP, "rep")
        for index, name in enumerate([*LITERAL, LONG, *ESCAPES]):
            # Over-long names are refused on input; old data may hold them anyway.
            clean = name if name in LITERAL else f"hostile {index}"
            try:
                customer_id = store.customer_by_name(clean).id or 0
                store.update_customer(customer_id, {"status": "[red]跟进中"}, user=USER)
            except NotFound:  # the demo database already has the first two
                customer_id = store.add_customer(
                    Customer.parse({"name": clean, "owner": USER, "status": "[red]跟进中"}),
                    user=USER,
                )
            store.add_followup(
                customer_id,
                FollowUp.parse(
                    {
                        "date": "2024-03-20",
                        "method": "电话",
                        "content": NOTE,
                        "feedback": "[/]",
                        "owner": USER,
                    }
                ),
                user=USER,
            )
            if clean != name:
                store.conn.execute(
                    "UPDATE customers SET name = ? WHERE id = ?", [name, customer_id]
                )
    return app_db


def guard(app: TuiCrmApp) -> list[str]:
    """Record any attempt to quit, instead of quitting."""
    ran: list[str] = []

    async def quit_attempt() -> None:
        ran.append("quit")

    app.action_quit = quit_attempt  # type: ignore[method-assign]
    return ran


def screen_lines(app: TuiCrmApp) -> list[str]:
    """What the terminal shows, a line of text per row."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def screen_text(app: TuiCrmApp) -> str:
    return "\n".join(screen_lines(app))


def click_actions(app: TuiCrmApp) -> list[str]:
    """The click action of every cell on screen that has one."""
    return [str(segment.style.meta["@click"])
            for strip in app.screen._compositor.render_strips()
            for segment in strip
            if segment.style is not None and "@click" in segment.style.meta]


def assert_inert(app: TuiCrmApp, ran: list[str]) -> None:
    assert app.is_running
    assert ran == []
    # No cell anywhere on screen would run the data's action if it were clicked.
    assert not [action for action in click_actions(app) if "quit" in action]
    shown = app.export_screenshot()
    assert "\x1b]" not in shown and "\x1bP" not in shown and "\x07" not in shown


# Where hostile data shows: the rows worth clicking cell by cell.
MARKERS = ("click", "quit", "note", "bold", "Acme", "RTL", "长", "osc", "dcs", "hostile", "[")


async def click_all(pilot: Pilot[None], widget: Widget | type[Widget] | str) -> None:
    """Click each cell where hostile data shows in the widget (clicking all 4,000 cells of
    a screen takes over a minute and finds nothing more). The footer is left alone: its
    own keys, quit among them, are meant to be clicked."""
    target = pilot.app.screen.query_one(widget) if not isinstance(widget, Widget) else widget
    region = target.region
    lines = screen_lines(pilot.app)
    cells: set[tuple[int, int]] = set()
    for y in range(region.y, region.bottom):
        line = lines[y] if y < len(lines) else ""
        for marker in MARKERS:  # its first place on the line
            start = line.find(marker)
            if start >= 0:
                left = cell_len(line[:start])
                cells.update((x, y) for x in range(left, left + cell_len(marker)))
    for x, y in sorted(cells, key=lambda cell: (cell[1], cell[0])):
        if not region.contains(x, y):
            continue
        under, _ = pilot.app.screen.get_widget_at(x, y)
        if isinstance(under, (Footer, FooterKey)):
            continue
        await pilot.click(target, offset=(x - region.x, y - region.y))
    await settle(pilot)


async def test_list(make_app: AppFactory, hostile_db: Path) -> None:
    app = make_app()
    ran = guard(app)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await click_all(pilot, CustomerTable)
        # A click may have opened a profile: come back to the list.
        while not app.screen.query(CustomerTable):
            await pilot.press("escape")
            await settle(pilot)
        assert_inert(app, ran)
        shown = screen_text(app)
        for name in LITERAL[:4]:
            assert name in shown


@pytest.mark.parametrize("name", [*LITERAL, LONG[:40], "osc", "dcs"])
async def test_profile_and_notifications(make_app: AppFactory, hostile_db: Path, name: str) -> None:
    app = make_app(user=REP)
    ran = guard(app)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(CustomerTable)
        wanted = next(
            listed.row.id for listed in table.rows.values() if listed.row.name.startswith(name)
        )
        app.open_profile(wanted)
        await settle(pilot)
        assert isinstance(app.screen, ProfileScreen)
        await click_all(pilot, "#profile")
        assert_inert(app, ran)
        shown = screen_text(app)
        # The header cuts a long name to the width of the screen.
        assert name[:20] in shown or name.startswith("\u202e")
        assert "[@click=app.quit]note[/]" in shown
        # A rep may not edit 经理's customer: the refusal names it, as plain text.
        await pilot.press("e")
        await settle(pilot)
        app.screen.query_one("#field-status", Input).value = "x"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert any("reps edit the customers they own" in str(n.message) for n in app._notifications)
        await click_all(pilot, "Toast") if app.screen.query("Toast") else None
        assert_inert(app, ran)


async def test_follow_up_form(make_app: AppFactory, hostile_db: Path) -> None:
    app = make_app()
    ran = guard(app)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        for customer_id in range(10, 18):
            app.open_follow_up(customer_id)
            await settle(pilot)
            assert isinstance(app.screen, FollowUpScreen)
            await click_all(pilot, app.screen)
            assert_inert(app, ran)
            while (
                isinstance(app.screen, FollowUpScreen)
                or type(app.screen).__name__ == "ConfirmScreen"
            ):
                await pilot.press("escape")
                await pilot.press("y")
                await settle(pilot)


async def test_board(make_app: AppFactory, hostile_db: Path) -> None:
    app = make_app()
    ran = guard(app)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.open_board()
        await settle(pilot)
        for _ in range(4):
            await pilot.press("enter")
            await settle(pilot)
            await click_all(pilot, app.screen)
            assert_inert(app, ran)
            await pilot.press("down")
        assert "[red]跟进中" in screen_text(app)


async def test_palette_hits(make_app: AppFactory, hostile_db: Path) -> None:
    from textual.command import CommandList, CommandPalette

    app = make_app()
    ran = guard(app)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        for query in ("click", "Acme", "osc", "dcs", "bold"):
            await pilot.press("ctrl+p")
            assert isinstance(app.screen, CommandPalette)
            await pilot.press(*query)
            for _ in range(40):
                await pilot.pause(0.05)
                if app.screen.query_one(CommandList).option_count:
                    break
            assert app.screen.query_one(CommandList).option_count
            assert_inert(app, ran)
            await click_all(pilot, "CommandList")
            assert_inert(app, ran)
            while not app.screen.query(CustomerTable):
                await pilot.press("escape")
                await settle(pilot)
