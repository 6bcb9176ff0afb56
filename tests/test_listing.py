"""The list's keyset pages, counts and board figures, checked against plain sorting."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tuicrm.core import listing
from tuicrm.core.gen import generate
from tuicrm.core.listing import ListFilter, ListSort
from tuicrm.core.models import Customer, Tag
from tuicrm.core.store import Store

TODAY = dt.date(2024, 3, 1)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """300 generated customers, some with due dates and tags."""
    path: Path = tmp_path_factory.mktemp("listing") / "list.db"
    with Store(path) as store:
        generate(store, 300, seed=3, end=TODAY)
        store.conn.execute(
            "UPDATE customers SET next_due = date(last_contact_date, '+60 days') "
            "WHERE id % 3 = 0")
        store.conn.execute("UPDATE customers SET tier = CASE WHEN id % 4 = 0 THEN 'A' "
                           "WHEN id % 4 = 1 THEN 'B' ELSE '' END")
        for customer_id in range(1, 40):
            store.add_tag(customer_id, Tag.from_text("需求:紧急"))
        yield store


def expected(store: Store, flt: ListFilter, sort: ListSort) -> list[int]:
    """Every matching id in display order, the slow way."""
    everyone = listing.page(store, ListFilter(today=TODAY), ListSort(), limit=10_000)
    allowed = {r.row.id for r in _all(store, flt)}
    rows = [r for r in everyone if r.row.id in allowed]

    def key(r: listing.ListedRow) -> tuple[Any, int]:
        value = {
            "name": r.row.name, "tier": r.row.tier, "status": r.row.status,
            "owner": r.row.owner, "industry": r.row.industry, "amount": r.row.total_amount,
            "last_contact": (r.row.last_contact_date or "").__str__(),
            "next_due": (r.row.next_due or "").__str__(),
        }[sort.column]
        return value, r.row.id

    ordered = sorted(rows, key=key, reverse=sort.descending)
    return [r.row.id for r in ordered]


def _all(store: Store, flt: ListFilter) -> list[listing.ListedRow]:
    return listing.page(store, flt, ListSort(), limit=10_000)


def paged_forward(store: Store, flt: ListFilter, sort: ListSort, size: int) -> list[int]:
    """Every id, reading ``size`` rows at a time after the last one read."""
    ids: list[int] = []
    after = None
    while chunk := listing.page(store, flt, sort, after=after, limit=size):
        ids += [r.row.id for r in chunk]
        after = chunk[-1].key
    return ids


def paged_backward(store: Store, flt: ListFilter, sort: ListSort, size: int) -> list[int]:
    """Every id, reading from the end ``size`` rows at a time before the first one read."""
    ids: list[int] = []
    chunk = listing.page(store, flt, sort, from_end=True, limit=size)
    while chunk:
        ids = [r.row.id for r in chunk] + ids
        chunk = listing.page(store, flt, sort, before=chunk[0].key, limit=size)
    return ids


FILTERS = [
    ListFilter(today=TODAY),
    ListFilter(text="科技", today=TODAY),
    ListFilter(text="有限公司", today=TODAY),
    ListFilter(status="跟进中", today=TODAY),
    ListFilter(tier="", today=TODAY),
    ListFilter(tier="A", status="合作中", today=TODAY),
    ListFilter(overdue=True, today=TODAY),
    ListFilter(tag="需求:紧急", today=TODAY),
]


@pytest.mark.parametrize("flt", FILTERS, ids=lambda f: repr(f)[:60])
@pytest.mark.parametrize("column", ["name", "tier", "amount", "next_due", "last_contact"])
@pytest.mark.parametrize("descending", [False, True])
def test_pages_forward_and_backward_cover_the_order(
    big: Store, flt: ListFilter, column: str, descending: bool,
) -> None:
    sort = ListSort(column, descending)  # type: ignore[arg-type]
    want = [r.row.id for r in listing.page(big, flt, sort, limit=10_000)]
    assert sorted(want) == sorted(r.row.id for r in _all(big, flt))
    assert paged_forward(big, flt, sort, 7) == want
    assert paged_backward(big, flt, sort, 7) == want
    assert listing.count(big, flt) == len(want)


def test_name_order_is_by_normalised_name(big: Store) -> None:
    names = [r.row.name for r in listing.page(big, ListFilter(), ListSort(), limit=50)]
    assert names == sorted(names, key=lambda n: n.casefold())


def test_board_adds_up_to_the_customers(big: Store) -> None:
    board = listing.board(big, today=TODAY)
    assert sum(c.count for c in board.cells) == big.customer_count()
    assert board.tiers[-1] == ""
    cell = board.cells[0]
    cards = listing.board_cards(big, tier=cell.tier, status=cell.status, limit=1000)
    assert len(cards) == cell.count
    assert sum(c.total_amount for c in cards) == cell.amount
    overdue = [c for c in cards if c.next_due and c.next_due < TODAY]
    assert len(overdue) == cell.overdue


def test_board_by_owner(big: Store) -> None:
    owner = listing.choices(big, "owner")[0]
    board = listing.board(big, owner=owner, today=TODAY)
    assert sum(c.count for c in board.cells) == listing.count(big, ListFilter(owner=owner))


def test_choices_are_distinct_and_sorted(big: Store) -> None:
    statuses = listing.choices(big, "status")
    assert statuses == sorted(set(statuses))
    assert "跟进中" in statuses


@pytest.mark.parametrize("name", ["[@click=app.quit]x[/]", "Acme [/] Corp", "O'Brien \"x\""])
def test_names_with_markup_and_quotes_are_listed(store: Store, name: str) -> None:
    store.add_customer(Customer.parse({"name": name}))
    rows = listing.page(store, ListFilter(text=name), ListSort())
    assert [r.row.name for r in rows] == [name]


def test_changes_since_lists_tier_moves_and_lapsed_dues(store: Store) -> None:
    first = store.add_customer(Customer.parse({"name": "甲公司", "owner": "王"}))
    second = store.add_customer(Customer.parse({"name": "乙公司", "owner": "李"}))
    store.conn.execute(
        "INSERT INTO tier_history (customer_id, kind, old, new, at) "
        "VALUES (?, 'tier', '潜力', '中价值', '2024-02-28T09:00:00+00:00')", [first])
    store.conn.execute("UPDATE customers SET next_due = '2024-02-27' WHERE id = ?", [second])
    changes = listing.changes_since(store, since=dt.date(2024, 2, 23), today=TODAY)
    assert [(c.row.name, c.kind, c.old, c.new) for c in changes] == [
        ("甲公司", "tier", "潜力", "中价值"), ("乙公司", "overdue", "", "2024-02-27")]
    mine = listing.changes_since(store, since=dt.date(2024, 2, 23), today=TODAY, owner="李")
    assert [c.row.name for c in mine] == ["乙公司"]


@pytest.mark.parametrize("strategy", ["walk", "drive"])
@pytest.mark.parametrize("text", ["科", "a", "有限", "恒达", "zz"])  # 15, 10, 125, 2, 0 match
@pytest.mark.parametrize("descending", [False, True])
def test_short_name_searches_page_alike_walking_or_driving(
    big: Store, monkeypatch: pytest.MonkeyPatch, strategy: str, text: str, descending: bool,
) -> None:
    """A 1–2 character search pages the same whether the name index is walked (each
    name checked in the index entry) or the matches are looked up and sorted."""
    limit = 0 if strategy == "walk" else 1_000_000
    monkeypatch.setattr(listing, "SMALL_NAME_WALK", limit)
    monkeypatch.setattr(listing, "SMALL", limit)
    flt = ListFilter(text=text, today=TODAY)
    sort = ListSort("name", descending)
    names = {r.row.id: r.row.name for r in _all(big, ListFilter(today=TODAY))}
    want = [i for i in expected(big, ListFilter(today=TODAY), sort)
            if text.lower() in names[i].lower()]
    assert paged_forward(big, flt, sort, 5) == want
    assert paged_backward(big, flt, sort, 5) == want


@pytest.mark.parametrize("strategy", ["keep", "walk", "walk too long", "refine"])
@pytest.mark.parametrize("text", [
    "有限公司", "科技有限", "zzz", "keji", "KeJi",  # names, pinyin, any letter case
    "Sz西宁", "采购经理",  # a Latin name's own capitals, contacts
])
@pytest.mark.parametrize("sort", [ListSort("name"), ListSort("next_due", descending=True)])
def test_full_text_searches_page_alike_walked_or_kept(
    big: Store, monkeypatch: pytest.MonkeyPatch, strategy: str, text: str, sort: ListSort,
) -> None:
    """A full-text search pages the same whether its matches are kept in a temp table,
    checked row by row in the content of the search index as the sort's index is
    walked, kept after a walk ran out of time, or refined: checked row by row among the
    kept matches of the query typed before it. What the trigram index matches."""
    monkeypatch.setattr(listing, "SAMPLED_FROM", 0)
    monkeypatch.setattr(listing, "SAMPLE_ONE_IN", 1)
    monkeypatch.setattr(listing, "WALK_SHARE", 0.0 if "walk" in strategy else 2.0)
    if strategy == "walk too long":
        monkeypatch.setattr(listing, "WALK_BUDGET", -1.0)
    big.__dict__.pop("_fts_hits", None)
    flt = ListFilter(text=text, today=TODAY)
    plan = listing.plan_search(text)
    assert plan is not None
    matched = {r[0] for r in big.conn.execute(
        "SELECT rowid FROM customer_search WHERE customer_search MATCH ?", [plan.fts])}
    refines = False
    if strategy == "refine" and len(text) > 3:
        monkeypatch.setattr(listing, "SMALL", 0)  # the kept matches count as many
        before = listing.plan_search(text[:-1])
        assert before is not None
        listing.page(big, ListFilter(text=text[:-1], today=TODAY), sort)
        among = big.conn.execute(
            "SELECT count(*) FROM customer_search WHERE customer_search MATCH ?",
            [before.fts]).fetchone()[0]
        refines = 0 < among <= 2 * len(matched)
    want = [i for i in expected(big, ListFilter(today=TODAY), sort) if i in matched]
    assert paged_forward(big, flt, sort, 6) == want and (want or text == "zzz")
    assert paged_backward(big, flt, sort, 7) == want
    hits = big.__dict__["_fts_hits"][plan.fts]
    assert (hits.table is None) == (strategy == "walk" and bool(want))
    assert hits.refines == refines
    big.__dict__.pop("_fts_hits", None)


@pytest.mark.parametrize("writer", ["this connection", "another connection"])
def test_kept_matches_are_kept_again_after_a_save(tmp_path: Path, writer: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A search's kept matches are not reused once anyone saved: a customer added
    since shows, whoever added it."""
    monkeypatch.setattr(listing, "SAMPLED_FROM", 0)
    monkeypatch.setattr(listing, "WALK_SHARE", 2.0)  # always kept
    path = tmp_path / "kept.db"
    with Store(path) as store, Store(path) as other:
        store.add_customer(Customer(name="北京恒达科技有限公司"))
        flt = ListFilter(text="恒达科技", today=TODAY)
        shown = [r.row.name for r in listing.page(store, flt, ListSort())]
        assert shown == ["北京恒达科技有限公司"]
        (store if writer == "this connection" else other).add_customer(
            Customer(name="上海恒达科技有限公司"))
        assert [r.row.name for r in listing.page(store, flt, ListSort())] == [
            "上海恒达科技有限公司", "北京恒达科技有限公司"]
