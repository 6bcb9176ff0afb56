"""Search: Chinese substrings of any length, pinyin, ranking, and the text helpers."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from tuicrm.core.models import Contact, Customer, FollowUp
from tuicrm.core.search import plan_search
from tuicrm.core.store import Store
from tuicrm.core.text import (
    name_grams,
    name_letters,
    normalize_name,
    pinyin_full,
    pinyin_initials,
)


@pytest.mark.parametrize(
    ("name", "norm", "full", "initials"),
    [
        ("A科技有限公司", "a科技有限公司", "akejiyouxiangongsi", "akjyxgs"),
        ("Ａ科技 有限公司", "a科技有限公司", "akejiyouxiangongsi", "akjyxgs"),
        ("ABC 贸易", "abc贸易", "abcmaoyi", "abcmy"),
        ("YY贸易集团", "yy贸易集团", "yymaoyijituan", "yymyjt"),
        ("Acme Corp", "acmecorp", "acmecorp", "acmecorp"),
    ],
)
def test_name_keys(name: str, norm: str, full: str, initials: str) -> None:
    assert normalize_name(name) == norm
    assert pinyin_full(name) == full
    assert pinyin_initials(name) == initials


def test_generated_names_are_stored_with_their_normalised_key() -> None:
    from tuicrm.core import gen

    rng = random.Random(3)
    for index in range(0, gen._name_space(), 9_973):
        name, norm, _, _ = gen._company(index, rng)
        assert norm == normalize_name(name)


def test_grams_cover_every_one_and_two_character_substring() -> None:
    assert name_grams("d集团") == {"d", "集", "团", "d集", "集团"}


@pytest.mark.parametrize(
    ("query", "kind"),
    [("科", "gram"), ("科技", "gram"), ("ak", "gram"), ("akj", "fts"), ("科技有", "fts"),
     ("  ", None)],
)
def test_short_queries_use_grams(query: str, kind: str | None) -> None:
    plan = plan_search(query)
    assert (plan.kind if plan else None) == kind


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("科技", {"A科技有限公司", "科技有限公司"}),
        ("科", {"A科技有限公司", "科技有限公司"}),
        ("akj", {"A科技有限公司"}),
        ("keji", {"A科技有限公司", "科技有限公司"}),
        ("商贸", {"B商贸公司"}),
        ("b商贸公司", {"B商贸公司"}),
        ("Ｂ商贸", {"B商贸公司"}),
        ("工作室", {"C个体工作室"}),
        ("赵主任", {"D集团"}),
        ("信息中心主任", {"D集团"}),
        ("教育", set()),  # two characters match names only
        ("阶梯价格", set()),
        ("价格降低", {"E建材公司"}),
        ("nobody", set()),
    ],
)
def test_demo_search(demo_store: Store, query: str, expected: set[str]) -> None:
    assert {row.name for row in demo_store.search(query)} == expected
    assert demo_store.search_count(query) == len(expected)


@pytest.mark.parametrize(
    ("query", "first"),
    [("科技有限公司", "科技有限公司"), ("科技", "科技有限公司"), ("a科技", "A科技有限公司")],
)
def test_exact_then_prefix_matches_rank_first(demo_store: Store, query: str, first: str) -> None:
    assert demo_store.search(query)[0].name == first


def test_prefix_outranks_earlier_substring_matches(store: Store) -> None:
    for name in ("东方贸易", "华东贸易", "贸易东方"):
        store.add_customer(Customer.parse({"name": name}))
    assert store.search("贸易")[0].name == "贸易东方"


def test_search_follows_renames_contacts_and_followups(store: Store) -> None:
    customer_id = store.add_customer(Customer.parse({"name": "旧名商行"}))
    store.update_customer(customer_id, {"name": "新名科技"})
    assert store.search("旧名") == []
    assert [r.name for r in store.search("新名")] == ["新名科技"]
    store.add_contact(customer_id, Contact.parse({"name": "欧阳娜娜"}))
    assert [r.id for r in store.search("欧阳娜娜")] == [customer_id]
    store.add_followup(customer_id, FollowUp.parse(
        {"date": "2024-05-01", "method": "电话", "content": "讨论仓储系统升级"}))
    assert [r.id for r in store.search("仓储系统")] == [customer_id]


def test_limit_is_respected(demo_store: Store) -> None:
    assert len(demo_store.search("公司", limit=1)) == 1


def test_hostile_queries_are_just_text(demo_store: Store) -> None:
    for query in ('"', 'a"b OR c', "NEAR(x y)", "*", "科技*", "'; DROP TABLE customers; --"):
        demo_store.search(query)
    assert demo_store.customer_count() == 7


QUERIES = ("科技", "恒", "司", "akj", "keji", "北京恒达", "季度业务回顾", "项目经理", "138", "z")


def _search_state(store: Store) -> tuple[dict[str, list[int]], dict[str, int], object, object]:
    results = {q: [row.id for row in store.search(q, limit=40)] for q in QUERIES}
    counts = {q: store.search_count(q) for q in QUERIES}
    documents = store.conn.execute(
        "SELECT rowid, * FROM customer_search ORDER BY rowid").fetchall()
    grams = store.conn.execute("SELECT * FROM name_grams ORDER BY gram, customer_id").fetchall()
    letters = store.conn.execute("SELECT * FROM name_letters ORDER BY 1, 2, 3").fetchall()
    return results, counts, documents, grams, letters


def _letters(store: Store) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]]]:
    """The letters filed, and those the names have."""
    filed = store.conn.execute("SELECT * FROM name_letters ORDER BY 1, 2, 3").fetchall()
    names = store.conn.execute("SELECT id, name_norm FROM customers").fetchall()
    return filed, sorted((letter, norm, i) for i, norm in names for letter in name_letters(norm))


def test_names_letters_follow_every_change_of_a_name(tmp_path: Path) -> None:
    """A one-letter search reads the names' letters in name order from their own table,
    which follows adding, renaming and removing customers, imports and their undo, and
    generated customers added to a database that has some."""
    from tuicrm.core.gen import generate
    from tuicrm.core.io.api import import_file
    from tuicrm.core.store.bulk import undo_batch

    with Store(tmp_path / "letters.db") as store:
        acme = store.add_customer(Customer(name="Acme Kit 北京"))
        store.add_customer(Customer(name="恒达科技"))
        gone = store.add_customer(Customer(name="Zeta贸易"))
        store.update_customer(acme, {"name": "北京 Kz 科技"})
        store.delete_customer(gone)
        filed, due = _letters(store)
        assert filed == due == [("k", "北京kz科技", acme), ("z", "北京kz科技", acme)]

        csv = tmp_path / "batch.csv"
        csv.write_text("客户名称,联系人\nBeta Labs,张总\n恒达科技,李总\n", encoding="utf-8")
        batch = import_file(store, csv, user="tester").batch_id
        generate(store, 30, seed=2, end=dt.date(2024, 3, 1))
        filed, due = _letters(store)
        assert filed == due and ("b", "betalabs", store.customer_by_name("Beta Labs").id) in filed
        assert batch is not None
        undo_batch(store, batch, user="tester")
        filed, due = _letters(store)
        assert filed == due and not [f for f in filed if f[1] == "betalabs"]


def test_a_generated_database_searches_as_after_a_rebuild(tmp_path: Path) -> None:
    """A new database gets its full-text index built beside it and copied in, its grams
    appended per gram: the same as rebuilding both from the rows."""
    from tuicrm.core.gen import generate

    path = tmp_path / "gen.db"
    with Store(path) as store:
        generate(store, 400, seed=3, end=dt.date(2024, 3, 1))
        assert not (tmp_path / "gen.db.search-build").exists()
        assert store.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        store.conn.execute(
            "INSERT INTO customer_search (customer_search) VALUES ('integrity-check')")
        generated = _search_state(store)
        assert all(generated[0][q] for q in ("科技", "恒", "keji", "季度业务回顾", "138"))
        store.reindex()
        store.rebuild_grams()
        assert _search_state(store) == generated
        # Later writes go on as usual.
        added = store.add_customer(Customer(name="北京恒达科技新公司"))
        assert store.search("北京恒达科技新")[0].id == added
    with Store(path) as store:
        assert store.search("恒达科技新")[0].id == added


def _segments(store: Store) -> int:
    """How many segments the full-text index is in (from FTS5's structure record)."""
    block = store.conn.execute(
        "SELECT block FROM customer_search_data WHERE id = 10").fetchone()[0]

    def varint(at: int) -> tuple[int, int]:
        value = 0
        for _ in range(9):
            byte = block[at]
            at += 1
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        return value, at

    _levels, at = varint(4)  # after the 4-byte cookie: levels, then segments
    return varint(at)[0]


@pytest.mark.parametrize("build", ["generate", "reindex"])
def test_an_index_built_in_bulk_is_left_in_one_segment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, build: str) -> None:
    """Several large segments left by a bulk build are merged later inside some small
    write (a save stalled for seconds); the bulk builds merge them once themselves."""
    from tuicrm.core import store as store_module
    from tuicrm.core.gen import generate
    from tuicrm.core.store import searchbuild

    # A small memory for new terms, so that the build writes many segments.
    monkeypatch.setattr(searchbuild, "BUILD_HASH_BYTES", 4096)
    monkeypatch.setattr(store_module, "FTS_LOAD_HASH_BYTES", 4096)
    with Store(tmp_path / "bulk.db") as store:
        generate(store, 300, seed=4, end=dt.date(2024, 3, 1))
        if build == "reindex":
            store.reindex()
        assert _segments(store) == 1
        assert store.search("季度业务回顾")


def test_a_failed_generation_leaves_the_new_database_empty(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tuicrm.core import gen

    def broken(*args: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(gen, "_write", broken)
    path = tmp_path / "gen.db"
    with Store(path) as store:
        with pytest.raises(RuntimeError, match="disk full"):
            gen.generate(store, 100, seed=3, end=dt.date(2024, 3, 1))
        assert store.customer_count() == 0
        assert store.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert not (tmp_path / "gen.db.search-build").exists()
