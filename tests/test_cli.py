"""The look-up commands: find, show, log, seed, gen, exit codes and help."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tuicrm.cli import cli


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    path = tmp_path / "x.db"
    result = CliRunner().invoke(cli, ["--db", str(path), "--today", "2024-03-01", "seed"])
    assert result.exit_code == 0, result.output
    return path


def run(*args: str, env: dict[str, str] | None = None) -> click.testing.Result:
    return CliRunner().invoke(cli, list(args), env=env)


def test_find_lists_both_keji_companies(seeded: Path) -> None:
    for result in (run("--db", str(seeded), "find", "科技", "--json"),
                   run("find", "科技", "--json", env={"TUICRM_DB": str(seeded)})):
        assert result.exit_code == 0, result.output
        names = [row["name"] for row in json.loads(result.output)]
        assert names[:2] == ["科技有限公司", "A科技有限公司"] or {
            "科技有限公司", "A科技有限公司"} <= set(names)


@pytest.mark.parametrize("query", ["akj", "keji", "AKJ", "ａｋｊ"])
def test_find_by_pinyin(seeded: Path, query: str) -> None:
    result = run("--db", str(seeded), "find", query)
    assert result.exit_code == 0
    assert "A科技有限公司" in result.output


def test_find_with_no_match_exits_1(seeded: Path) -> None:
    result = run("--db", str(seeded), "find", "没有这家公司")
    assert result.exit_code == 1


def test_show_json_carries_the_whole_profile(seeded: Path) -> None:
    result = run("--db", str(seeded), "--today", "2024-03-01", "show", "B商贸公司", "--json")
    assert result.exit_code == 0, result.output
    profile = json.loads(result.output)
    assert profile["contacts"][0]["name"] == "王经理"
    assert profile["followups"][0]["date"] == "2024-02-18"
    assert profile["plans"][0]["customer_type"] == "常规跟进型"
    assert {"dimension": "value", "value": "中价值"}.items() <= next(
        t for t in profile["tags"] if t["dimension"] == "value").items()


def test_show_nobody_exits_1_with_a_message(seeded: Path) -> None:
    result = run("--db", str(seeded), "show", "nobody")
    assert result.exit_code == 1
    assert "no customer named 'nobody'" in result.output


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    result = run("--db", str(tmp_path / "none.db"), "find", "x")
    assert result.exit_code == 1
    assert "tuicrm init" in result.output


def test_usage_errors_exit_2(seeded: Path) -> None:
    assert run("--db", str(seeded), "find").exit_code == 2
    assert run("--db", str(seeded), "no-such-command").exit_code == 2


def test_log_adds_a_followup_with_todos(seeded: Path) -> None:
    result = run("--db", str(seeded), "--today", "2024-03-01", "--user", "经理", "log",
                 "A科技有限公司", "--method", "电话", "--content", "确认预算",
                 "--todo", "发报价单@2024-03-05", "--next", "2024-03-08")
    assert result.exit_code == 0, result.output
    assert "next due 2024-03-08" in result.output
    shown = json.loads(run("--db", str(seeded), "show", "A科技有限公司", "--json").output)
    assert shown["followups"][0]["content"] == "确认预算"
    assert any(t["text"] == "发报价单" and t["due"] == "2024-03-05" for t in shown["todos"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2024-13-01"], "date: '2024-13-01' is not a date"),
        (["--todo", "发报价单@明天"], "todos.0.due: '明天' is not a date"),
        (["--content", ""], "content:"),
    ],
)
def test_log_refuses_bad_input_naming_the_field(seeded: Path, args: list[str],
                                                message: str) -> None:
    base = ["--db", str(seeded), "log", "A科技有限公司", "--method", "电话", "--content", "x"]
    result = run(*base, *args)
    assert result.exit_code == 1
    assert message in result.output


def test_gen_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    names = []
    for name in ("a.db", "b.db"):
        path = str(tmp_path / name)
        assert run("--db", path, "--today", "2024-03-01", "gen", "--customers", "50",
                   "--seed", "3").exit_code == 0
        names.append(run("--db", path, "find", "公司", "--limit", "50", "--json").output)
    assert names[0] == names[1]


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
    return found


@pytest.mark.parametrize("command", _commands(cli))
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output
