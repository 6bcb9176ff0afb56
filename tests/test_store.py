"""Store: connection settings, migrations, transactions, uniqueness, versions, audit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tuicrm.core.models import Customer, FollowUp, InvalidInput, Tag, Todo
from tuicrm.core.store import PAGE_SIZE, Conflict, DuplicateName, NotFound, Store
from tuicrm.core.store.migrations import migrations


def test_migrations_build_an_empty_file(db_path: Path) -> None:
    with Store(db_path) as store:
        applied = [m.name for m in migrations.applied(store.db)]
        assert applied == [m.name for m in migrations._migrations]
        tables = set(store.db.table_names())
    assert {"customers", "contacts", "followups", "todos", "strategy_plans",
            "strategy_actions", "tags", "tier_history", "audit", "customer_search",
            "name_grams"} <= tables
    with Store(db_path) as again:  # a second open applies nothing new
        assert not migrations.pending(again.db)


def test_every_connection_has_wal_foreign_keys_and_a_busy_timeout(store: Store) -> None:
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


@pytest.mark.parametrize(("before", "kept"), [
    (None, PAGE_SIZE),   # a new database gets the larger pages
    (4096, 4096),        # one made before keeps its own
])
def test_page_size_of_new_and_existing_databases(db_path: Path, before: int | None,
                                                 kept: int) -> None:
    if before is not None:
        conn = sqlite3.connect(db_path)
        conn.execute(f"PRAGMA page_size = {before}")
        conn.execute("CREATE TABLE earlier (x)")
        conn.close()
    with Store(db_path) as store:
        store.add_customer(Customer(name="页面科技"))
        assert store.conn.execute("PRAGMA page_size").fetchone()[0] == kept


def test_writes_are_immediate_transactions(store: Store, db_path: Path) -> None:
    with store.write():
        other = sqlite3.connect(db_path, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()


def test_a_failed_write_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(RuntimeError), store.write():
        store.add_customer(Customer.parse({"name": "半途公司"}))
        raise RuntimeError("crash mid-write")
    assert store.customer_count() == 0
    assert store.search("半途") == []


def test_nested_writes_roll_back_to_their_savepoint(store: Store) -> None:
    with store.write():
        store.add_customer(Customer.parse({"name": "外层公司"}))
        with pytest.raises(DuplicateName):
            store.add_customer(Customer.parse({"name": "外层公司"}))
    assert store.customer_count() == 1


@pytest.mark.parametrize(
    "twin", ["A科技有限公司", "Ａ科技有限公司", "a科技 有限公司", " A科技有限公司 "]
)
def test_names_are_unique_after_normalisation(store: Store, twin: str) -> None:
    store.add_customer(Customer.parse({"name": "A科技有限公司"}))
    with pytest.raises(DuplicateName, match="A科技有限公司"):
        store.add_customer(Customer.parse({"name": twin}))


def test_money_round_trips_as_integer_yuan(store: Store) -> None:
    customer_id = store.add_customer(Customer.parse({"name": "D集团", "total_amount": 1200000}))
    assert store.customer(customer_id).total_amount == 1200000
    assert store.conn.execute("SELECT typeof(total_amount) FROM customers").fetchone()[0] == (
        "integer")


def test_update_refuses_a_stale_version(store: Store) -> None:
    customer_id = store.add_customer(Customer.parse({"name": "B商贸公司", "status": "待谈判"}))
    version = store.customer(customer_id).version
    store.update_customer(customer_id, {"status": "跟进中"}, user="li", expected_version=version)
    with pytest.raises(Conflict) as caught:
        store.update_customer(customer_id, {"status": "待挽回"}, user="wang",
                              expected_version=version)
    assert "li" in str(caught.value)
    assert caught.value.current.status == "跟进中"


def test_updates_are_audited_per_field(store: Store) -> None:
    customer_id = store.add_customer(Customer.parse({"name": "E建材公司"}), user="li")
    store.update_customer(customer_id, {"status": "待挽回", "owner": "客服组"}, user="wang")
    changes = {(e.field, e.old, e.new, e.user) for e in store.history(customer_id)
               if e.action == "update"}
    assert changes == {("status", "", "待挽回", "wang"), ("owner", "", "客服组", "wang")}


def test_update_validates_and_names_the_field(store: Store) -> None:
    customer_id = store.add_customer(Customer.parse({"name": "C个体工作室"}))
    with pytest.raises(InvalidInput, match="first_deal_date: '2024-02-30'"):
        store.update_customer(customer_id, {"first_deal_date": "2024-02-30"})
    with pytest.raises(InvalidInput, match="tier: not a field"):
        store.update_customer(customer_id, {"tier": "高价值"})


def test_followups_set_last_contact_and_keep_their_todos(store: Store) -> None:
    customer_id = store.add_customer(Customer.parse({"name": "科技有限公司"}))
    store.add_followup(customer_id, FollowUp.parse({
        "date": "2024-05-10", "method": "上门拜访", "content": "汇报优化方案",
        "next_date": "2024-05-17",
        "todos": [Todo.parse({"text": "竞品对比分析", "due": "2024-05-15"}).model_dump()],
    }), user="客户经理")
    customer = store.customer(customer_id)
    assert str(customer.last_contact_date) == "2024-05-10"
    assert str(customer.next_due_manual) == "2024-05-17"
    [followup] = store.followups(customer_id)
    assert [t.text for t in followup.todos] == ["竞品对比分析"]
    [todo] = store.todos(customer_id, open_only=True)
    store.set_todo_done(todo.id or 0, True)
    assert store.todos(customer_id, open_only=True) == []


def test_deleting_a_customer_removes_what_hangs_off_it(demo_store: Store) -> None:
    customer = demo_store.customer_by_name("D集团")
    demo_store.delete_customer(customer.id or 0)
    for table in ("contacts", "followups", "todos", "strategy_plans", "name_grams"):
        column = "customer_id"
        count = demo_store.conn.execute(
            f"SELECT count(*) FROM {table} WHERE {column} = ?", [customer.id]).fetchone()[0]
        assert count == 0, table
    with pytest.raises(NotFound):
        demo_store.customer_by_name("D集团")


def test_manual_tags_are_kept_until_removed(store: Store) -> None:
    customer_id = store.add_customer(Customer.parse({"name": "A科技有限公司"}))
    tag = Tag.from_text("behaviour:稳定合作")
    store.add_tag(customer_id, tag)
    assert str(tag) in {str(t) for t in store.tags(customer_id) if t.source == "manual"}
    store.remove_tag(customer_id, tag)
    assert str(tag) not in {str(t) for t in store.tags(customer_id) if t.source == "manual"}
    with pytest.raises(NotFound):
        store.remove_tag(customer_id, tag)


def test_the_demo_profile_carries_everything(demo_store: Store) -> None:
    profile = demo_store.profile(demo_store.customer_by_name("B商贸公司").id or 0)
    assert [c.name for c in profile.contacts] == ["王经理"]
    assert profile.followups[0].feedback.startswith("竞品价格更低")
    assert profile.plans[0].customer_type == "常规跟进型"
    assert [t.text for t in profile.todos] == ["整理差异化优势资料"]


@pytest.mark.parametrize("latest", [1, 2, 3, 50])
def test_a_profile_can_carry_only_the_latest_follow_ups(store: Store, latest: int) -> None:
    customer_id = store.add_customer(Customer.parse({"name": "久经跟进"}))
    for day in ("2024-01-05", "2024-03-01", "2024-02-10"):
        store.add_followup(customer_id, FollowUp.parse(
            {"date": day, "method": "电话", "content": day}))
    profile = store.profile(customer_id, followups=latest)
    assert [f.content for f in profile.followups] == (
        ["2024-03-01", "2024-02-10", "2024-01-05"][:latest])
    assert store.followup_count(customer_id) == 3


def test_a_short_profile_carries_its_follow_ups_to_dos_and_the_open_ones(
        store: Store) -> None:
    customer_id = store.add_customer(Customer.parse({"name": "待办很多"}))
    for day, todo in (("2024-01-05", "寄样品"), ("2024-03-01", "报价"), ("2024-02-10", "回访")):
        store.add_followup(customer_id, FollowUp.parse({
            "date": day, "method": "电话", "content": day,
            "todos": [Todo.parse({"text": todo, "due": day}).model_dump()]}))
    done = next(t for t in store.todos(customer_id) if t.text == "回访")
    store.set_todo_done(done.id or 0, True)
    profile = store.profile(customer_id, followups=2, open_todos=True)
    assert [[t.text for t in f.todos] for f in profile.followups] == [["报价"], ["回访"]]
    assert sorted(t.text for t in profile.todos) == ["寄样品", "报价"]
    assert len(store.profile(customer_id).todos) == 3


def test_text_an_older_tool_wrote_stays_readable_and_editable(store: Store) -> None:
    """A name longer than input allows, or with an escape sequence in it, put there by a
    sqlite3 shell: the customer still opens, its other fields can still be edited, and
    lists show the escape as a picture, never as the escape itself."""
    customer_id = store.add_customer(Customer.parse({"name": "旧数据"}))
    store.conn.execute("UPDATE customers SET name = ? WHERE id = ?",
                       ["长" * 300 + "\x1b]52;c;SGVsbG8=\x07", customer_id])
    assert store.customer(customer_id).name.startswith("长" * 300)
    updated = store.update_customer(customer_id, {"status": "跟进中"})
    assert updated.status == "跟进中"
    with pytest.raises(InvalidInput, match=r"^name: '长+'… is 301 characters long"):
        store.update_customer(customer_id, {"name": "长" * 301})
    [row] = store.rows_by_id([customer_id])
    assert "\x1b" not in row.name and "\x07" not in row.name and "␛" in row.name
