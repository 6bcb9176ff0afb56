"""Importing and exporting the working tables: the template file, encodings, XLSX,
duplicates, refused files, undo, the round trip and a killed import."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tuicrm.cli import cli
from tuicrm.core.io.api import export_file, import_file, preview
from tuicrm.core.io.layout import headers
from tuicrm.core.rules import default_rules
from tuicrm.core.seed import demo_records
from tuicrm.core.store import Store
from tuicrm.core.store.bulk import undo_batch
from tuicrm.core.store.segments import RulesSegmenter, state
from tuicrm.core.text import name_grams, normalize_name

TEMPLATE_HEADERS = headers("customers")
# The five example rows of the customer-list template, as a rep types them.
TEMPLATE_ROWS = [
    ["A科技有限公司", "总监", "制造业", "500-1000人", "2023-03-15", "80", "2024-01-10",
     "高价值/工业设备/稳定合作", "每月上门拜访；每季度提供行业趋势报告",
     "2024-02-20:沟通新设备采购需求/预算待确认", "跟进中", "经理"],
    ["B商贸公司", "经理", "零售业", "50-100人", "2023/8/20", "15", "2023-12-05",
     "中价值/快消品/间歇合作", "每两周电话沟通；春节促销",
     "2024-02-18:沟通春节促销后的补货计划/竞品价格更低，希望了解我方差异化优势", "待谈判", "顾问"],
    ["C个体工作室", "女士", "服务业", "1-10人", "2024年1月5日", "３", "–",
     "潜力/办公耗材/高频咨询未成交", "发送案例资料；邀请参加产品演示",
     "2024-02-22:发送案例资料/对质量满意，正在比较3家报价", "培育中", "专员"],
    ["D集团", "主任", "教育", "1000人以上", "2022-11-10", "120", "2023-09-30",
     "高价值/信息化系统/决策周期长", "每季度提交系统升级方案",
     "2024-02-25:讨论系统升级方案/需要增加数据模块，3月前提交方案", "方案制定中", "经理"],
    ["E建材公司", "总", "建筑业", "200-500人", "2023-05-18", "35万", "2023-10-12",
     "流失风险/建材原料/反馈价格高", "客服回访了解原因；阶梯价格方案",
     "2024-02-15:了解停止采购的原因/价格降低10%可考虑恢复合作", "待挽回", "客服组"],
]
COMPARED = ("name", "contact", "industry", "size", "first_deal_date", "total_amount",
            "last_deal_date", "status", "owner", "need_categories")


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8-sig",
              delimiter: str = ",", header: list[str] | None = None) -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header or TEMPLATE_HEADERS)
        writer.writerows(rows)
    return path


def customers(store: Store) -> dict[str, dict[str, Any]]:
    found = {}
    for (customer_id,) in store.conn.execute("SELECT id FROM customers"):
        c = store.customer(customer_id).model_dump(mode="json")
        found[c["name"]] = {k: c[k] for k in COMPARED}
    return found


def demo_customers() -> dict[str, dict[str, Any]]:
    wanted = {}
    for record in demo_records()[:5]:
        c = record["customer"]
        wanted[c["name"]] = {k: c.get(k) for k in COMPARED}
    return wanted


def invoke(db: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--db", str(db), "--user", "tester", *args])


@pytest.mark.parametrize(("encoding", "delimiter"), [
    ("utf-8-sig", ","), ("utf-8", ","), ("gbk", ","), ("gb18030", "\t"), ("utf-8-sig", "\t"),
])
def test_template_file_imports_to_the_demo_customers(
        store: Store, tmp_path: Path, encoding: str, delimiter: str) -> None:
    path = write_csv(tmp_path / "客户管理清单.csv", TEMPLATE_ROWS, encoding=encoding,
                     delimiter=delimiter)
    summary = import_file(store, path, user="tester")
    assert summary.written and summary.created == 5 and not summary.rejected
    assert customers(store) == demo_customers()
    a = store.customer_by_name("A科技有限公司")
    profile = store.profile(a.id or 0)
    assert [str(t) for t in profile.tags] == ["behaviour:稳定合作"]
    assert [(str(f.date), f.content, f.feedback) for f in profile.followups] == [
        ("2024-02-20", "沟通新设备采购需求", "预算待确认")]
    assert [x.action for x in profile.plans[0].actions] == [
        "每月上门拜访", "每季度提供行业趋势报告"]
    assert a.last_contact_date is not None and str(a.last_contact_date) == "2024-02-20"
    assert [r.name for r in store.search("akj")] == ["A科技有限公司"]
    assert [r.name for r in store.search("集团")] == ["D集团"]
    grams = {g for (g,) in store.conn.execute(
        "SELECT gram FROM name_grams WHERE customer_id = ?", [a.id])}
    assert grams == name_grams(normalize_name(a.name))


def test_a_title_row_above_the_headers_is_skipped(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["客户管理清单"])
        writer.writerow(TEMPLATE_HEADERS)
        writer.writerows(TEMPLATE_ROWS)
    summary = import_file(store, path)
    assert summary.created == 5


def test_bad_file_is_refused_whole_with_three_messages(store: Store, tmp_path: Path) -> None:
    rows = [list(r) for r in TEMPLATE_ROWS]
    rows[1][4] = "2023-13-45"
    rows[2][5] = "三万"
    rows[3][0] = ""
    path = write_csv(tmp_path / "bad.csv", rows)
    db = Path(store.path)  # type: ignore[arg-type]
    result = invoke(db, "import", str(path))
    assert result.exit_code == 1
    assert "row 3, 首次合作时间: '2023-13-45' is not a date" in result.output
    assert "row 4, 历史采购总额(万元): '三万' is not an amount" in result.output
    assert "row 5, 客户名称: empty: a row needs the customer's name" in result.output
    assert "nothing imported: 3 invalid rows" in result.output
    assert store.customer_count() == 0

    rejects = tmp_path / "rejects.csv"
    result = invoke(db, "import", str(path), "--skip-invalid", "--rejects", str(rejects))
    assert result.exit_code == 0, result.output
    assert store.customer_count() == 2
    with rejects.open(encoding="utf-8-sig") as f:
        rejected = list(csv.reader(f))
    assert [r[0] for r in rejected[1:]] == ["3", "4", "5"]
    assert "is not a date" in rejected[1][-1] and "not an amount" in rejected[2][-1]


def test_dry_run_writes_nothing(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", TEMPLATE_ROWS)
    result = invoke(Path(store.path), "import", str(path), "--dry-run", "--json")  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["created"] == 5 and data["written"] is False and data["dry_run"] is True
    assert store.customer_count() == 0


def test_duplicates_update_instead_of_creating(demo_store: Store, tmp_path: Path) -> None:
    rows = [
        ["Ｂ商贸 公司", "", "", "", "", "", "", "", "", "", "已签约", "新负责人"],
        ["新客户有限公司", "张总", "", "", "", "10", "", "", "", "", "培育中", "专员"],
        ["新客户 有限公司", "", "", "", "", "12", "", "", "", "", "", ""],
    ]
    path = write_csv(tmp_path / "dups.csv", rows)
    before = demo_store.customer_count()
    summary = import_file(demo_store, path, user="tester")
    assert summary.created == 1 and summary.updated == 1
    assert demo_store.customer_count() == before + 1
    b = demo_store.customer_by_name("B商贸公司")
    assert (b.name, b.status, b.owner, b.contact) == ("B商贸公司", "已签约", "新负责人", "经理")
    new = demo_store.customer_by_name("新客户有限公司")
    assert (new.total_amount, new.contact) == (120_000, "张总")
    assert any("row 4" in note and "row 3" in note for note in summary.notes)
    assert any("'B商贸公司' updated: owner, status" in note for note in summary.notes)


def _imported_state(db: Path) -> dict[str, list[Any]]:
    conn = sqlite3.connect(db)
    queries = {
        "customers": "SELECT id, name, name_norm, pinyin, initials, contact, total_amount, "
                     "status, need_categories, tier, next_due, last_contact_date "
                     "FROM customers ORDER BY id",
        "search": "SELECT rowid, name, pinyin, initials, contacts, facts, tags, notes "
                  "FROM customer_search ORDER BY rowid",
        "grams": "SELECT gram, customer_id FROM name_grams ORDER BY gram, customer_id",
        "letters": "SELECT * FROM name_letters ORDER BY 1, 2, 3",
        "followups": "SELECT id, customer_id, date, method, content, feedback, owner, "
                     "next_date FROM followups ORDER BY id",
        "todos": "SELECT customer_id, followup_id, text, due, owner FROM todos ORDER BY id",
        "contacts": "SELECT id, customer_id, name, title, cares_about FROM contacts "
                    "ORDER BY id",
        "plans": "SELECT id, customer_id, customer_type, goal FROM strategy_plans ORDER BY id",
        "actions": "SELECT plan_id, action, owner FROM strategy_actions ORDER BY id",
        "tags": "SELECT customer_id, dimension, value FROM tags ORDER BY 1, 2, 3",
        "audit": "SELECT customer_id, action, new FROM audit ORDER BY customer_id, id",
        "indexes": "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name",
    }
    state = {name: conn.execute(sql).fetchall() for name, sql in queries.items()}
    # The full-text index agrees with its documents (an index built elsewhere and
    # copied in would otherwise pass the searches above and fail a later write).
    conn.execute("INSERT INTO customer_search (customer_search) VALUES ('integrity-check')")
    conn.close()
    return state


_LATER_ROWS = {
    "names repeated across chunks": [
        ["A科技有限公司", "", "", "", "", "90", "", "", "",
         "2024-03-01:确认采购预算/同意下月签约", "", ""],
        ["D集团", "", "", "", "", "", "", "", "", "", "已签约", ""]],
    "a name repeated in a chunk": [
        ["F工作室", "", "", "", "", "", "", "", "", "", "", ""],
        ["E集团", "", "", "", "", "", "", "", "", "", "已签约", ""],
        ["E集团", "", "", "", "", "", "", "", "", "2024-03-01:确认采购预算/同意下月签约",
         "", ""]],
    "every name once": [
        ["E集团", "", "", "", "", "", "", "", "", "2024-03-01:确认采购预算/同意下月签约",
         "已签约", ""],
        ["F恒达集团", "", "", "", "", "", "", "", "", "", "", ""]],
}


@pytest.mark.parametrize("later", list(_LATER_ROWS))
@pytest.mark.parametrize("gram_batch", [1, 3, 10**6])
def test_a_big_import_into_an_empty_database_builds_the_same_search_index(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, later: str, gram_batch: int,
        ) -> None:
    """The path of a million rows (a fresh load: rows planned by a child process, grams
    gathered in batches, the index built on another thread) gives what the ordinary path
    gives; at a name repeated within or across chunks it goes on the ordinary way."""
    from tuicrm.core.store import bulk, searchbuild

    handed: list[int] = []
    add_grams = searchbuild.SearchIndexBuilder.add_grams

    def count_grams(builder: searchbuild.SearchIndexBuilder, runs: Any) -> None:
        handed.append(sum(len(ids) for ids in runs.values()))
        add_grams(builder, runs)

    monkeypatch.setattr(searchbuild.SearchIndexBuilder, "add_grams", count_grams)
    written: list[bool] = []  # each chunk planned by the child: written as planned?
    write_fresh = bulk.BulkImport._write_fresh

    def note_chunk(self: bulk.BulkImport, plan: bulk.FreshChunk) -> bool:
        written.append(write_fresh(self, plan))
        return written[-1]

    monkeypatch.setattr(bulk.BulkImport, "_write_fresh", note_chunk)
    path = write_csv(tmp_path / "big.csv", TEMPLATE_ROWS + _LATER_ROWS[later])
    monkeypatch.setattr(bulk, "CHUNK", 2)
    monkeypatch.setattr(bulk, "DOCUMENT_RUN", 3)
    monkeypatch.setattr(searchbuild.GramBatches.__init__, "__defaults__", (gram_batch,))
    states = []
    created = {"names repeated across chunks": 5, "a name repeated in a chunk": 7,
               "every name once": 7}[later]
    for big_from in (10**9, 1):
        monkeypatch.setattr(bulk, "BIG_IMPORT", big_from)
        db = tmp_path / f"import-{big_from}.db"
        progressed: list[int] = []
        with Store(db) as fresh:
            summary = import_file(fresh, path, user="tester", progress=progressed.append)
            assert (summary.created, summary.rejected_count) == (created, 0)
            assert sum(progressed) == summary.rows == len(TEMPLATE_ROWS) + len(
                _LATER_ROWS[later])
            assert [c.name for c in fresh.search("下月签约")][:1] == [
                "E集团" if later != "names repeated across chunks" else "A科技有限公司"]
            assert {c.name for c in fresh.search("集")} == {
                "names repeated across chunks": {"D集团"},
                "a name repeated in a chunk": {"D集团", "E集团"},
                "every name once": {"D集团", "E集团", "F恒达集团"}}[later]
            assert fresh.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert not Path(f"{db}.search-build").exists()
        states.append({**_imported_state(db), "notes": summary.notes})
    assert states[0] == states[1]
    assert bool(states[1]["notes"]) == (later != "every name once")  # "row 7: ... row 2"
    assert sum(handed) == len(states[1]["grams"])  # gathered here, in batches
    assert len(handed) > 1 if gram_batch < created else len(handed) == 1
    # Fresh until the chunk with a name seen before; the rest the ordinary way.
    assert written == {"names repeated across chunks": [True, True, False],
                       "a name repeated in a chunk": [True, True, True, False],
                       "every name once": [True] * 4}[later]


@pytest.mark.parametrize("table", ["customers", "needs"])
def test_a_fresh_load_of_the_demo_data_writes_what_the_ordinary_import_writes(
        demo_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str,
        ) -> None:
    """Every table a fresh load fills (customers, tags, follow-ups, plans, contacts,
    grams, search documents, history) holds what the ordinary import gives."""
    from tuicrm.core.store import bulk, searchbuild

    path = tmp_path / f"{table}.csv"
    export_file(demo_store, path, table=table)  # type: ignore[arg-type]
    monkeypatch.setattr(bulk, "CHUNK", 2)
    monkeypatch.setattr(bulk, "SEGMENT_STEP", 40)  # segmented 40 customers at a time
    monkeypatch.setattr(searchbuild.GramBatches.__init__, "__defaults__", (3,))
    written: list[int] = []
    write_fresh = bulk.BulkImport._write_fresh

    def note_chunk(self: bulk.BulkImport, plan: bulk.FreshChunk) -> bool:
        written.append(plan.rows)
        return write_fresh(self, plan)

    monkeypatch.setattr(bulk.BulkImport, "_write_fresh", note_chunk)
    states = []
    for big_from in (10**9, 1):
        monkeypatch.setattr(bulk, "BIG_IMPORT", big_from)
        db = tmp_path / f"{table}-{big_from}.db"
        segmenter = RulesSegmenter(default_rules(), dt.date(2024, 6, 1))
        with Store(db, segmenter=segmenter) as fresh:
            summary = import_file(fresh, path, table=table, user="tester")  # type: ignore[arg-type]
            assert summary.created == demo_store.customer_count()
            assert not summary.rejected
            segmented = state(fresh)
            if big_from == 1:  # a fresh load says everyone is segmented, as of when
                assert segmented is not None
                assert (segmented["as_of"], segmented["customers"]) == ("2024-06-01",
                                                                       summary.created)
            history = sorted(fresh.conn.execute(
                "SELECT customer_id, kind, old, new, reason FROM tier_history"))
        states.append({**_imported_state(db), "history": history})
    assert states[0] == states[1]
    assert states[1]["history"] and all(c[9] for c in states[1]["customers"])  # tiers
    assert sum(written) == demo_store.customer_count() and len(written) > 2
    assert states[1]["contacts"] if table == "needs" else (
        states[1]["followups"] and states[1]["plans"])


@pytest.mark.parametrize(("case", "error"), [
    ("a refused row", None),
    ("the index builder fails at the end", sqlite3.OperationalError),
])
def test_a_big_import_that_fails_leaves_the_empty_database_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str,
        error: type[Exception] | None) -> None:
    """The path of a big import into an empty database (a rollback journal instead of
    the log, the index built on another thread) rolls back whole, and the database is in
    WAL again."""
    from tuicrm.core.store import bulk, searchbuild

    rows = list(TEMPLATE_ROWS)
    if error is None:
        rows.append(["坏金额公司", "", "", "", "", "很多", "", "", "", "", "", ""])
    else:
        monkeypatch.setattr(searchbuild, "OPTIMIZE_SQL", "SELECT gram FROM nowhere")
    path = write_csv(tmp_path / "big.csv", rows)
    monkeypatch.setattr(bulk, "BIG_IMPORT", 1)
    db = tmp_path / "empty.db"
    with Store(db) as store:
        if error is None:
            summary = import_file(store, path)
            assert not summary.written
            assert summary.rejected[0].column == "历史采购总额(万元)"
        else:
            with pytest.raises(error, match="nowhere"):
                import_file(store, path)
        assert store.customer_count() == 0
        assert store.conn.execute("SELECT count(*) FROM import_batches").fetchone() == (0,)
        assert store.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert not Path(f"{db}.search-build").exists()


def test_undo_removes_created_and_restores_updated(demo_store: Store, tmp_path: Path) -> None:
    rows = [
        ["B商贸公司", "", "", "", "", "20", "", "/快消品/新标签", "", "2024-03-01:回访/满意",
         "已签约", ""],
        ["D集团", "", "", "", "", "", "", "", "", "", "暂停", ""],
        ["新客户有限公司", "张总", "", "", "", "10", "", "", "", "", "培育中", "专员"],
    ]
    path = write_csv(tmp_path / "batch.csv", rows)
    before = customers(demo_store)
    count = demo_store.customer_count()
    summary = import_file(demo_store, path, user="tester")
    assert summary.batch_id is not None
    d = demo_store.customer_by_name("D集团")
    demo_store.update_customer(d.id or 0, {"status": "有人改过"}, user="someone")

    undo = undo_batch(demo_store, summary.batch_id, user="tester")
    assert undo.removed == 1
    assert demo_store.customer_count() == count
    after = customers(demo_store)
    assert after["B商贸公司"] == before["B商贸公司"]
    assert after["D集团"]["status"] == "有人改过"
    assert undo.kept == ["'D集团': status was changed since the import (now '有人改过'); kept"]
    b = demo_store.profile(demo_store.customer_by_name("B商贸公司").id or 0)
    assert all(f.content != "回访" for f in b.followups)
    assert all(t.value != "新标签" for t in b.tags)
    assert str(b.customer.last_contact_date) == "2024-02-18"
    assert demo_store.search("新客户") == []
    result = invoke(Path(demo_store.path), "import", "--undo", str(summary.batch_id))  # type: ignore[arg-type]
    assert result.exit_code == 1 and "already undone" in result.output


def test_undo_from_the_command_line(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", TEMPLATE_ROWS)
    db = Path(store.path)  # type: ignore[arg-type]
    result = invoke(db, "import", str(path))
    assert "imported as batch 1: 5 created" in result.output
    result = invoke(db, "import", "--undo", "1")
    assert result.exit_code == 0 and "5 customers removed" in result.output
    assert store.customer_count() == 0


@pytest.mark.parametrize("suffix", ["csv", "xlsx", "json"])
@pytest.mark.parametrize("table", ["customers", "needs", "strategy", "followups"])
def test_round_trip(demo_store: Store, tmp_path: Path, table: str, suffix: str) -> None:
    """Export, import into an empty database, export again: the same file content; and
    importing an export into the database it came from changes nothing."""
    first = tmp_path / f"first.{suffix}"
    export_file(demo_store, first, table="customers")
    again = import_file(demo_store, first)
    assert (again.created, again.updated, again.added, again.rejected) == (0, 0, 0, [])

    with Store(tmp_path / "copy.db") as copy:
        import_file(copy, first)  # the customers, which the other tables hang off
        if table != "customers":
            path = tmp_path / f"{table}.{suffix}"
            export_file(demo_store, path, table=table)  # type: ignore[arg-type]
            summary = import_file(copy, path, table=table)  # type: ignore[arg-type]
            assert not summary.rejected, summary.rejected
            twice = import_file(copy, path, table=table)  # type: ignore[arg-type]
            assert (twice.created, twice.updated, twice.added) == (0, 0, 0)
        else:
            path = first
        second = tmp_path / f"second.{suffix}"
        export_file(copy, second, table=table)  # type: ignore[arg-type]
    assert _content(second) == _content(path)


def _content(path: Path) -> list[list[str]]:
    from tuicrm.core.io.readers import open_sheet
    from tuicrm.core.io.values import cell_text

    sheet = open_sheet(path)
    return [sheet.headers] + [[cell_text(c) for c in cells] for _, cells in sheet.rows()]


def test_xlsx_export_is_styled_and_imports(demo_store: Store, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "list.xlsx"
    assert export_file(demo_store, path) == 7
    sheet = load_workbook(path).active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == TEMPLATE_HEADERS
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"
    assert (sheet.column_dimensions["A"].width or 0) >= 14
    assert sheet["F2"].value == 80
    with Store(tmp_path / "copy.db") as copy:
        summary = import_file(copy, path)
        assert summary.created == 7
        assert customers(copy) == customers(demo_store)


def test_xlsx_written_by_someone_else_imports(store: Store, tmp_path: Path) -> None:
    import datetime as dt

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(TEMPLATE_HEADERS)
    for row in TEMPLATE_ROWS:
        cells: list[Any] = list(row)
        cells[4] = dt.datetime.fromisoformat(_iso(row[4]))  # a real date cell
        cells[5] = {"80": 80.0, "15": 15, "120": 120.0}.get(row[5], row[5])  # numbers
        sheet.append(cells)
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    summary = import_file(store, path)
    assert summary.created == 5, summary.rejected
    assert customers(store) == demo_customers()


def _iso(text: str) -> str:
    from tuicrm.core.io.values import parse_date

    date = parse_date(text)
    assert date is not None
    return date.isoformat()


def test_markdown_export(demo_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "list.md"
    export_file(demo_store, path, filters={"owner": "经理"})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# 客户管理清单"
    assert lines[2].startswith("| 客户名称 | 联系人 |")
    assert [line.split(" | ")[0] for line in lines[4:]] == ["| A科技有限公司", "| D集团"]


def test_text_is_data(store: Store, tmp_path: Path) -> None:
    rows = [["Acme [/] Corp\x1b]52;c;aGk=\x07", "=HYPERLINK(\"x\")", "", "", "", "", "",
             "", "", "", "", ""]]
    path = write_csv(tmp_path / "odd.csv", rows)
    import_file(store, path)
    c = store.customer_by_name("Acme [/] Corp]52;c;aGk=")
    assert c.contact == '=HYPERLINK("x")'
    out = tmp_path / "odd.xlsx"
    export_file(store, out)
    assert _content(out)[1][:2] == ["Acme [/] Corp]52;c;aGk=", '=HYPERLINK("x")']


def test_preview_shows_mapping_and_first_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", [*TEMPLATE_ROWS, ["F公司", "x", "", "", "bad date",
                                                                "", "", "", "", "", "", ""]],
                     header=[*TEMPLATE_HEADERS[:-1], "负责人", "微信"][:12])
    shown = preview(path, limit=6)
    assert shown.table == "customers" and shown.title == "客户管理清单"
    assert "历史采购总额(万元) → total_amount (×10000)" in shown.mapping
    assert [r[0] for r in shown.rows] == ["A科技有限公司", "B商贸公司", "C个体工作室", "D集团",
                                          "E建材公司", "F公司"]
    assert [str(e) for e in shown.records[5].errors] == [
        "row 7, 首次合作时间: 'bad date' is not a date"]


def test_followups_of_unknown_customers_are_rejected(demo_store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "f.csv", [
        ["A科技有限公司", "2024-03-02", "电话", "经理", "确认预算", "同意", "报价@2024-03-09",
         "经理", "2024-03-10"],
        ["无此客户", "2024-03-02", "电话", "", "内容", "", "", "", ""],
    ], header=headers("followups"))
    summary = import_file(demo_store, path)
    assert [str(e) for e in summary.rejected] == [
        "row 3, 客户名称: no customer named '无此客户'; import the customer list first"]
    assert not summary.written
    summary = import_file(demo_store, path, skip_invalid=True)
    assert summary.added == 1
    a = demo_store.profile(demo_store.customer_by_name("A科技有限公司").id or 0)
    assert a.followups[0].method == "电话" and a.followups[0].todos[0].text == "报价"
    assert str(a.customer.next_due_manual) == "2024-03-10"


def test_commands_have_help() -> None:
    for command in ("import", "export"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_core_io_imports_without_textual() -> None:
    code = ("import sys, tuicrm.core.io, tuicrm.core.store.bulk, tuicrm.cli_io; "
            "print(any(m.split('.')[0] == 'textual' for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    return [int(c) for task in tasks.iterdir()
            for c in (task / "children").read_text().split()]


def test_killed_import_leaves_the_database_as_before(tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    with Store(db):
        pass
    path = tmp_path / "big.csv"
    subprocess.run([sys.executable, str(Path(__file__).parent.parent / "benchmarks"
                                        / "customer_list_csv.py"), "60000", str(path)],
                   check=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tuicrm", "--db", str(db), "import", str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = db.stat().st_size
    # Kill it once it has written a good part of the file into the open transaction:
    # into the database itself (a big import into an empty one keeps a rollback
    # journal) or into the write-ahead log.
    written = (db, Path(f"{db}-wal"))
    for _ in range(1200):
        if sum(f.stat().st_size for f in written if f.exists()) > start + 8_000_000:
            break
        try:
            proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail("the import finished before it could be killed")
    # The process reading the file (a fresh load) notices when it next hands rows
    # over, and ends.
    children = [os.pidfd_open(pid) for pid in _children(proc.pid)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for child in children:
        assert select.select([child], [], [], 30)[0], "the reading process lives on"
        os.close(child)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM import_batches").fetchone()[0] == 0
    conn.close()
    with Store(db) as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_unknown_columns_round_trip_as_custom_fields(store: Store, tmp_path: Path) -> None:
    header = [*TEMPLATE_HEADERS, "微信号", "备注"]
    rows = [[*TEMPLATE_ROWS[0], "wx-a", "老客户"], [*TEMPLATE_ROWS[1], "", "-"]]
    path = write_csv(tmp_path / "extra.csv", rows, header=header)
    result = invoke(Path(store.path), "import", str(path), "--map", "备注=-")  # type: ignore[arg-type]
    assert "unknown columns: 微信号 → custom field '微信号'" in result.output
    assert store.customer_by_name("A科技有限公司").custom == {"微信号": "wx-a"}
    assert store.customer_by_name("B商贸公司").custom == {}
    out = tmp_path / "out.csv"
    export_file(store, out)
    exported = _content(out)
    assert exported[0][-1] == "微信号" and exported[1][-1] == "wx-a"
    again = import_file(store, out)
    assert (again.created, again.updated) == (0, 0)


@pytest.mark.parametrize(("table", "row", "check"), [
    ("needs", ["科技有限公司", "互联网", "500人/5亿", "CEO（关注成本）；技术总监（关注系统稳定性）",
               "合作中", "系统响应速度慢", "系统加载速度提升30%"],
     lambda p: (p.customer.employees, p.customer.revenue, p.customer.stage,
                [(c.name, c.cares_about) for c in p.contacts]) == (
         500, 500_000_000, "合作中", [("CEO", "成本"), ("技术总监", "系统稳定性")])),
    ("strategy", ["YY贸易集团", "重点拓展型", "3个月内签订年度协议≥80万",
                  "提供3次免费演示；安排参观标杆客户；申请新客户5%折扣", "销售专员", "2024-06-15",
                  "签订年度协议"],
     lambda p: [(x.customer_type, [a.action for a in x.actions], str(x.deadline))
                for x in p.plans] == [("重点拓展型", ["提供3次免费演示", "安排参观标杆客户",
                                                      "申请新客户5%折扣"], "2024-06-15")]),
    ("followups", ["YY贸易集团", "2024/5/12", "电话", "销售专员", "确定演示时间为5月20日14:00",
                   "同意参加", "邮寄操作手册@2024-05-19", "销售专员", "2024年5月20日"],
     lambda p: [(str(f.date), f.method, [(t.text, str(t.due)) for t in f.todos])
                for f in p.followups] == [("2024-05-12", "电话",
                                           [("邮寄操作手册", "2024-05-19")])]),
])
def test_the_other_templates_import(store: Store, tmp_path: Path, table: str,
                                    row: list[str], check: Any) -> None:
    base = write_csv(tmp_path / "names.csv", [[row[0]] + [""] * 11])
    import_file(store, base)
    path = write_csv(tmp_path / f"{table}.csv", [row], header=headers(table))  # type: ignore[arg-type]
    summary = import_file(store, path)
    assert summary.table == table and summary.written, summary.rejected
    assert check(store.profile(store.customer_by_name(row[0]).id or 0))


def test_a_file_that_changes_encoding_midway_is_refused_whole(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tuicrm.core.io import readers

    monkeypatch.setattr(readers, "SNIFF_BYTES", 300)  # as if the file were huge
    path = tmp_path / "mixed.csv"
    good = ",".join(TEMPLATE_HEADERS) + "\n" + "".join(
        ",".join([f"客户{i}", *TEMPLATE_ROWS[0][1:]]) + "\n" for i in range(300))
    bad = ",".join(TEMPLATE_ROWS[1]) + "\n"
    path.write_bytes(good.encode("utf-8") + bad.encode("gbk"))
    result = invoke(Path(store.path), "import", str(path))  # type: ignore[arg-type]
    assert result.exit_code == 1
    assert "nothing imported" in result.output and "mixes encodings" in result.output
    assert store.customer_count() == 0


# Cells that come back row after row, refused ones among them (each row is refused for
# its own), with the template rows around them.
_REPEATED_CELLS = [
    *TEMPLATE_ROWS,
    *([f"重复{i}公司", "总监", "制造业", "500-1000人", "2023-13-45", "80", "2024-01-10",
       "高价值/工业设备/稳定合作", "", "2024-02-20:沟通新设备采购需求/预算待确认", "跟进中",
       "经理"] for i in range(3)),
    *([f"再来{i}公司", "总监", "制造业", "约200人", "2023-03-15", "80", "-",
       "-/工业设备/" + "长" * 81, "", "2024-02-20:/无内容", "跟进中", "经理"]
      for i in range(2)),
    *TEMPLATE_ROWS[:2],
]


@pytest.mark.parametrize("seen_cells", [4_096, 2])
def test_a_cell_read_again_reads_as_the_first_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seen_cells: int) -> None:
    """A column remembers what a cell's text read as: every row comes out as if read
    afresh, a refused cell is refused in each row, and no two rows share a record."""
    from tuicrm.core.io import records
    from tuicrm.core.io.api import plan_import

    path = write_csv(tmp_path / "repeated.csv", _REPEATED_CELLS)
    monkeypatch.setattr(records, "SEEN_CELLS", seen_cells)
    remembered = list(plan_import(path).rows())
    monkeypatch.setattr(records._Seen, "__call__", lambda self, value, read: read(value))
    afresh = list(plan_import(path).rows())
    assert remembered == afresh
    n = len(TEMPLATE_ROWS)
    assert [len(r.errors) for r in remembered[n:n + 5]] == [1, 1, 1, 2, 2]
    assert [e.column for e in remembered[n + 3].errors] == ["细分标签(价值/需求/行为)",
                                                       "跟进记录(时间/内容/反馈)"]
    first, again = remembered[0], remembered[-2]
    assert first.followups == again.followups
    assert first.followups[0] is not again.followups[0]
