"""Several reps on one database: the conflict dialog, role rules, noticing others' saves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static
from waiting import settle

from tuicrm.core.permissions import Actor
from tuicrm.core.store import Store, team
from tuicrm.tui.app import TuiCrmApp
from tuicrm.tui.screens.base import CrmScreen
from tuicrm.tui.screens.conflict import ConflictScreen
from tuicrm.tui.screens.profile import ProfileScreen

AppFactory = Callable[..., TuiCrmApp]
USER = "经理"
OTHER = "主管"
REP = "顾问"


@pytest.fixture
def team_db(app_db: Path) -> Path:
    """The demo database with a second manager and a rep besides 经理."""
    with Store(app_db) as store:
        boss = team.actor(store, USER)  # the first user becomes the manager
        team.add_user(store, boss, OTHER, "manager")
        team.add_user(store, boss, REP, "rep")
    return app_db


async def edit(pilot: Pilot[None], text: str) -> None:
    """Press ``e`` on the profile, set ``field = value`` in the form, save."""
    field, _, value = text.partition("=")
    await pilot.press("e")
    await settle(pilot)
    pilot.app.screen.query_one(f"#field-{field.strip()}", Input).value = value.strip()
    await pilot.press("ctrl+s")
    await settle(pilot)


def status_of(path: Path, customer_id: int = 1) -> str:
    with Store(path) as store:
        return store.customer(customer_id).status


@pytest.mark.parametrize("choice", ["overwrite", "reload"])
async def test_second_save_shows_the_conflict_dialog(make_app: AppFactory, team_db: Path,
                                                     choice: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # The second rep must not notice the first save by polling before pressing save
    # (that would be right, but on a slow machine it would turn this test into a race).
    monkeypatch.setattr(CrmScreen, "POLL_SECONDS", 3600.0)
    first, second = make_app(user=USER), make_app(user=OTHER)
    async with first.run_test(size=(80, 24)) as one, \
            second.run_test(size=(80, 24)) as two:
        for pilot in (one, two):
            await settle(pilot)
            # Through the app's own queue: with two apps running, a screen made here
            # would take the other app as its own.
            pilot.app.call_later(pilot.app.open_profile, 1)
            await settle(pilot)
        await edit(one, "status = 待谈判")
        assert status_of(team_db) == "待谈判"
        await edit(two, "status = 已成交")
        dialog = second.screen
        assert isinstance(dialog, ConflictScreen)
        shown = str(dialog.query_one("#conflict-fields", Static).render())
        assert "status" in shown and "待谈判" in shown and "已成交" in shown
        assert USER in str(dialog.query_one(".dialog-title").render())
        assert status_of(team_db) == "待谈判"  # nothing saved behind the user's back
        await two.press("o" if choice == "overwrite" else "r")
        await settle(two)
        assert isinstance(second.screen, ProfileScreen)
        expected = "已成交" if choice == "overwrite" else "待谈判"
        assert status_of(team_db) == expected
        profile = second.screen.profile
        assert profile is not None and profile.customer.status == expected
        # The first app notices the second one's save without a key pressed (called
        # through its own queue: with two apps, a direct call would see the other one).
        first.call_later(first.screen.look_for_changes)
        await one.pause()
        await settle(one)
        profile = first.screen.profile
        assert isinstance(first.screen, ProfileScreen)
        assert profile is not None and profile.customer.status == expected
        if choice == "overwrite":
            assert any(OTHER in str(n.message) for n in first._notifications)


async def test_overwrite_over_a_third_save_conflicts_again(make_app: AppFactory,
                                                           team_db: Path) -> None:
    app = make_app(user=OTHER)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_profile(1)
        await settle(pilot)
        with Store(team_db) as store:
            team.edit_customer(store, Actor(USER, "manager"), 1, {"status": "待谈判"})
        await edit(pilot, "status = 已成交")
        assert isinstance(app.screen, ConflictScreen)
        with Store(team_db) as store:
            team.edit_customer(store, Actor(USER, "manager"), 1, {"status": "培育中"})
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, ConflictScreen)  # shown again, with 培育中
        assert "培育中" in str(app.screen.query_one("#conflict-fields", Static).render())
        await pilot.press("escape")
        await settle(pilot)
        assert status_of(team_db) == "培育中"


async def test_a_rep_editing_someone_elses_customer_is_told_why(
        make_app: AppFactory, team_db: Path) -> None:
    app = make_app(user=REP)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_profile(1)
        await settle(pilot)
        before = status_of(team_db)
        await edit(pilot, "status = 已成交")
        assert app.is_running and isinstance(app.screen, ProfileScreen)
        assert any("reps edit the customers they own" in str(n.message)
                   for n in app._notifications)
        assert status_of(team_db) == before
        await pilot.press("a", *"关系:紧密", "enter")
        await settle(pilot)
        assert sum("reps edit the customers they own" in str(n.message)
                   for n in app._notifications) == 2


async def test_someone_not_a_user_is_told_so(make_app: AppFactory, team_db: Path) -> None:
    app = make_app(user="路人")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_profile(1)
        await settle(pilot)
        await edit(pilot, "status = 已成交")
        assert any("not a user of this database" in str(n.message)
                   for n in app._notifications)


async def test_the_list_notices_others_saves(make_app: AppFactory, team_db: Path) -> None:
    from tuicrm.tui.widgets.customer_table import CustomerTable

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.screen.look_for_changes()  # nothing changed: nothing to do
        await settle(pilot)
        with Store(team_db) as store:
            team.edit_customer(store, Actor(OTHER, "manager"), 1, {"status": "已流失"})
        app.screen.look_for_changes()
        await settle(pilot)
        table = app.screen.query_one(CustomerTable)
        rows = {listed.row.id: listed.row for listed in table.rows.values()}
        assert rows[1].status == "已流失"
