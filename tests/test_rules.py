"""Reading the rules file: defaults, overrides, and refusing broken files."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tuicrm.core.rules import (
    DEFAULT_RULES_PATH,
    RulesError,
    default_rules,
    load_rules,
    parse_rules,
    rules_toml,
    write_default_rules,
)


def test_defaults_follow_the_product_brief() -> None:
    rules = default_rules()
    assert (rules.value.high_min, rules.value.mid_min) == (500_000, 100_000)
    assert rules.nurture.months == 3
    assert rules.followup.late_after_hours == 24
    assert rules.tier_scheme == "value"
    assert rules.playbook.high.owner_role == "销售经理"
    assert rules.playbook.mid.cadence_days == 14
    assert rules.playbook.churn_risk.owner_role == "客服组"
    assert rules.playbook.nurture.cadence_days > rules.playbook.potential.cadence_days


def test_every_default_is_commented() -> None:
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    for section in tomllib.loads(text):
        if section in ("tier_scheme", "playbook"):
            continue
        header = f"[{section}]"
        following = text.split(header, 1)[1].split("[", 1)[0]
        assert "#" in following, f"{header} has no comment"


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    assert load_rules(tmp_path / "rules.toml") == default_rules()


def test_a_file_overrides_only_what_it_says(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("[value]\nhigh_min = 800_000\n\n[playbook.mid]\ncadence_days = 7\n",
                    encoding="utf-8")
    rules = load_rules(path)
    assert rules.value.high_min == 800_000
    assert rules.value.mid_min == 100_000
    assert rules.playbook.mid.cadence_days == 7
    assert rules.playbook.mid.channel == "电话"
    assert rules.fingerprint() != default_rules().fingerprint()


@pytest.mark.parametrize(("text", "message"), [
    ("[value\nhigh_min = 1\n", "at line 1"),
    ("[value]\nhigh_min = 1\nhigh_min = 2\n", "at line 3"),
    ("[value]\nhigh_min = \"lots\"\n", "value.high_min: Input should be a valid integer"),
    ("[value]\nhigh_min = -1\n", "value.high_min: Input should be greater than or equal to 0"),
    ("[value]\nhigh_min = 50_000\n", "value: mid_min 100000 is above high_min 50000"),
    ("[value]\nhihg_min = 1\n", "value.hihg_min: is not a rules key"),
    ("tier_scheme = \"abc\"\n", "tier_scheme: Input should be 'value', 'grade', 'vip'"),
    ("[playbook.mid]\ncadence_days = 0\n", "playbook.mid.cadence_days"),
    ("[lifecycle]\nchurned_days = 10\n", "churned_days 10 is below dormant_days 180"),
    ("[churn_risk]\nstatuses = \"待挽回\"\n", "churn_risk.statuses: Input should be a valid list"),
])
def test_broken_rules_are_refused_with_where_and_why(tmp_path: Path, text: str,
                                                     message: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_effective_rules_print_as_toml_that_reads_back() -> None:
    rules = parse_rules({"tier_scheme": "matrix", "value": {"high_min": 700_000}})
    assert parse_rules(tomllib.loads(rules_toml(rules))) == rules


def test_write_default_rules_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    write_default_rules(path)
    assert load_rules(path) == default_rules()
    with pytest.raises(FileExistsError):
        write_default_rules(path)
