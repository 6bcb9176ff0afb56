"""The segmentation rules, applied in SQL: tiers, lanes, lifecycle, due dates, history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tuicrm.core.models import Customer, FollowUp, Tag
from tuicrm.core.rules import Rules, default_rules, parse_rules
from tuicrm.core.seed import demo_records, load_demo
from tuicrm.core.store import Store
from tuicrm.core.store.segments import compare, due, make_segmenter, segment

D = dt.date.fromisoformat


def open_store(path: Path, today: str, rules: Rules | None = None) -> Store:
    """A store that segments as of ``today`` under ``rules`` (the defaults)."""
    return Store(path, segmenter=make_segmenter(rules or default_rules(), D(today)))


@pytest.fixture
def template(db_path: Path) -> Iterator[Store]:
    """The template's customers, segmented as of 2024-03-01."""
    with open_store(db_path, "2024-03-01") as store:
        load_demo(store, generated=0)
        yield store


def add(store: Store, name: str = "测试公司", followups: tuple[str, ...] = (),
        **facts: Any) -> Customer:
    """Add a customer with these facts (and follow-ups on these dates); return it as
    the rules left it."""
    customer_id = store.add_customer(Customer.parse({"name": name, **facts}))
    for date in followups:
        store.add_followup(customer_id, FollowUp.parse(
            {"date": date, "method": "电话", "content": "回访",
             "entered_at": f"{date}T10:00:00+00:00"}))
    return store.customer(customer_id)


def tags_of(store: Store, customer: Customer) -> dict[str, Tag]:
    return {t.dimension: t for t in store.tags(customer.id or 0)}


# -- the template's five -------------------------------------------------------------------

@pytest.mark.parametrize(("name", "tier"), [
    ("A科技有限公司", "高价值"),
    ("B商贸公司", "中价值"),
    ("C个体工作室", "潜力"),
    ("D集团", "高价值"),
    ("E建材公司", "流失风险"),
])
def test_template_customers_get_the_labels_their_authors_gave(template: Store, name: str,
                                                              tier: str) -> None:
    assert template.customer_by_name(name).tier == tier


def test_template_labels_are_not_stored_with_the_demo_data() -> None:
    for record in demo_records():
        assert not {"tier", "tags", "segment", "lifecycle"} & set(record["customer"])


def test_long_decision_cycle_is_not_churn_risk(template: Store) -> None:
    d = template.customer_by_name("D集团")
    assert d.last_deal_date == D("2023-09-30")  # five months before 2024-03-01
    assert "lane" not in tags_of(template, d)


def test_c_moves_to_long_term_nurture_by_april(db_path: Path) -> None:
    with open_store(db_path, "2024-04-10") as store:
        load_demo(store, generated=0)
        c = store.customer_by_name("C个体工作室")
        assert c.tier == "长期培育"
        assert c.strategy == "长期培育型"
        assert c.cadence_days == 90
        assert tags_of(store, c)["lane"].reason == (
            "no deal 3 months after first contact on 2024-01-05")


def test_value_tag_says_why(template: Store) -> None:
    value = tags_of(template, template.customer_by_name("A科技有限公司"))["value"]
    assert str(value) == "value:高价值"
    assert value.source == "rule"
    assert value.reason == "annual purchases 800,000 (total 800,000 over 1.0 years) ≥ 500,000"


# -- value tier ------------------------------------------------------------------------------

@pytest.mark.parametrize(("facts", "tier"), [
    ({"annual_amount": 500_000, "total_amount": 10}, "高价值"),
    ({"annual_amount": 499_999, "total_amount": 9_000_000}, "中价值"),
    ({"annual_amount": 100_000}, "中价值"),
    ({"annual_amount": 99_999}, "潜力"),
    ({"annual_amount": 0}, "潜力"),
    ({"total_amount": 0}, "潜力"),
    # total over years of cooperation, at least one year
    ({"total_amount": 600_000, "first_deal_date": "2023-12-01"}, "高价值"),
    ({"total_amount": 1_200_000, "first_deal_date": "2021-03-01"}, "中价值"),
    ({"total_amount": 1_510_000, "first_deal_date": "2021-03-01"}, "高价值"),
    # a first deal after the as-of date still counts as one year
    ({"total_amount": 500_000, "first_deal_date": "2025-01-01"}, "高价值"),
])
def test_value_tier_by_annual_purchases(db_path: Path, facts: dict[str, Any],
                                        tier: str) -> None:
    with open_store(db_path, "2024-03-01") as store:
        facts.setdefault("last_deal_date", "2024-02-01")
        assert add(store, followups=("2024-02-20",), **facts).tier == tier


@pytest.mark.parametrize(("today", "tier"), [
    # 2,000,000 since 2020-02-29: exactly four years (1461 days) on the next leap day.
    ("2024-02-29", "高价值"),
    ("2024-03-01", "中价值"),
])
def test_years_of_cooperation_over_leap_days(db_path: Path, today: str, tier: str) -> None:
    with open_store(db_path, today) as store:
        customer = add(store, total_amount=2_000_000, first_deal_date="2020-02-29",
                       last_deal_date="2024-02-01", followups=("2024-02-20",))
        assert customer.tier == tier


# -- long-term nurture, churn risk, lifecycle ---------------------------------------------------

@pytest.mark.parametrize(("first_contact", "today", "tier"), [
    ("2024-01-05", "2024-04-04", "潜力"),
    ("2024-01-05", "2024-04-05", "长期培育"),  # exactly three months
    ("2023-11-29", "2024-02-28", "潜力"),
    ("2023-11-29", "2024-02-29", "长期培育"),  # three months land on a leap day
    # 2023-11-30 + 3 months is "2024-02-30", which SQLite rolls over to 2024-03-01
    ("2023-11-30", "2024-02-29", "潜力"),
    ("2023-11-30", "2024-03-01", "长期培育"),
])
def test_potential_customer_without_deal_goes_to_nurture_after_three_months(
        db_path: Path, first_contact: str, today: str, tier: str) -> None:
    with open_store(db_path, today) as store:
        customer = add(store, first_contact_date=first_contact, total_amount=30_000)
        assert customer.tier == tier


def test_a_deal_keeps_a_potential_customer_out_of_nurture(db_path: Path) -> None:
    with open_store(db_path, "2024-06-01") as store:
        customer = add(store, first_contact_date="2024-01-05", last_deal_date="2024-05-01",
                       total_amount=30_000)
        assert customer.tier == "潜力"


@pytest.mark.parametrize(("facts", "followups", "in_lane"), [
    ({"status": "待挽回", "last_deal_date": "2024-02-01"}, ("2024-02-25",), True),
    ({"status": "已流失"}, (), True),
    # no deal for 180 days and no contact for 90: at risk
    ({"last_deal_date": "2023-09-03"}, ("2023-12-02",), True),
    # ... but one day short on either count is not
    ({"last_deal_date": "2023-09-04"}, ("2023-12-02",), False),
    ({"last_deal_date": "2023-09-03"}, ("2023-12-03",), False),
    # an old deal with regular contact (D集团) is not
    ({"last_deal_date": "2023-09-30"}, ("2024-02-25",), False),
    # no deal ever is a prospect, not a churn risk
    ({}, (), False),
    ({"last_deal_date": "2023-01-01"}, (), True),
])
def test_churn_risk_lane(db_path: Path, facts: dict[str, Any], followups: tuple[str, ...],
                         in_lane: bool) -> None:
    with open_store(db_path, "2024-03-01") as store:
        customer = add(store, total_amount=200_000, followups=followups, **facts)
        assert (customer.tier == "流失风险") is in_lane
        assert (customer.strategy == "挽回型") is in_lane


@pytest.mark.parametrize(("facts", "lifecycle"), [
    ({}, "潜在"),
    ({"first_deal_date": "2024-01-05"}, "潜在"),  # a first date but no deal made
    ({"first_deal_date": "2023-03-03", "last_deal_date": "2024-02-01"}, "新客户"),
    # 365 days before 2024-03-01 (a leap year's February in between)
    ({"first_deal_date": "2023-03-02", "last_deal_date": "2024-02-01"}, "老客户"),
    ({"first_deal_date": "2022-01-01", "last_deal_date": "2023-09-04"}, "老客户"),
    ({"first_deal_date": "2022-01-01", "last_deal_date": "2023-09-03"}, "休眠"),
    ({"first_deal_date": "2020-01-01", "last_deal_date": "2022-09-08"}, "流失"),
    ({"last_deal_date": "2024-02-01", "status": "已流失"}, "流失"),
])
def test_lifecycle(db_path: Path, facts: dict[str, Any], lifecycle: str) -> None:
    with open_store(db_path, "2024-03-01") as store:
        assert add(store, **facts).lifecycle == lifecycle


# -- due dates ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("facts", "followups", "next_due"), [
    # mid value: every 14 days from the last follow-up
    ({"annual_amount": 200_000}, ("2024-01-01", "2024-02-20"), "2024-03-05"),
    # no follow-up yet: due a cadence after first contact
    ({"annual_amount": 200_000, "first_contact_date": "2024-02-01"}, (), "2024-02-15"),
    # a date a rep set, later than the last follow-up, wins
    ({"annual_amount": 200_000, "next_due_manual": "2024-04-01"}, ("2024-02-20",),
     "2024-04-01"),
    # high value over a leap day: 30 days after 2024-02-10
    ({"annual_amount": 900_000}, ("2024-02-10",), "2024-03-11"),
])
def test_next_due(db_path: Path, facts: dict[str, Any], followups: tuple[str, ...],
                  next_due: str) -> None:
    with open_store(db_path, "2024-03-01") as store:
        facts.setdefault("last_deal_date", "2024-02-01")
        assert add(store, followups=followups, **facts).next_due == D(next_due)


def test_a_follow_up_moves_the_due_date_at_once(db_path: Path) -> None:
    with open_store(db_path, "2024-03-01") as store:
        customer = add(store, annual_amount=200_000, last_deal_date="2024-02-01",
                       followups=("2024-02-01",))
        assert customer.next_due == D("2024-02-15")
        store.add_followup(customer.id or 0, FollowUp.parse(
            {"date": "2024-02-28", "method": "电话", "content": "回访",
             "next_date": "2024-03-08"}))
        assert store.customer(customer.id or 0).next_due == D("2024-03-08")
        store.add_followup(customer.id or 0, FollowUp.parse(
            {"date": "2024-03-09", "method": "电话", "content": "回访"}))
        # the rep's date is past: back to the cadence
        assert store.customer(customer.id or 0).next_due == D("2024-03-23")


def test_due_lists_overdue_first(template: Store) -> None:
    total, overdue, rows = due(template, D("2024-03-01"), within_days=7)
    assert (total, overdue) == (2, 1)
    assert [(r.name, r.overdue_days) for r in rows] == [("E建材公司", 8), ("B商贸公司", -2)]
    assert due(template, D("2024-03-01"), owner="顾问", within_days=7)[0] == 1


# -- 24-hour rule ------------------------------------------------------------------------------

@pytest.mark.parametrize(("entered_at", "late"), [
    ("2024-02-20T23:00:00+00:00", False),
    ("2024-02-21T23:59:00+00:00", False),   # within 24 h of the end of the day
    ("2024-02-22T00:01:00+00:00", True),
    ("2024-02-25T09:00:00+00:00", True),
])
def test_follow_up_entered_late_is_flagged(db_path: Path, entered_at: str, late: bool) -> None:
    with open_store(db_path, "2024-03-01") as store:
        customer = add(store)
        store.add_followup(customer.id or 0, FollowUp.parse(
            {"date": "2024-02-20", "method": "电话", "content": "回访",
             "entered_at": entered_at}))
        assert ("record" in tags_of(store, customer)) is late


# -- manual tags and overrides win -------------------------------------------------------------

def test_manual_tag_replaces_the_computed_one_and_stays(template: Store) -> None:
    b = template.customer_by_name("B商贸公司")
    template.add_tag(b.id or 0, Tag.from_text("value:高价值", reason="集团采购即将并入"))
    template.resegment()
    value = tags_of(template, b)["value"]
    assert (value.value, value.source) == ("高价值", "manual")
    template.remove_tag(b.id or 0, Tag.from_text("value:高价值"))
    assert tags_of(template, b)["value"].value == "中价值"


def test_tier_override_wins_and_is_kept_in_history(template: Store) -> None:
    b = template.customer_by_name("B商贸公司")
    template.update_customer(b.id or 0, {"tier_override": "高价值",
                                         "tier_override_reason": "战略合作伙伴"})
    template.resegment()
    assert template.customer(b.id or 0).tier == "高价值"
    history = template.conn.execute(
        "SELECT old, new, reason FROM tier_history WHERE customer_id = ? AND kind = 'tier' "
        "ORDER BY id DESC LIMIT 1", [b.id]).fetchone()
    assert history == ("中价值", "高价值", "set by hand: 战略合作伙伴")


def test_tier_history_keeps_every_change(template: Store) -> None:
    b = template.customer_by_name("B商贸公司")
    template.update_customer(b.id or 0, {"total_amount": 600_000})
    rows = template.conn.execute(
        "SELECT kind, old, new, at, reason FROM tier_history WHERE customer_id = ? "
        "ORDER BY id", [b.id]).fetchall()
    assert rows[0] == ("tier", "", "中价值", "2024-03-01", "first segmentation")
    assert rows[-1] == ("tier", "中价值", "高价值", "2024-03-01",
                        "annual purchases 600,000 (total 600,000 over 1.0 years) ≥ 500,000")


# -- rules changes -----------------------------------------------------------------------------

def test_raising_a_threshold_moves_customers(template: Store) -> None:
    stricter = parse_rules({"value": {"mid_min": 200_000}})
    report = segment(template, stricter, D("2024-03-01"))
    assert report.moves == {("中价值", "潜力"): 1}
    assert template.customer_by_name("B商贸公司").tier == "潜力"


def test_what_if_changes_nothing(template: Store) -> None:
    before = template.conn.execute("SELECT id, tier, next_due FROM customers").fetchall()
    report = compare(template, default_rules(), parse_rules({"value": {"high_min": 950_000}}),
                     D("2024-03-01"))
    assert report.moves == {("高价值", "中价值"): 3}
    assert report.examples[("高价值", "中价值")] == ["A科技有限公司", "D集团", "科技有限公司"]
    assert template.conn.execute("SELECT id, tier, next_due FROM customers").fetchall() == before


@pytest.mark.parametrize(("scheme", "tiers"), [
    ("value", {"A科技有限公司": "高价值", "E建材公司": "流失风险"}),
    # A: high value, close, high potential, not urgent = 3 points
    ("grade", {"A科技有限公司": "B", "E建材公司": "D", "科技有限公司": "A"}),
    # A: amount 80·0.4 + categories 33.3·0.1 + potential 100·0.15 = 50.3
    ("vip", {"A科技有限公司": "B", "E建材公司": "C"}),
    ("matrix", {"A科技有限公司": "明星", "E建材公司": "长尾", "C个体工作室": "潜力"}),
])
def test_tier_schemes(template: Store, scheme: str, tiers: dict[str, str]) -> None:
    segment(template, parse_rules({"tier_scheme": scheme}), D("2024-03-01"))
    for name, tier in tiers.items():
        assert template.customer_by_name(name).tier == tier


def test_bulk_and_incremental_agree(db_path: Path) -> None:
    from tuicrm.core.gen import generate

    with open_store(db_path, "2024-03-01") as store:
        generate(store, 300, seed=3, end=D("2024-03-01"))
        bulk = store.conn.execute(
            "SELECT id, tier, lifecycle, strategy, next_due FROM customers ORDER BY id"
        ).fetchall()
        store.conn.execute("UPDATE customers SET tier = '', next_due = NULL")
        for customer_id, *_ in bulk:
            store.resegment([customer_id])
        again = store.conn.execute(
            "SELECT id, tier, lifecycle, strategy, next_due FROM customers ORDER BY id"
        ).fetchall()
        assert again == bulk
        assert len({row[1] for row in bulk}) == 5


def test_large_changes_rebuild_the_indexes_they_touch(
        db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tuicrm.core.gen import generate
    from tuicrm.core.store import segments

    def indexes(store: Store) -> list[tuple[str, str]]:
        return store.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'customers' ORDER BY name").fetchall()

    with open_store(db_path, "2024-03-01") as store:
        generate(store, 200, seed=5, end=D("2024-03-01"))
        before = indexes(store)
        expected = store.conn.execute("SELECT id, tier, next_due FROM customers").fetchall()
        store.conn.execute("UPDATE customers SET tier = '', next_due = NULL")
        monkeypatch.setattr(segments, "_REBUILD_INDEXES_FROM", 10)
        report = segment(store, default_rules(), D("2024-03-01"))
        assert report.changed == 200
        assert indexes(store) == before
        assert store.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert store.conn.execute("SELECT id, tier, next_due FROM customers").fetchall() == (
            expected)


def test_a_bare_customer_gets_tags_that_say_why(db_path: Path) -> None:
    with open_store(db_path, "2024-03-01") as store:
        customer = add(store, first_contact_date="2024-02-01")
        tags = {str(t): t.reason for t in store.tags(customer.id or 0)}
        assert tags == {
            "value:潜力": "annual purchases 0 (total 0 over 1.0 years) < 100,000",
            "lifecycle:潜在": "no deal yet",
            "strategy:常规跟进型": "playbook for 潜力: 销售专员, 邮件 every 30 days",
            "kind:enterprise": "kind in the profile",
        }
        assert (customer.tier, customer.next_due) == ("潜力", D("2024-03-02"))


@pytest.mark.parametrize("scheme", ["value", "grade", "vip", "matrix"])
def test_bulk_agrees_with_the_single_query(db_path: Path, scheme: str) -> None:
    """The bulk path's two passes decide exactly as the one query the tags come from."""
    import json

    from tuicrm.core.gen import generate
    from tuicrm.core.store.segments import _SCOPE_IDS, _classify_sql, rule_params

    rules = parse_rules({"tier_scheme": scheme})
    with open_store(db_path, "2024-03-01", rules) as store:
        generate(store, 300, seed=11, end=D("2024-03-01"))
        store.conn.execute("UPDATE customers SET tier_override = 'X' WHERE id % 50 = 0")
        segment(store, rules, D("2024-03-01"))
        columns = "id, tier, lifecycle, segment, strategy, cadence_days, next_due"
        stored = store.conn.execute(f"SELECT {columns} FROM customers ORDER BY id").fetchall()
        params = rule_params(rules, D("2024-03-01"))
        params["ids"] = json.dumps([row[0] for row in stored])
        single = store.conn.execute(
            f"SELECT {columns} FROM ({_classify_sql(rules, _SCOPE_IDS)}) ORDER BY id", params
        ).fetchall()
        assert single == stored
