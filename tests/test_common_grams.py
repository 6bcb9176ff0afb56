"""Grams too common to list: a bulk load leaves them out of the name grams, and every
search for one (the list, its count, find) still gives what checking each name gives."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tuicrm.core import listing, lookup, text
from tuicrm.core.gen import generate
from tuicrm.core.io.api import export_file, import_file
from tuicrm.core.listing import ListFilter, ListSort
from tuicrm.core.store import Store
from tuicrm.core.text import common_grams, name_grams

TODAY = dt.date(2024, 3, 1)


@pytest.mark.parametrize(("counts", "names", "common"), [
    # One name in fifty, and at least COMMON_GRAM_LEAST (1,000) names.
    ([("公司", 50_000), ("恒", 1_999), ("达", 2_000)], 100_000, {"公司", "达"}),
    ([("科技", 999), ("公司", 1_000)], 10_000, {"公司"}),
    ([("公司", 900)], 900, set()),
    # Grams with a letter stay listed: the names' letters are filed from them.
    ([("a", 90_000), ("a公", 90_000), ("1号", 90_000), ("号", 90_000)], 100_000, {"号"}),
])
def test_common_grams_are_those_in_enough_names(
        counts: list[tuple[str, int]], names: int, common: set[str]) -> None:
    assert common_grams(counts, names) == common


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """3,000 generated customers: 公司 and 有限 are in a third to a half of the names."""
    path: Path = tmp_path_factory.mktemp("common") / "gen.db"
    with Store(path) as store:
        generate(store, 3_000, seed=5, end=TODAY)
        store.conn.execute("UPDATE customers SET next_due = date(last_contact_date, "
                           "'+60 days') WHERE id % 3 = 0")
        yield store


def _holding(store: Store, gram: str) -> list[tuple[str, int, str]]:
    """(name_norm, id, owner) of every customer whose name holds ``gram``."""
    return [(norm, i, owner) for norm, i, owner in store.conn.execute(
        "SELECT name_norm, id, owner FROM customers ORDER BY id") if gram in norm]


def test_a_generated_load_leaves_the_common_grams_unlisted(generated: Store) -> None:
    conn = generated.conn
    common = {g for (g,) in conn.execute("SELECT gram FROM common_grams")}
    assert {"公司", "有限", "公", "司"} <= common
    for gram in common:
        assert len(_holding(generated, gram)) >= text.COMMON_GRAM_LEAST
        assert conn.execute("SELECT 1 FROM name_grams WHERE gram = ?", [gram]).fetchone() is None
    assert conn.execute("SELECT count(*) FROM name_grams").fetchone()[0] > 0


def _first_grams(store: Store) -> list[str]:
    """A common gram, a rare one and a letter, from the names themselves."""
    common = store.conn.execute("SELECT min(gram) FROM common_grams").fetchone()[0]
    rare = store.conn.execute(
        "SELECT gram FROM name_grams WHERE length(gram) = 2 GROUP BY gram "
        "ORDER BY count(*) DESC, gram LIMIT 1").fetchone()[0]
    return [common, "公司", "有", rare, rare[0]]


@pytest.mark.parametrize("sort", [
    ListSort("name"), ListSort("name", descending=True), ListSort("next_due"),
    ListSort("owner", descending=True),
])
@pytest.mark.parametrize("owner", [None, "mine"])
def test_the_list_of_a_common_gram_is_that_of_its_names(
        generated: Store, sort: ListSort, owner: str | None) -> None:
    for gram in _first_grams(generated):
        holding = _holding(generated, gram)
        if owner is not None:
            owner = holding[0][2]
            holding = [h for h in holding if h[2] == owner]
        flt = ListFilter(text=gram, owner=owner, today=TODAY)
        assert listing.count(generated, flt) == len(holding), gram
        ids: list[int] = []
        after = None
        while chunk := listing.page(generated, flt, sort, after=after, limit=37):
            ids += [r.row.id for r in chunk]
            after = chunk[-1].key
        assert sorted(ids) == [i for _, i, _ in holding], (gram, sort)
        assert len(set(ids)) == len(ids)
        if sort.column == "name":
            by_name = sorted((norm, i) for norm, i, _ in holding)
            if sort.descending:
                by_name.reverse()
            assert ids == [i for _, i in by_name]


def test_find_and_its_count_rank_a_common_gram_as_any_other(generated: Store) -> None:
    path = generated.path
    assert isinstance(path, Path)
    for gram in _first_grams(generated):
        holding = _holding(generated, gram)
        assert generated.search_count(gram) == len(holding)
        exact = [i for norm, i, _ in holding if norm == gram]
        prefix = [i for _, i in sorted((norm, i) for norm, i, _ in holding
                                       if norm.startswith(gram) and norm != gram)]
        rest = [i for _, i, _ in holding if i not in exact and i not in prefix]
        ranked = (exact + prefix + rest)[:20]
        assert [c.id for c in lookup.find(path, gram)] == ranked, gram
        assert [c.id for c in generated.search(gram, limit=20)] == ranked


def test_rebuilding_the_grams_lists_every_gram_again(tmp_path: Path) -> None:
    with Store(tmp_path / "gen.db") as store:
        generate(store, 2_000, seed=7, end=TODAY)
        common = [g for (g,) in store.conn.execute("SELECT gram FROM common_grams")]
        counts = {g: store.search_count(g) for g in common}
        assert common
        store.rebuild_grams()
        assert store.conn.execute("SELECT count(*) FROM common_grams").fetchone() == (0,)
        assert {g: store.search_count(g) for g in common} == counts
        for gram in common:
            assert store.conn.execute("SELECT count(*) FROM name_grams WHERE gram = ?",
                                      [gram]).fetchone() == (counts[gram],)


def test_a_fresh_load_leaves_out_the_grams_common_in_its_first_batch(
        demo_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Into an empty database, a big customer list is a fresh load: the grams common in
    its first batch of names go unlisted, and every short search over the loaded names
    gives what the ordinary import gives."""
    from tuicrm.core.store import bulk, searchbuild

    path = tmp_path / "customers.csv"
    export_file(demo_store, path, table="customers")
    monkeypatch.setattr(bulk, "CHUNK", 5)
    monkeypatch.setattr(searchbuild.GramBatches.__init__, "__defaults__", (40,))
    monkeypatch.setattr(text, "COMMON_GRAM_LEAST", 4)
    monkeypatch.setattr(text, "COMMON_GRAM_SHARE", 10)
    answers = []
    for big_from in (10**9, 1):
        monkeypatch.setattr(bulk, "BIG_IMPORT", big_from)
        db = tmp_path / f"import-{big_from}.db"
        with Store(db) as store:
            import_file(store, path, user="tester")
            common = {g for (g,) in store.conn.execute("SELECT gram FROM common_grams")}
            names = [n for (n,) in store.conn.execute("SELECT name_norm FROM customers")]
            grams = sorted(set().union(*map(name_grams, names)))
            answers.append({gram: (
                store.search_count(gram),
                [c.id for c in store.search(gram, limit=5)],
                [r.row.id for r in listing.page(
                    store, ListFilter(text=gram), ListSort("next_due", descending=True),
                    limit=6)],
            ) for gram in grams})
            listed = {g for (g,) in store.conn.execute("SELECT DISTINCT gram FROM name_grams")}
        if big_from == 1:
            assert common and not common & listed
            first_batch = names[:40]
            assert all(sum(g in n for n in first_batch) >= 4 for g in common)
        else:
            assert not common
    assert answers[0] == answers[1]


def test_an_older_database_is_read_once_opened(tmp_path: Path) -> None:
    """The look-up commands read the table of common grams: on a database from before
    it, they say the schema is not ready (opening a store adds it)."""
    db = tmp_path / "old.db"
    with Store(db) as store:
        generate(store, 20, seed=1, end=TODAY)
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE common_grams")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm100_common_grams'")
    conn.commit()
    conn.close()
    with pytest.raises(lookup.SchemaNotReady):
        lookup.find(db, "公")
    with Store(db) as store:
        assert store.search_count("公") == len(_holding(store, "公"))
