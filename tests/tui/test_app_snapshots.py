"""Snapshots of every screen at 80×24, on fixed demo data and a fixed day."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input
from waiting import settle

from tuicrm.tui.app import TuiCrmApp

AppFactory = Callable[..., TuiCrmApp]
SIZE = (80, 24)


def keys(*presses: str) -> Callable[[Pilot[None]], Any]:
    """A run_before that settles, presses keys one by one, settling after each."""

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        for key in presses:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def test_list(snap_compare: Any, make_app: AppFactory) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=keys("down", "down"))


def test_list_search_in_chinese(snap_compare: Any, make_app: AppFactory) -> None:
    assert snap_compare(make_app(language="zh"), terminal_size=SIZE,
                        run_before=keys("slash", "科", "技", "enter"))


def test_list_mine_overdue(snap_compare: Any, make_app: AppFactory) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=keys("m", "d"))


def test_profile(snap_compare: Any, make_app: AppFactory) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE,
                        run_before=keys("slash", "a", "k", "j", "enter", "enter", "w"))


def saved_with(form_key: str, field: str, value: str) -> Callable[[Pilot[None]], Any]:
    """A run_before: open A科技有限公司's profile, a form with ``form_key``, type
    ``value`` into ``field`` and save."""

    async def run_before(pilot: Pilot[None]) -> None:
        await keys("slash", "a", "k", "j", "enter", "enter", form_key)(pilot)
        pilot.app.screen.query_one(f"#field-{field}", Input).value = value
        await pilot.press("ctrl+s")
        await settle(pilot)

    return run_before


@pytest.mark.parametrize(("form_key", "field", "value"), [
    ("l", "date", "2024-13-45"),  # the follow-up form
    ("e", "annual_amount", "很多"),  # the customer edit form
], ids=["follow_up_form_errors", "edit_customer_errors"])
def test_form_errors(snap_compare: Any, make_app: AppFactory, form_key: str, field: str,
                     value: str) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE,
                        run_before=saved_with(form_key, field, value))


def test_unsaved_input_prompt(snap_compare: Any, make_app: AppFactory) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE,
                        run_before=keys("l", "x", "escape"))


def test_board(snap_compare: Any, make_app: AppFactory) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=keys("b", "right"))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_help(snap_compare: Any, make_app: AppFactory, language: str) -> None:
    assert snap_compare(make_app(language=language), terminal_size=SIZE,
                        run_before=keys("question_mark"))
