"""The review's figures on a small hand-built data set whose answers are written here.

Today is Wednesday 2024-03-27; the week runs 2024-03-25 – 2024-03-27; the quarter is
2024Q1. Customers (id: name, owner, segment):

1 甲 A potential  first contact 2024-03-26, no deal              → new, in the pool
2 乙 A mid        first deal 2024-02-10, last deal 2024-03-26   → deal, converted in Q1
3 丙 B high       first deal 2022-05-01, last deal 2024-01-15   → repurchased in Q1
4 丁 B churn_risk first deal 2022-06-01, last deal 2023-06-01   → not repurchased
5 戊 B potential  first contact 2023-06-01, no deal              → in the pool
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tuicrm.cli import cli
from tuicrm.core.models import Customer, FollowUp, StrategyPlan
from tuicrm.core.review import (
    Lesson,
    Review,
    add_lesson,
    build_review,
    customers_behind,
    find_lessons,
    last_quarters,
    quarter_of,
    week_of,
)
from tuicrm.core.rules import default_rules
from tuicrm.core.store import Store

TODAY = dt.date(2024, 3, 27)
WEEK = week_of(TODAY)

CUSTOMERS = [
    ("甲", "A", "potential", {"first_contact_date": "2024-03-26"}, None),
    ("乙", "A", "mid", {"first_contact_date": "2023-01-01", "first_deal_date": "2024-02-10",
                        "last_deal_date": "2024-03-26"}, "2024-03-30"),
    ("丙", "B", "high", {"first_contact_date": "2022-01-01", "first_deal_date": "2022-05-01",
                         "last_deal_date": "2024-01-15"}, "2024-03-20"),
    ("丁", "B", "churn_risk", {"first_contact_date": "2022-01-01",
                               "first_deal_date": "2022-06-01",
                               "last_deal_date": "2023-06-01"}, "2024-03-27"),
    ("戊", "B", "potential", {"first_contact_date": "2023-06-01"}, "2024-03-01"),
]


def _followup(store: Store, customer_id: int, date: str, owner: str, entered: str,
              satisfaction: int, feedback: str = "", todo_due: str | None = None,
              done_at: str | None = None) -> None:
    todos = [{"text": "answer", "due": todo_due}] if todo_due else []
    followup_id = store.add_followup(customer_id, FollowUp.parse({
        "date": date, "method": "电话", "content": "call", "owner": owner,
        "feedback": feedback, "satisfaction": satisfaction,
        "entered_at": dt.datetime.fromisoformat(entered), "todos": todos}))
    if done_at:
        store.conn.execute("UPDATE todos SET done = 1, done_at = ? WHERE followup_id = ?",
                           [done_at, followup_id])


def build(store: Store) -> None:
    """The data set of the module docstring."""
    for name, owner, segment, facts, _ in CUSTOMERS:
        customer_id = store.add_customer(Customer.parse({"name": name, "owner": owner,
                                                         **facts}))
        store.conn.execute("UPDATE customers SET segment = ? WHERE id = ?",
                           [segment, customer_id])
    # f1: on time, its problem answered the next morning (within 48 h).
    _followup(store, 2, "2024-03-25", "A", "2024-03-25T10:00:00", 5,
              todo_due="2024-03-26", done_at="2024-03-26T09:00:00")
    # f2: entered 25 h after its day ended (late); its problem still open, but 48 h have
    # not passed by the end of today; feedback unresolved.
    _followup(store, 3, "2024-03-25", "B", "2024-03-27T01:00:00", 3, feedback="价格太高",
              todo_due="2024-03-26")
    # f3: answered 51 h after entry: a problem not answered in time.
    _followup(store, 4, "2024-03-25", "B", "2024-03-25T09:00:00", 4,
              todo_due="2024-03-26", done_at="2024-03-27T12:00:00")
    # f4: last month, feedback with an open to-do.
    _followup(store, 5, "2024-02-01", "B", "2024-02-01T18:00:00", 2, feedback="no",
              todo_due="2024-02-10")
    for (_, _, _, _, next_due), customer_id in zip(CUSTOMERS, range(1, 6), strict=True):
        store.conn.execute("UPDATE customers SET next_due = ? WHERE id = ?",
                           [next_due, customer_id])
    store.conn.executemany(
        "INSERT INTO tier_history (customer_id, kind, old, new, at) VALUES (?, ?, ?, ?, ?)",
        [(3, "tier", "中价值", "高价值", "2024-03-26"),
         (4, "tier", "", "流失风险", "2024-03-25"),      # a first assignment: no move
         (4, "lifecycle", "老客户", "休眠", "2024-03-26"),
         (5, "tier", "潜力", "长期培育", "2024-03-10")])  # before the week
    store.add_plan(2, StrategyPlan.parse({"goal": "grow", "actions": [
        {"action": "on time", "deadline": "2024-03-10", "done": True, "done_on": "2024-03-09"},
        {"action": "late", "deadline": "2024-03-15", "done": True, "done_on": "2024-03-20"},
        {"action": "open", "deadline": "2024-03-20"},
        {"action": "next quarter", "deadline": "2024-05-01"},
    ]}))
    store.conn.executemany(
        "INSERT INTO audit (customer_id, user, at, action, field, old, new) "
        "VALUES (?, 'x', ?, 'update', 'total_amount', ?, ?)",
        [(3, "2024-02-15T10:00:00+00:00", "100000", "180000"),   # upsell: 80,000
         (2, "2024-02-10T10:00:00+00:00", "0", "50000"),          # first deal: not upsell
         (4, "2024-03-01T10:00:00+00:00", "300000", "250000")])   # a fall: not upsell


@pytest.fixture
def review(store: Store) -> Review:
    build(store)
    return build_review(store, default_rules(), start=WEEK[0], end=WEEK[1], today=TODAY)


@pytest.mark.parametrize(("key", "ids"), [
    ("new_customers", [1]),
    ("deals", [2]),
    ("tier_moves", [3]),
    ("lifecycle_moves", [4]),
    ("late_entries", [3]),
    ("overdue", [3, 5]),
    ("todos_past_due", [3, 5]),
    ("unanswered_problems", [4]),
])
def test_period_figure(review: Review, key: str, ids: list[int]) -> None:
    figure = review.period.figure(key)
    assert figure.customer_ids == ids
    assert figure.count == len(ids)


@pytest.mark.parametrize("dense_one_in", [0, 10**9])  # sort the range; walk by id
@pytest.mark.parametrize("key", [
    "new_customers", "deals", "tier_moves", "lifecycle_moves", "late_entries", "overdue",
    "todos_past_due", "unanswered_problems", "move:tier:中价值:高价值", "done:B", "due:B",
])
def test_customers_behind_pages_alike_either_way(store: Store, review: Review,
                                                 monkeypatch: pytest.MonkeyPatch, key: str,
                                                 dense_one_in: int) -> None:
    from tuicrm.core.store import review as sql

    rules = default_rules()
    everyone = customers_behind(store, rules, review.period, key, limit=100)
    monkeypatch.setattr(sql, "DENSE_ONE_IN", dense_one_in)
    paged: list[int] = []
    while page := customers_behind(store, rules, review.period, key,
                                   after=paged[-1] if paged else 0, limit=1):
        paged += page
    assert paged == everyone and everyone


def test_moves_matrix(review: Review) -> None:
    cells = [(m.kind, m.old, m.new, m.customer_ids) for m in review.period.moves]
    assert cells == [("lifecycle", "老客户", "休眠", [4]), ("tier", "中价值", "高价值", [3])]


def test_followups_done_vs_due_per_owner(store: Store, review: Review) -> None:
    def behind(key: str) -> list[int]:
        return customers_behind(store, default_rules(), review.period, key)

    owners = {o.owner: (behind(f"done:{o.owner}"), behind(f"due:{o.owner}"))
              for o in review.period.owners}
    assert owners == {"A": ([2], [2]), "B": ([3, 4], [3, 4, 5])}
    assert {o.owner: (o.done, o.due) for o in review.period.owners} == {"A": (1, 1),
                                                                         "B": (2, 3)}


@pytest.mark.parametrize(("metric", "value"), [
    ("conversion_rate", 1 / 3),
    ("repurchase_rate", 1 / 2),
    ("upsell_amount", 80_000),
    ("satisfaction", 3.5),
    ("strategy_completion_rate", 1 / 3),
    ("unresolved_feedback", 2),
])
def test_quarter_metric(review: Review, metric: str, value: float) -> None:
    current = review.quarterly.current
    assert current.name == "2024Q1"
    assert current.overall.value(metric) == pytest.approx(value)


@pytest.mark.parametrize(("group", "name", "metric", "value"), [
    ("segment", "potential", "conversion_rate", 0.0),
    ("segment", "mid", "conversion_rate", 1.0),
    ("segment", "high", "repurchase_rate", 1.0),
    ("segment", "churn_risk", "repurchase_rate", 0.0),
    ("segment", "mid", "strategy_completion_rate", 1 / 3),
    ("owner", "B", "satisfaction", 3.0),
    ("owner", "A", "satisfaction", 5.0),
    ("owner", "B", "unresolved_feedback", 2),
    ("owner", "B", "upsell_amount", 80_000),
])
def test_quarter_metric_by_group(review: Review, group: str, name: str, metric: str,
                                 value: float) -> None:
    current = review.quarterly.current
    table = current.by_segment if group == "segment" else current.by_owner
    assert table[name].value(metric) == pytest.approx(value)


def test_trend_of_the_previous_quarter(review: Review) -> None:
    names = [q.name for q in review.quarterly.quarters]
    assert names == ["2023Q2", "2023Q3", "2023Q4", "2024Q1"]
    q4 = review.quarterly.quarters[2].overall
    assert (q4.pool, q4.converted, q4.base, q4.repurchased) == (2, 0, 2, 0)


def test_problems_and_plan_name_the_misses(review: Review) -> None:
    assert any(p.startswith("Satisfaction (1–5) overall: 3.5") for p in review.problems)
    assert "Record follow-ups the same day (24-hour rule)." in review.plan


@pytest.mark.parametrize(("day", "quarter"), [
    (dt.date(2024, 3, 27), (dt.date(2024, 1, 1), dt.date(2024, 3, 31))),
    (dt.date(2024, 12, 31), (dt.date(2024, 10, 1), dt.date(2024, 12, 31))),
    (dt.date(2024, 5, 1), (dt.date(2024, 4, 1), dt.date(2024, 6, 30))),
])
def test_quarter_of(day: dt.date, quarter: tuple[dt.date, dt.date]) -> None:
    assert quarter_of(day) == quarter
    assert last_quarters(day, 2)[-1] == quarter


def test_lessons_are_kept_found_and_linked(store: Store) -> None:
    build(store)
    add_lesson(store, Lesson.model_validate({
        "title": "[bold]报价过高[/]", "kind": "failure", "happened": "lost on price",
        "advice": "quote tiers early", "customer_ids": [3], "tags": ["价格"]}),
        user="A", at=TODAY)
    assert [lsn.title for lsn in find_lessons(store, query="价格")] == ["[bold]报价过高[/]"]
    assert [lsn.customer_ids for lsn in find_lessons(store, customer_id=3)] == [[3]]
    assert find_lessons(store, customer_id=2) == []


# -- the CLI -----------------------------------------------------------------------------


@pytest.fixture
def cli_db(db_path: Path) -> Path:
    with Store(db_path) as store:
        build(store)
    return db_path


def _run(db: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", str(db), "--today", TODAY.isoformat(), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_review_markdown_has_the_three_parts(cli_db: Path) -> None:
    text = _run(cli_db, "review")
    for heading in ("# Review 2024-03-25 – 2024-03-27", "## 1. Data comparison",
                    "## 2. Problem analysis", "## 3. Improvement plan"):
        assert heading in text
    assert "| Late entries (24-hour rule) | 1 | 3 |" in text
    assert "█" in text  # text bars when there is no file to put charts beside


def test_review_markdown_links_svg_charts(cli_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "report" / "review.md"
    _run(cli_db, "review", "--out", str(out))
    text = out.read_text(encoding="utf-8")
    assert "![Customers by tier](review-tiers.svg)" in text
    assert (tmp_path / "report" / "review-tiers.svg").read_text().startswith("<svg")


def test_review_html_is_one_page_with_inline_charts(cli_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "review.html"
    _run(cli_db, "review", "--format", "html", "--out", str(out))
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 3
    assert "<h2>2. Problem analysis</h2>" in page


def test_review_json_carries_ids_and_metrics(cli_db: Path) -> None:
    data = json.loads(_run(cli_db, "review", "--from", "2024-03-01", "--format", "json"))
    figures = {f["key"]: f["customer_ids"] for f in data["period"]["figures"]}
    assert figures["deals"] == [2]
    assert data["quarterly"]["quarters"][-1]["metrics"]["satisfaction"] == 3.5


def test_review_refuses_a_reversed_range(cli_db: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(cli_db), "review", "--from", "2024-03-10",
                                      "--to", "2024-03-01"])
    assert result.exit_code == 1


def test_lesson_add_and_list(cli_db: Path) -> None:
    assert "lesson 1 kept" in _run(cli_db, "lesson", "add", "回访及时", "--customer", "乙",
                                   "--tag", "服务", "--advice", "repeat")
    assert "回访及时 [服务]" in _run(cli_db, "lesson", "list", "服务")
    assert _run(cli_db, "lesson", "list", "--customer", "丙") == ""
