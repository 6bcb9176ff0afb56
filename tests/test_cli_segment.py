"""``tuicrm segment``, ``due``, ``rules`` and ``show`` through click's runner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tuicrm.cli import cli

TEMPLATE_TIERS = {
    "A科技有限公司": "高价值", "B商贸公司": "中价值", "C个体工作室": "潜力",
    "D集团": "高价值", "E建材公司": "流失风险",
}


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    """A database with the template's customers, loaded as of 2024-03-01."""
    from tuicrm.core.seed import load_demo
    from tuicrm.core.store import Store

    path = tmp_path / "crm.db"
    with Store(path) as store:
        load_demo(store, generated=0)
    return path


def run(db: Path, *args: str, today: str = "2024-03-01") -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), "--today", today, *args],
                              catch_exceptions=False)


@pytest.mark.parametrize(("today", "expected"), [
    ("2024-03-01", TEMPLATE_TIERS),
    ("2024-04-10", {**TEMPLATE_TIERS, "C个体工作室": "长期培育"}),
])
def test_segment_json_gives_the_template_tiers(demo_db: Path, today: str,
                                              expected: dict[str, str]) -> None:
    result = run(demo_db, "segment", "--json", today=today)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    tiers = {c["name"]: c["tier"] for c in data["customers_listed"]}
    assert {name: tiers[name] for name in expected} == expected
    assert data["as_of"] == today
    assert sum(data["tiers"].values()) == data["customers"] == 7


def test_segment_reports_moves(demo_db: Path) -> None:
    run(demo_db, "segment")
    result = run(demo_db, "segment", today="2024-04-10")
    assert "潜力 → 长期培育: 1" in result.stdout
    again = run(demo_db, "segment", today="2024-04-10")
    assert "0 changed" in again.stdout


def test_due_json(demo_db: Path) -> None:
    result = run(demo_db, "due", "--json", "--within", "7")
    data = json.loads(result.stdout)
    assert (data["due"], data["overdue"]) == (2, 1)
    first = data["customers"][0]
    assert (first["name"], first["overdue_days"], first["owner_role"]) == (
        "E建材公司", 8, "客服组")
    assert first["actions"]
    only = json.loads(run(demo_db, "due", "--json", "--owner", "经理", "--within", "30").stdout)
    assert {c["owner"] for c in only["customers"]} == {"经理"}


def test_due_text(demo_db: Path) -> None:
    result = run(demo_db, "due")
    assert result.exit_code == 0
    assert "overdue 8d" in result.stdout and "E建材公司" in result.stdout


def test_show_prints_each_computed_tag_with_its_reason(demo_db: Path) -> None:
    result = run(demo_db, "show", "A科技有限公司")
    assert "value:高价值 [rule]  (annual purchases 800,000" in result.stdout
    assert "strategy:战略维护型 [rule]  (playbook for 高价值" in result.stdout


def test_changing_a_threshold_moves_customers_on_the_next_command(demo_db: Path) -> None:
    run(demo_db, "segment")
    (demo_db.parent / "rules.toml").write_text("[value]\nmid_min = 200_000\n",
                                               encoding="utf-8")
    data = json.loads(run(demo_db, "due", "--json", "--within", "30").stdout)
    b = {c["name"]: c for c in data["customers"]}["B商贸公司"]
    assert (b["tier"], b["cadence_days"], b["next_due"]) == ("潜力", 30, "2024-03-19")


def test_broken_rules_file_is_refused_and_nothing_changes(demo_db: Path) -> None:
    run(demo_db, "segment")
    before = run(demo_db, "segment", "--json").stdout
    (demo_db.parent / "rules.toml").write_text("[value]\nmid_min = 200_000\n[value\n",
                                               encoding="utf-8")
    result = CliRunner().invoke(cli, ["--db", str(demo_db), "--today", "2024-03-01",
                                      "segment"])
    assert result.exit_code == 1
    assert "refusing the rules" in result.stderr and "at line 3" in result.stderr
    (demo_db.parent / "rules.toml").unlink()
    assert json.loads(run(demo_db, "segment", "--json").stdout)["changed"] == 0
    assert json.loads(before)["tiers"] == json.loads(
        run(demo_db, "segment", "--json").stdout)["tiers"]


def test_rules_prints_path_and_effective_rules(demo_db: Path) -> None:
    result = run(demo_db, "rules")
    assert f"# rules: {demo_db.parent / 'rules.toml'} (not there" in result.stdout
    assert "high_min = 500000" in result.stdout
    assert run(demo_db, "rules", "--init").exit_code == 0
    assert f"# rules: {demo_db.parent / 'rules.toml'}\n" in run(demo_db, "rules").stdout


def test_rules_check_shows_who_would_move(demo_db: Path, tmp_path: Path) -> None:
    new = tmp_path / "new.toml"
    new.write_text("[value]\nmid_min = 200_000\n", encoding="utf-8")
    result = run(demo_db, "rules", "--check", str(new))
    assert "1 would change tier" in result.stdout
    assert "中价值 → 潜力: 1  (B商贸公司)" in result.stdout
    assert "B商贸公司" in json.dumps(
        json.loads(run(demo_db, "rules", "--check", str(new), "--json").stdout),
        ensure_ascii=False)
    shown = json.loads(run(demo_db, "segment", "--json").stdout)
    assert {c["name"]: c["tier"] for c in shown["customers_listed"]}["B商贸公司"] == "中价值"


def test_rules_check_refuses_a_broken_file(demo_db: Path, tmp_path: Path) -> None:
    new = tmp_path / "new.toml"
    new.write_text("[value]\nhigh_min = 'x'\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--db", str(demo_db), "rules", "--check", str(new)])
    assert result.exit_code == 1
    assert "value.high_min" in result.stderr


@pytest.mark.parametrize("command", ["segment", "due", "rules"])
def test_commands_have_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert result.stdout.split("\n", 2)[2].strip()


def test_segmentation_commands_do_not_import_textual() -> None:
    code = (
        "import sys; import tuicrm.cli, tuicrm.cli_segment, tuicrm.core.rules, "
        "tuicrm.core.store.segments; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
