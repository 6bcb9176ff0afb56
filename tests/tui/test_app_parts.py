"""The app's small parts: labels, locale, money, to-do lines, error fields, the CLI entry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from tuicrm.tui.labels import TEXT, Labels, language_from_environment, wan
from tuicrm.tui.screens.follow_up import field_of, parse_todos
from tuicrm.tui.widgets.customer_table import _runs


@pytest.mark.parametrize(("environ", "language"), [
    ({"LANG": "zh_CN.UTF-8"}, "zh"),
    ({"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    ({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({}, "en"),
])
def test_language_follows_the_locale(environ: dict[str, str], language: str) -> None:
    assert language_from_environment(environ) == language


def test_every_label_has_both_languages() -> None:
    assert all(english and chinese for english, chinese in TEXT.values())


def test_labels_switch() -> None:
    labels = Labels("en")
    assert labels("list.count", count="3") == "3 customers"
    labels.toggle()
    assert labels("list.count", count="3") == "3 位客户"
    assert labels("no.such.key") == "no.such.key"


@pytest.mark.parametrize(("yuan", "shown"), [
    (800_000, "80"), (15_500, "1.55"), (0, "0"), (None, "-"), (12_345_678, "1234.57"),
])
def test_wan(yuan: int | None, shown: str) -> None:
    assert wan(yuan) == shown


@pytest.mark.parametrize(("text", "todos"), [
    ("", []),
    ("发送报价 @2024-03-08", [{"text": "发送报价", "due": "2024-03-08", "owner": "王"}]),
    ("call back\n\n  mail the manual @ 2024-05-19 ",
     [{"text": "call back", "owner": "王"},
      {"text": "mail the manual", "due": "2024-05-19", "owner": "王"}]),
    ("@home", [{"text": "@home", "owner": "王"}]),
])
def test_parse_todos(text: str, todos: list[dict[str, Any]]) -> None:
    assert parse_todos(text, "王") == todos


@pytest.mark.parametrize(("message", "field"), [
    ("date: '2024-13-45' is not a date", "date"),
    ("todos.0.due: 'someday' is not a date", "todos"),
    ("the database is busy", "the database is busy"),
])
def test_field_of(message: str, field: str) -> None:
    assert field_of(message) == field


@pytest.mark.parametrize(("indexes", "runs"), [
    ([], []), ([4], [(4, 4)]), ([1, 2, 3, 7, 8], [(1, 3), (7, 8)]),
])
def test_runs(indexes: list[int], runs: list[tuple[int, int]]) -> None:
    assert _runs(indexes) == runs


def test_plain_tuicrm_opens_the_app_with_a_store_and_a_reader(
    monkeypatch: pytest.MonkeyPatch, app_db: Path,
) -> None:
    """The list reads through a light reader; everything else through the store, which
    carries the rules' segmenter. The list's first page was read while the app loaded."""
    from tuicrm import cli
    from tuicrm.core.listing import FirstPage, ListFilter, ListSort
    from tuicrm.core.reader import Reader
    from tuicrm.core.store import Store

    opened: dict[str, Any] = {}

    def fake_app(factory: Any, *, user: str, today: dt.date, reader_factory: Any,
                 first_page: FirstPage) -> Any:
        return SimpleNamespace(run=lambda: fake_run(
            factory, user=user, today=today, reader_factory=reader_factory,
            first_page=first_page))

    def fake_run(factory: Any, *, user: str, today: dt.date, reader_factory: Any,
                 first_page: FirstPage) -> None:
        page = first_page.rows(ListFilter(today=today), ListSort(), 3, wait=True)
        assert page is not None and len(page) == 3
        assert first_page.rows(ListFilter(text="A", today=today), ListSort(), 3) is None
        assert first_page.rows(ListFilter(today=today), ListSort(), 1000) is None
        with factory() as store, reader_factory() as reader:
            assert isinstance(store, Store) and store.segmenter is not None
            assert isinstance(reader, Reader)
            assert reader_factory() is not reader  # the read-ahead's reader, once
            opened.update(user=user, today=today, customers=store.customer_count(),
                          first=reader.rows_by_id([1])[0].name,
                          first_page=[listed.row.name for listed in page])

    monkeypatch.setattr("tuicrm.tui.app.TuiCrmApp", fake_app)
    result = CliRunner().invoke(cli.cli, ["--db", str(app_db), "--user", "王",
                                          "--today", "2024-03-25"])
    assert result.exit_code == 0, result.output
    assert opened == {"user": "王", "today": dt.date(2024, 3, 25), "customers": 9,
                      "first": "A科技有限公司",
                      "first_page": ["[@click=app.quit]x[/]", "Acme [/] Corp", "A科技有限公司"]}


def test_a_broken_rules_file_is_shown_in_the_app(
    monkeypatch: pytest.MonkeyPatch, app_db: Path,
) -> None:
    """The app opens (the list reads without the rules) and the store refuses with the
    rules file's line, for the app to show."""
    from tuicrm import cli
    from tuicrm.core.store import StoreError

    (app_db.parent / "rules.toml").write_text("[value\n", encoding="utf-8")
    refused: list[str] = []

    def fake_app(factory: Any, **_options: Any) -> Any:
        def run() -> None:
            with pytest.raises(StoreError) as raised:
                factory()
            refused.append(str(raised.value))

        return SimpleNamespace(run=run)

    monkeypatch.setattr("tuicrm.tui.app.TuiCrmApp", fake_app)
    result = CliRunner().invoke(cli.cli, ["--db", str(app_db)])
    assert result.exit_code == 0, result.output
    assert refused and refused[0].startswith("refusing the rules:") and "line 1" in refused[0]


def test_plain_tuicrm_without_a_database_says_so(tmp_path: Path) -> None:
    from tuicrm import cli

    result = CliRunner().invoke(cli.cli, ["--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1
    assert "no database" in result.output
