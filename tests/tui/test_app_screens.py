"""Pilot tests: each screen driven by the keys a rep presses."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Label, Static, TextArea
from waiting import settle

from tuicrm.core.store import Store
from tuicrm.tui.app import TuiCrmApp
from tuicrm.tui.screens.board import BoardGrid, BoardScreen
from tuicrm.tui.screens.customers import CustomersScreen
from tuicrm.tui.screens.dialogs import ConfirmScreen, PickScreen, PromptScreen
from tuicrm.tui.screens.edit_customer import EditCustomerScreen
from tuicrm.tui.screens.follow_up import FollowUpScreen
from tuicrm.tui.screens.help import HelpScreen
from tuicrm.tui.screens.profile import ProfileScreen
from tuicrm.tui.widgets.customer_table import CustomerTable
from tuicrm.tui.widgets.footer import KeysFooter

USER = "经理"
AppFactory = Callable[..., TuiCrmApp]


def names(app: TuiCrmApp) -> list[str]:
    table = app.screen.query_one(CustomerTable)
    return [table.rows[i].row.name for i in sorted(table.rows)]


def filter_bar(app: TuiCrmApp) -> str:
    return str(app.screen.query_one("#filter-bar", Static).render())


async def open_a_keji(pilot: Pilot[None]) -> None:
    """From the list as it opens: search akj and open A科技有限公司's profile."""
    await settle(pilot)
    await pilot.press("slash", *"akj", "enter", "enter")
    await settle(pilot)


async def test_list_opens_with_rows_and_count(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, CustomersScreen)
        assert "A科技有限公司" in names(app)
        assert "9 customers" in filter_bar(app)


async def test_first_page_read_ahead_is_in_the_first_frame(app_db: Path,
                                                           tmp_path: Path) -> None:
    """The page read while the app loaded is what the first frame draws (here it was
    read from another database, to tell it apart); the next search reads as usual."""
    from conftest import TODAY, open_demo
    from tuicrm.core.listing import FirstPage, ListFilter, ListSort
    from tuicrm.core.models import Customer
    from tuicrm.core.reader import Reader

    other = tmp_path / "other.db"
    with open_demo(other) as store:
        store.add_customer(Customer.parse({"name": "预读客户", "owner": USER}), user=USER)
    first_page = FirstPage(lambda: Reader(other), ListFilter(today=TODAY), ListSort(),
                           limit=60)
    app = TuiCrmApp(lambda: open_demo(app_db), user=USER, today=TODAY, language="en",
                    reader_factory=lambda: Reader(app_db), first_page=first_page)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert names(app) == ["预读客户"]
        await pilot.press("slash", *"akj")
        await settle(pilot)
        assert names(app) == ["A科技有限公司"]


async def test_search_as_you_type_by_name_and_pinyin(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"科技")
        await settle(pilot)
        assert names(app) == ["A科技有限公司", "科技有限公司"]
        assert "search: 科技" in filter_bar(app)
        assert "2 customers" in filter_bar(app)
        search = app.screen.query_one("#search", Input)
        search.value = ""
        await pilot.press(*"akj")
        await settle(pilot)
        assert names(app) == ["A科技有限公司"]


def burst(app: TuiCrmApp, *keys: str) -> None:
    """Keys arriving together, as a fast typist's or a paste's do over SSH: posted at
    once, none handled before the next arrives (Pilot's ``press`` waits after each)."""
    for key in keys:
        character = "/" if key == "slash" else key if len(key) == 1 else None
        app.post_message(events.Key(key, character))


@pytest.mark.parametrize(("keys", "query", "shown"), [
    (("slash", *"akj"), "akj", ["A科技有限公司"]),
    (("slash", *"keji"), "keji", ["A科技有限公司", "科技有限公司"]),
    (("slash", *"科技"), "科技", ["A科技有限公司", "科技有限公司"]),
    (("slash", "D", "slash", "A"), "D/A", []),  # a / inside the search is typed
])
async def test_keys_typed_right_after_slash_reach_the_search(
        make_app: AppFactory, keys: tuple[str, ...], query: str, shown: list[str]) -> None:
    """j and k move the list's cursor: typed in the same burst as /, they must go to the
    search box, not to the list."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        burst(app, *keys)
        await settle(pilot)
        assert app.screen.query_one("#search", Input).value == query
        assert names(app) == shown
        assert app.screen.query_one(CustomerTable).cursor == 0


@pytest.mark.parametrize(("keys", "stack"), [
    (("l",), [CustomersScreen, ProfileScreen, FollowUpScreen]),
    (("escape", "j"), [CustomersScreen]),
])
async def test_keys_typed_while_a_profile_is_read_are_for_the_profile(
        make_app: AppFactory, monkeypatch: pytest.MonkeyPatch, keys: tuple[str, ...],
        stack: list[type]) -> None:
    """The profile is read on a thread after Enter: keys that come meanwhile wait for
    it, in order (``l`` logs a follow-up from the profile), and none reaches the list."""
    from tuicrm.tui.screens import profile

    typed = threading.Event()
    read = profile.read_profile

    def read_after_the_keys(*args: Any) -> Any:
        typed.wait(5)
        return read(*args)

    monkeypatch.setattr(profile, "read_profile", read_after_the_keys)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        first = app.screen.query_one(CustomerTable).current
        assert first is not None
        await pilot.press("enter")
        burst(app, *keys)
        await pilot.pause()
        typed.set()
        await settle(pilot)
        assert [type(screen) for screen in app.screen_stack[1:]] == stack
        if isinstance(app.screen, FollowUpScreen):
            assert app.screen.customer_id == first.row.id
        else:  # j after escape: back on the list, it moved the cursor once
            assert app.screen.query_one(CustomerTable).cursor == 1


async def test_mine_overdue_and_clear(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert set(names(app)) == {"A科技有限公司", "D集团", "[@click=app.quit]x[/]",
                                   "Acme [/] Corp"}
        assert "mine" in filter_bar(app)
        await pilot.press("d")
        await settle(pilot)
        # Due 30 days after the last contact (the stand-in rules): A is past 2024-03-25, D not yet.
        assert set(names(app)) == {"A科技有限公司"}
        await pilot.press("x")
        await settle(pilot)
        assert len(names(app)) == 9
        assert "all customers" in filter_bar(app)


async def test_status_filter_is_picked_from_a_list(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, PickScreen)
        values = [v for v, _ in app.screen.choices]
        await pilot.press(*["down"] * values.index("待挽回"), "enter")
        await settle(pilot)
        assert names(app) == ["E建材公司"]
        assert "status: 待挽回" in filter_bar(app)


async def test_sort_and_reverse(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("greater_than_sign")  # tier
        await pilot.press(*["greater_than_sign"] * 4)  # amount
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert names(app)[0] == "D集团"  # 120万, the largest
        assert "sort: Total 万▼" in filter_bar(app)


async def test_home_end_and_pages(tmp_path: object, app_db: object) -> None:
    from pathlib import Path

    from tuicrm.core.gen import generate

    path = Path(str(app_db))
    with Store(path) as store:
        generate(store, 500, seed=5, start_index=10)
    app = TuiCrmApp(lambda: Store(path), user=USER, today=__import__("datetime").date.today(),
                    language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(CustomerTable)
        first = table.current
        await pilot.press("end")
        await settle(pilot)
        assert table.cursor == 508
        last = table.current
        assert last is not None and first is not None
        await pilot.press("pageup", "pageup")
        await settle(pilot)
        assert table.current is not None
        assert table.cursor == 508 - 2 * table.page_height
        await pilot.press("home")
        await settle(pilot)
        assert table.cursor == 0 and table.current == first
        await pilot.press("pagedown")
        await settle(pilot)
        assert table.cursor == table.page_height
        assert table.current is not None


async def test_profile_shows_tags_and_adds_one(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_a_keji(pilot)
        assert isinstance(app.screen, ProfileScreen)
        header = str(app.screen.query_one("#profile-header", Static).render())
        assert "A科技有限公司" in header and "高价值" in header
        await pilot.press("a")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"关系:紧密", "enter")
        await settle(pilot)
        tags = str(app.screen.query_one("#profile-tags", Static).render())
        assert "关系: [紧密]" in tags
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CustomersScreen)


async def test_profile_edit_form_names_bad_fields_and_saves_changes(
    make_app: AppFactory,
) -> None:
    """``e`` opens the customer's facts in a form: a bad date is named beside its field
    and nothing is saved; leaving with changes asks; a good change shows on the profile."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_profile(1)
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, EditCustomerScreen)
        assert app.screen.query_one("#field-name", Input).value == "A科技有限公司"
        first_deal = app.screen.query_one("#field-first_deal_date", Input).value
        app.screen.query_one("#field-first_deal_date", Input).value = "2023-13-45"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, EditCustomerScreen)
        error = str(app.screen.query_one("#error-first_deal_date", Label).render())
        assert "first_deal_date: '2023-13-45' is not a date" in error
        await pilot.press("escape")  # changes are there: it asks
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        app.screen.query_one("#field-first_deal_date", Input).value = first_deal
        status = app.screen.query_one("#field-status", Input)
        status.focus()
        status.value = ""
        await pilot.press(*"待谈判", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ProfileScreen)
        assert app.screen.profile is not None
        assert app.screen.profile.customer.status == "待谈判"
        assert str(app.screen.profile.customer.first_deal_date) == first_deal != ""


async def test_form_names_each_bad_field(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_follow_up(1)
        await settle(pilot)
        assert isinstance(app.screen, FollowUpScreen)
        app.screen.query_one("#field-date", Input).value = "2024-13-45"
        app.screen.query_one("#field-todos", TextArea).text = "call back @someday"
        await pilot.press("ctrl+s")
        await pilot.pause()
        errors = {
            field: str(app.screen.query_one(f"#error-{field}", Static).render())
            for field in ("date", "method", "content", "todos")
        }
        assert "date: '2024-13-45' is not a date" in errors["date"]
        assert errors["method"].startswith("method:")
        assert errors["content"].startswith("content:")
        assert "todos.0.due" in errors["todos"]
        assert app.screen.focused is app.screen.query_one("#field-date")
        assert "Fix the marked fields" in str(
            app.screen.query_one("#form-status", Static).render())


async def test_leaving_the_form_with_input_asks_first(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_follow_up(1)
        await settle(pilot)
        await pilot.press(*"电话")
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert isinstance(app.screen, FollowUpScreen)
        assert app.screen.query_one("#field-method", Input).value == "电话"
        await pilot.press("escape", "y")
        await settle(pilot)
        assert isinstance(app.screen, CustomersScreen)


async def test_leaving_an_untouched_form_does_not_ask(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_follow_up(1)
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CustomersScreen)


async def test_logging_a_follow_up_updates_profile_and_due(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_a_keji(pilot)
        await pilot.press("l")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FollowUpScreen)
        # The stand-in rules' cadence proposes the next date.
        assert form.query_one("#field-next_date", Input).value == "2024-04-24"
        await pilot.press(*"电话", "tab", *"刘总监", "tab")
        await pilot.press(*"确认预算", "tab", *"预算已批", "tab")
        await pilot.press(*"发送报价 @2024-03-08")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ProfileScreen)
        body = str(app.screen.query_one("#profile-body", Static).render())
        assert "发送报价" in body and "2024-03-08" in body
        assert "last contact: 2024-03-25" in body
        assert "next due: 2024-04-24" in body
        # The news is a line above the keys, not a toast over the profile.
        status = app.screen.query_one("#profile-status", Static)
        assert str(status.render()) == "Follow-up saved." and not app._notifications
        footer = app.screen.query_one(KeysFooter)
        assert status.region.height == 1 and status.region.bottom == footer.region.y
        await pilot.press("escape", "down", "enter")  # the next customer: no news
        await settle(pilot)
        assert not app.screen.query_one("#profile-status", Static).display


async def test_board_counts_and_moves_a_card(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, BoardScreen)
        grid = app.screen.query_one(BoardGrid)
        assert sum(c.count for c in grid.board.cells) == 9
        assert grid.tiers == ["中价值", "潜力", "高价值"]
        assert grid.chosen == ("中价值", "培育中")
        await pilot.press("down")  # 中价值 × 待挽回: E建材公司
        await settle(pilot)
        assert [c.name for c in app.screen.cards] == ["E建材公司"]
        await pilot.press("tab", "s")
        await settle(pilot)
        assert isinstance(app.screen, PickScreen)
        await pilot.press("enter")  # the first other status
        await settle(pilot)
        assert isinstance(app.screen, BoardScreen)
        cell = grid.board.cell("中价值", "待挽回")
        assert cell is None
        await pilot.press("m")
        await settle(pilot)
        assert sum(c.count for c in grid.board.cells) == 4


async def test_help_lists_the_screen_keys(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        described = dict((d, k) for k, d in app.screen.keys)
        assert described["Search"] == "/"
        assert described["Board"] == "b"
        await pilot.press("escape")
        assert isinstance(app.screen, CustomersScreen)


async def test_language_switch(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await pilot.pause()
        assert "全部客户" in filter_bar(app)
        keys = {b.binding.description for b in app.screen.active_bindings.values()}
        assert "搜索" in keys


async def test_markup_in_names_is_shown_literally(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"Acme [/", "enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ProfileScreen)
        header = str(app.screen.query_one("#profile-header", Static).render())
        assert "Acme [/] Corp" in header
        await pilot.press("escape")
        await settle(pilot)
        app.screen.query_one("#search", Input).value = "click=app"
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.is_running
        assert "[@click=app.quit]x[/]" in str(
            app.screen.query_one("#profile-header", Static).render())


async def test_palette_jumps_to_a_customer_by_pinyin(make_app: AppFactory) -> None:
    from textual.command import CommandPalette

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"djt")
        for _ in range(20):
            await pilot.pause(0.05)
            if app.screen.query("CommandList Option"):
                break
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ProfileScreen)
        assert app.screen.profile is not None
        assert app.screen.profile.customer.name == "D集团"


async def test_palette_runs_actions(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"list: mine")
        for _ in range(20):
            await pilot.pause(0.05)
            if app.screen.query("CommandList Option"):
                break
        await pilot.press("enter")
        await settle(pilot)
        assert "mine" in filter_bar(app)


async def test_board_since_last_review(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BoardScreen)
        # Fell due in the week before 2024-03-25: C (03-23), A (03-21), B (03-19).
        assert [c.name for c in screen.cards] == ["C个体工作室", "A科技有限公司", "B商贸公司"]
        assert "since 2024-03-18" in str(screen.query_one("#board-title", Static).render())


async def test_profile_ticks_a_todo_and_overrides_the_tier(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_profile(1)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ProfileScreen) and screen.profile is not None
        assert [t.text for t in screen.profile.todos if not t.done] == ["确认采购预算"]
        await pilot.press("t")
        await pilot.press("enter")  # the prompt proposes 1
        await settle(pilot)
        assert screen.profile is not None
        assert all(t.done for t in screen.profile.todos)
        await pilot.press("v", *"A", "enter")  # a tier without a reason is refused
        await settle(pilot)
        assert any("tier_override_reason" in str(n.message) for n in app._notifications)
        await pilot.press("v", *"A, 大单在谈", "enter")
        await settle(pilot)
        header = str(screen.query_one("#profile-header", Static).render())
        assert "A (override: 大单在谈)" in header


async def test_a_failing_query_is_reported(make_app: AppFactory,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from tuicrm.core import listing

    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk I/O error")

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        monkeypatch.setattr(listing, "count", broken)
        await pilot.press("m")
        await pilot.pause(0.3)
        await settle(pilot)
        assert any("disk I/O error" in str(n.message) for n in app._notifications)


async def test_footer_is_rebuilt_only_when_its_keys_change(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The screen's bindings are refreshed on every focus change and more; the footer
    is rebuilt only when the keys it shows are different (the search box takes the
    letter keys, the list gives them back), once however many refreshes came."""
    from textual.widgets._footer import FooterKey

    from tuicrm.tui.widgets.footer import KeysFooter

    rebuilt: list[str] = []
    original = KeysFooter.recompose

    async def counted(self: KeysFooter) -> None:
        rebuilt.append(type(self.screen).__name__)
        await original(self)

    monkeypatch.setattr(KeysFooter, "recompose", counted)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        started = len(rebuilt)
        for _ in range(3):
            app.screen.refresh_bindings()
        await settle(pilot)
        assert len(rebuilt) == started
        await pilot.press("slash")
        await settle(pilot)
        assert len(rebuilt) == started + 1
        await pilot.press("escape")
        await settle(pilot)
        assert len(rebuilt) == started + 2
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ProfileScreen)  # built ahead, its keys with it
        shown = [key.description for key in app.screen.query(FooterKey)]
        assert "Log follow-up" in shown and "Search" not in shown


async def test_saves_in_a_row_work_the_board_out_once_behind_them(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each save asks for the board's figures again; asked while they are being worked
    out, they are worked out once more after, not once per save."""
    import threading

    from tuicrm.core import listing

    computed: list[int] = []
    release = threading.Event()
    original = listing.board

    def slow_board(store: Store, **kwargs: object) -> listing.Board:
        computed.append(1)
        release.wait(5)
        return original(store, **kwargs)  # type: ignore[arg-type]

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        monkeypatch.setattr(listing, "board", slow_board)
        for _ in range(4):
            app.warm_board()
            await pilot.pause()
        release.set()
        await settle(pilot)
        assert len(computed) == 2  # the one under way, then one for the saves meanwhile
        assert not app._board_warming


async def test_saves_leave_the_write_ahead_log_to_the_background_checkpoint(
    make_app: AppFactory,
) -> None:
    """Once warm, the app's writing connection never copies the log into the database
    on commit; the checkpoint behind the screen does, without waiting for anyone."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        with app.lanes["write"].use() as store:
            assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        app.checkpoint()
        await settle(pilot)
        with app.lanes["board"].use() as store:
            busy, logged, copied = store.conn.execute(
                "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert busy == 0 and logged == copied


@pytest.mark.parametrize("rows_come", [True, False])
async def test_a_typed_character_is_held_back_only_until_its_rows_come(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch, rows_come: bool,
) -> None:
    """A search keystroke and its rows are drawn in one frame: the screen's drawing is
    held from the key until the rows arrive, or for a moment at most when they do not."""
    from tuicrm.tui.screens import customers

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CustomersScreen)
        if not rows_come:
            monkeypatch.setattr(customers, "HOLD_AT_MOST", 0.001)
            monkeypatch.setattr(CustomersScreen, "_fetch_page", lambda *args: None)
        await pilot.press("slash", "a")
        await settle(pilot)
        await pilot.pause()
        assert app._batch_count == 0 and not screen._holding
        if rows_come:
            assert "A科技有限公司" in names(app)


async def test_a_profile_is_read_once_to_open_and_once_to_save(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Opening a profile reads it before its screen comes, so the screen's first
    drawing shows it; saving a follow-up reads it once, in the form, which hands it to
    the profile before going back (no second read when the profile shows again)."""
    import functools

    from tuicrm.tui.screens import follow_up, profile

    reads: list[int] = []
    shown_when_resumed: list[bool] = []
    read_profile, resume = profile.read_profile, ProfileScreen.on_screen_resume

    def counted(lanes: object, customer_id: int) -> profile.ProfileLoaded:
        reads.append(customer_id)
        return read_profile(lanes, customer_id)  # type: ignore[arg-type]

    @functools.wraps(resume)
    def resumed(screen: ProfileScreen) -> None:
        shown_when_resumed.append(screen.profile is not None)
        resume(screen)

    monkeypatch.setattr(profile, "read_profile", counted)
    monkeypatch.setattr(follow_up, "read_profile", counted)
    monkeypatch.setattr(ProfileScreen, "on_screen_resume", resumed)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_a_keji(pilot)
        screen = app.screen
        assert isinstance(screen, ProfileScreen)
        assert shown_when_resumed == [True] and reads == [screen.customer_id]
        await pilot.press("l")
        await settle(pilot)
        await pilot.press(*"电话", "tab", "tab", *"确认预算")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen and reads == [screen.customer_id] * 2
        assert screen.profile is not None
        assert any(f.content == "确认预算" for f in screen.profile.followups)


async def test_one_profile_screen_shows_each_customer_in_turn(make_app: AppFactory) -> None:
    """The app keeps its profile screen and shows the next customer on it: nothing of
    the one before shows (tags, reasons, what was read for it), from the list, from
    the palette while a profile is open, and from a board card over a profile."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_a_keji(pilot)
        first = app.screen
        assert isinstance(first, ProfileScreen) and first.profile is not None
        await pilot.press("w")  # the reasons of the computed tags
        assert first.show_reasons
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("x")  # no search: every customer
        await settle(pilot)
        await pilot.press("end", "enter")
        await settle(pilot)
        assert app.screen is first and first.profile is not None
        assert first.profile.customer.name != "A科技有限公司" and not first.show_reasons
        header = str(first.query_one("#profile-header", Static).render())
        assert first.profile.customer.name in header and "A科技" not in header

        app.open_profile(first.customer_id - 1 or first.customer_id + 1)  # the palette's way
        await settle(pilot)
        assert app.screen is first and app.screen_stack.count(first) == 1
        shown = first.profile
        assert shown is not None and shown.customer.id == first.customer_id

        app.open_board()  # the palette's way
        await settle(pilot)
        assert isinstance(app.screen, BoardScreen)
        app.open_profile(shown.customer.id)  # the kept one is down the stack: another
        await settle(pilot)
        other = app.screen
        assert isinstance(other, ProfileScreen) and other is not first
        assert other.profile is not None and other.profile.customer.id == shown.customer.id


async def test_enter_typed_ahead_opens_the_row_it_was_meant_for(
    app_db: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """End then Enter, typed before the count (and so the last row) is known, opens
    the last customer once it is there, not the one the cursor was on."""
    import datetime as dt
    import threading

    from tuicrm.core import listing
    from tuicrm.core.gen import generate

    with Store(app_db) as store:
        generate(store, 300, seed=5, start_index=10)
    counted = threading.Event()
    count = listing.count

    def slow_count(store: Store, flt: listing.ListFilter) -> int:
        counted.wait(5)
        return count(store, flt)

    app = TuiCrmApp(lambda: Store(app_db), user=USER, today=dt.date(2024, 3, 25),
                    language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        monkeypatch.setattr(listing, "count", slow_count)
        await pilot.press("r")  # a new order: its count is held back
        table = app.screen.query_one(CustomerTable)
        for _ in range(50):
            await pilot.pause(0.01)
            if table.current is not None:
                break
        assert table.total is None and table.current is not None
        await pilot.press("end", "enter")
        assert isinstance(app.screen, CustomersScreen)
        counted.set()
        await settle(pilot)
        assert table.total == 309 and table.cursor == 308
        last = table.current
        assert isinstance(app.screen, ProfileScreen) and app.screen.profile is not None
        assert last is not None and app.screen.profile.customer.id == last.row.id


async def test_one_follow_up_form_serves_each_follow_up(make_app: AppFactory) -> None:
    """The app keeps its follow-up form: the next follow-up, for another customer,
    starts on an empty form for that customer, without the errors or text of the last,
    and the form follows a language switch made while it was away."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FollowUpScreen) and form.customer is not None
        first = form.customer.id
        await pilot.press(*"电话", "ctrl+s")  # nothing discussed: refused
        await settle(pilot)
        assert form.query_one("#error-content", Label).display
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        await pilot.press("f2", "down", "l")
        await settle(pilot)
        assert app.screen is form and form.customer is not None and form.customer.id != first
        assert form.values()["method"] == "" and form.values()["date"] == "2024-03-25"
        assert not form.query_one("#error-content", Label).display
        assert "日期" in str(form.query_one("#label-date", Label).render())


async def test_a_long_history_lists_the_latest_follow_ups_and_m_lists_them_all(
        app_db: Path, make_app: AppFactory) -> None:
    """A customer followed up for years opens with the latest follow-ups and says how
    many earlier ones there are; m lists every one."""
    from tuicrm.core.models import FollowUp
    from tuicrm.tui.screens.profile import LATEST_FOLLOWUPS

    with Store(app_db) as store:
        customer = store.customer_by_name("A科技有限公司")
        assert customer is not None and customer.id is not None
        for day in range(1, 41):
            store.add_followup(customer.id, FollowUp.parse({
                "date": f"2023-{1 + day % 12:02d}-{1 + day % 28:02d}", "method": "电话",
                "content": f"例行回访 {day}"}), user=USER)
        count = store.followup_count(customer.id)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_a_keji(pilot)
        screen = app.screen
        assert isinstance(screen, ProfileScreen) and screen.profile is not None
        assert len(screen.profile.followups) == LATEST_FOLLOWUPS
        body = str(screen.query_one("#profile-body", Static).render())
        assert f"… {count - LATEST_FOLLOWUPS} earlier follow-ups: m lists them all" in body
        await pilot.press("m")
        await settle(pilot)
        assert len(screen.profile.followups) == count
        assert "earlier follow-ups" not in str(screen.query_one("#profile-body",
                                                                 Static).render())
        await pilot.press("escape", "enter")  # the next opening lists the latest again
        await settle(pilot)
        assert app.screen is screen and len(screen.profile.followups) == LATEST_FOLLOWUPS


@pytest.mark.parametrize(("keys", "stack", "search", "typed"), [
    # The search's Enter moves to the list, the next opens the profile, l the form.
    (("slash", *"keji", "enter", "enter", "l", *"hi"),
     [CustomersScreen, ProfileScreen, FollowUpScreen], "keji", "hi"),
    # l right after the search's Enter logs for the first match, once it is listed.
    (("slash", *"keji", "enter", "l", *"hi"),
     [CustomersScreen, FollowUpScreen], "keji", "hi"),
    # l on the list opens the form; what follows is typed into it.
    (("l", *"hi"), [CustomersScreen, FollowUpScreen], "", "hi"),
    # Enter opens the profile; Escape there goes back; j moves the list's cursor.
    (("enter", "escape", "j"), [CustomersScreen], "", None),
])
async def test_a_burst_of_keys_goes_where_each_key_leads(
        make_app: AppFactory, keys: tuple[str, ...], stack: list[type], search: str,
        typed: str | None) -> None:
    """Keys arriving in one burst (a paste, a fast typist over SSH) act as if typed one
    after another: each goes to where the keys before it led, not to the widget that had
    the focus when the burst came."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        burst(app, *keys)
        await settle(pilot)
        assert [type(screen) for screen in app.screen_stack[1:]] == stack
        customers = app.screen_stack[1]
        assert customers.query_one("#search", Input).value == search
        if typed is not None:
            focused = app.screen.focused
            assert isinstance(focused, Input | TextArea)
            assert (focused.value if isinstance(focused, Input) else focused.text) == typed
        else:
            assert customers.query_one(CustomerTable).cursor == 1


async def test_a_burst_after_moving_opens_the_row_moved_to(make_app: AppFactory) -> None:
    """``jj`` then Enter and ``l`` in one burst log a follow-up for the third row: the
    cursor has moved before Enter acts on it."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        third = app.screen.query_one(CustomerTable).rows.get(2)
        assert third is not None
        burst(app, "j", "j", "enter", "l")
        await settle(pilot)
        assert isinstance(app.screen, FollowUpScreen)
        assert app.screen.customer_id == third.row.id


async def test_l_on_an_empty_list_lets_the_next_keys_through(make_app: AppFactory) -> None:
    """Nothing matches: l has no customer to log for, and what is typed next goes on."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"zzzq", "enter")
        await settle(pilot)
        assert names(app) == []
        burst(app, "l", "slash", "x")
        await settle(pilot)
        assert [type(screen) for screen in app.screen_stack[1:]] == [CustomersScreen]
        # / on the list selects the search text, which x then replaces.
        assert app.screen.query_one("#search", Input).value == "x"
        assert app._held_keys is None
