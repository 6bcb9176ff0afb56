"""Values as people type them, header mapping and the name keys of the fast path."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuicrm.core.io.columns import TABLES, guess_table, header_key, map_headers, parse_overrides
from tuicrm.core.io.layout import headers
from tuicrm.core.io.values import (
    format_amount,
    format_scale,
    parse_amount,
    parse_date,
    parse_dated_note,
    parse_scale,
    parse_todo,
    split_slash,
)
from tuicrm.core.namekeys import NameKeys
from tuicrm.core.text import normalize_name, pinyin_full, pinyin_initials


@pytest.mark.parametrize(("cell", "scale", "yuan"), [
    ("80", 10_000, 800_000),
    ("35万", 10_000, 350_000),
    ("35万", 1, 350_000),
    ("１２０", 10_000, 1_200_000),
    ("1,250.5", 10_000, 12_505_000),
    ("¥8.5", 10_000, 85_000),
    ("￥8.5", 10_000, 85_000),
    (" 12 ", 1, 12),
    ("1.2345", 10_000, 12_345),
    ("3亿", 1, 300_000_000),
    ("5000元", 10_000, 5_000),
    (80, 10_000, 800_000),
    (80.5, 10_000, 805_000),
    ("", 10_000, None),
    ("-", 10_000, None),
    ("–", 10_000, None),
    (None, 10_000, None),
])
def test_amounts(cell: object, scale: int, yuan: int | None) -> None:
    assert parse_amount(cell, scale) == yuan


@pytest.mark.parametrize("cell", ["abc", "12abc", "-5", "1.2.3", "万", "nan", "inf"])
def test_bad_amounts(cell: str) -> None:
    with pytest.raises(ValueError, match=repr(cell)[1:-1][:2]):
        parse_amount(cell, 10_000)


@pytest.mark.parametrize(("yuan", "scale", "text"), [
    (800_000, 10_000, "80"), (12_345, 10_000, "1.2345"), (0, 10_000, "0"), (None, 1, ""),
    (35, 1, "35"),
])
def test_amounts_formatted_exactly(yuan: int | None, scale: int, text: str) -> None:
    assert format_amount(yuan, scale) == text
    assert parse_amount(text, scale) == yuan


@pytest.mark.parametrize(("cell", "date"), [
    ("2023-03-15", dt.date(2023, 3, 15)),
    ("2023/8/20", dt.date(2023, 8, 20)),
    ("2024年1月5日", dt.date(2024, 1, 5)),
    ("2024年1月5号", dt.date(2024, 1, 5)),
    ("2023.8.2", dt.date(2023, 8, 2)),
    ("20240105", dt.date(2024, 1, 5)),
    ("２０２４－０１－０５", dt.date(2024, 1, 5)),
    ("2024-01-05 00:00:00", dt.date(2024, 1, 5)),
    (dt.datetime(2024, 1, 5, 0, 0), dt.date(2024, 1, 5)),
    (dt.date(2024, 1, 5), dt.date(2024, 1, 5)),
    ("-", None), ("–", None), ("", None), (None, None), ("  ", None),
])
def test_dates(cell: object, date: dt.date | None) -> None:
    assert parse_date(cell) == date


@pytest.mark.parametrize("cell", ["2023-13-45", "2023-02-30", "yesterday", "15/03/2023", "2023"])
def test_bad_dates(cell: str) -> None:
    with pytest.raises(ValueError, match="is not a date"):
        parse_date(cell)


@pytest.mark.parametrize(("cell", "expected"), [
    ("2024-02-20:讨论新设备采购", (dt.date(2024, 2, 20), "讨论新设备采购", "")),
    ("2024-02-20：讨论新设备采购/预算待确认",
     (dt.date(2024, 2, 20), "讨论新设备采购", "预算待确认")),
    ("2024/2/20: 内容 / 反馈", (dt.date(2024, 2, 20), "内容", "反馈")),
])
def test_followup_cell(cell: str, expected: tuple[dt.date, str, str]) -> None:
    assert parse_dated_note(cell) == expected


def test_followup_cell_without_date() -> None:
    with pytest.raises(ValueError):
        parse_dated_note("讨论新设备采购")


@pytest.mark.parametrize(("cell", "parts"), [
    ("高价值/工业设备/稳定合作", ["高价值", "工业设备", "稳定合作"]),
    ("高价值 ／ 工业设备", ["高价值", "工业设备"]),
    ("/快消品/间歇合作", ["", "快消品", "间歇合作"]),
])
def test_tag_cell_split(cell: str, parts: list[str]) -> None:
    assert split_slash(cell) == parts


@pytest.mark.parametrize(("cell", "expected"), [
    ("确认采购预算@2024-03-05", ("确认采购预算", dt.date(2024, 3, 5))),
    ("竞品分析（2024-05-15）", ("竞品分析", dt.date(2024, 5, 15))),
    ("邮寄操作手册", ("邮寄操作手册", None)),
])
def test_todo_cell(cell: str, expected: tuple[str, dt.date | None]) -> None:
    assert parse_todo(cell) == expected


@pytest.mark.parametrize(("cell", "expected"), [
    ("500人/5亿", (500, 500_000_000)), ("200人 / 1亿", (200, 100_000_000)),
    ("800人", (800, None)), ("500-1000人", None), ("-", (None, None)),
])
def test_scale_cell(cell: str, expected: tuple[int | None, int | None] | None) -> None:
    assert parse_scale(cell) == expected
    if expected and expected != (None, None):
        assert parse_scale(format_scale(*expected)) == expected


@pytest.mark.parametrize(("header", "key", "scale"), [
    ("历史采购总额(万元)", "历史采购总额", 10_000),
    ("历史采购总额（万元）", "历史采购总额", 10_000),
    (" 历史 采购总额 【万元】", "历史采购总额", 10_000),
    ("Total purchases (yuan)", "totalpurchases", 1),
    ("客户名称", "客户名称", None),
])
def test_header_keys(header: str, key: str, scale: int | None) -> None:
    assert header_key(header) == (key, scale)


@pytest.mark.parametrize(("header", "column", "scale"), [
    ("客户名称", "name", 1), (" 客户 名称 ", "name", 1), ("Customer", "name", 1),
    ("CUSTOMER NAME", "name", 1), ("历史采购总额（万元）", "total_amount", 10_000),
    ("历史采购总额(元)", "total_amount", 1), ("Total purchases (10k yuan)", "total_amount", 10_000),
    ("total_amount", "total_amount", 1), ("细分标签（价值/需求/行为）", "tags", 1),
    ("跟进记录", "followup", 1), ("Status", "status", 1), ("region", "region", 1),
])
def test_customer_headers_map(header: str, column: str, scale: int) -> None:
    mapping = map_headers([header, "客户名称"], "customers")
    mapped = mapping.columns[0]
    assert mapped.column is not None and mapped.column.key == column
    assert mapped.scale == scale


@pytest.mark.parametrize("table", list(TABLES))
def test_table_guessed_from_its_headers(table: str) -> None:
    assert guess_table(headers(table)) == table  # type: ignore[arg-type]
    english = [c.english for c in TABLES[table].columns]  # type: ignore[index]
    assert guess_table(english) == table


def test_unknown_columns_kept_as_custom_or_ignored_or_mapped() -> None:
    cells = ["客户名称", "微信号", "备注", "Kunde"]
    mapping = map_headers(cells, "customers", parse_overrides(["备注=-", "Kunde=联系人"]))
    described = [c.describe() for c in mapping.columns]
    assert described == ["客户名称 → name", "微信号 → custom field '微信号'", "备注 → ignored",
                         "Kunde → contact"]
    assert mapping.unknown == ["微信号"]
    with pytest.raises(ValueError, match="not 'Old header=new'"):
        parse_overrides(["no equals sign"])


def test_name_keys_match_the_slow_path() -> None:
    from tuicrm.core.gen import company_name

    rng = random.Random(3)
    names = [company_name(i * 7919, rng)[0] for i in range(500)] + [
        "ABC-12科技（北京）a", "重庆长安汽车有限公司", "Ａ科技 有限公司", "银行行长", "YY贸易集团",
        "长沙重工", "〇号𠀀店", "Acme [/] Corp",
    ]
    keys = NameKeys()
    for name in names:
        assert keys(name) == (normalize_name(name), pinyin_full(name), pinyin_initials(name))


# Words, starts of longer words (中国人民大 of 中国人民大学) and characters read
# differently in different words (重, 行, 长), so random names cut every which way.
_NAME_PARTS = ("中国人民大", "中国人民大学", "重庆", "重", "长安", "长", "银行", "行长", "行",
               "长沙", "重工", "工业", "科技", "有限公司", "有限", "北京", "海口", "兰亭",
               "家居", "商贸", "A", "1", " ", "〇")
_keyed_twice = NameKeys(memo=3)  # a tiny memo, so rests move between its generations


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_NAME_PARTS), min_size=1, max_size=6).map("".join))
def test_name_keys_match_the_slow_path_for_any_name(name: str) -> None:
    expected = (normalize_name(name), pinyin_full(name), pinyin_initials(name))
    assert NameKeys()(name) == expected
    assert _keyed_twice(name) == expected
