"""The four working tables and how a file's headers map onto their columns.

Headers match whether Chinese (``历史采购总额(万元)``) or English (``Total purchases``),
with any spacing, full-width brackets or case; a unit in brackets (``(万元)``) sets the
scale of an amount column. Customer field names (``total_amount``) match too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from tuicrm.core.models import EDITABLE_FIELDS, Customer

TableName = Literal["customers", "needs", "strategy", "followups"]
TABLE_NAMES: tuple[TableName, ...] = ("customers", "needs", "strategy", "followups")

ColumnKind = Literal[
    "name", "line", "note", "date", "amount", "int", "tags", "followup", "actions",
    "scale", "contacts", "todos", "custom",
]


@dataclass(frozen=True)
class Column:
    """One column of a working table: its key in a record and its headers."""

    key: str
    header: str
    english: str
    kind: ColumnKind = "line"
    aliases: tuple[str, ...] = ()
    scale: int = 1


@dataclass(frozen=True)
class Table:
    """A working table: its Chinese title and columns, in the template's order."""

    name: TableName
    title: str
    columns: tuple[Column, ...]

    def column(self, key: str) -> Column:
        """The column with this key."""
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(key)


NAME = Column("name", "客户名称", "Customer", "name", ("客户", "customer name", "company"))

TABLES: dict[TableName, Table] = {
    "customers": Table("customers", "客户管理清单", (
        NAME,
        Column("contact", "联系人", "Contact"),
        Column("industry", "所属行业", "Industry", aliases=("行业",)),
        Column("size", "企业规模", "Company size", aliases=("规模", "size")),
        Column("first_deal_date", "首次合作时间", "First deal", "date",
               ("首次合作", "first deal date", "first cooperation")),
        Column("total_amount", "历史采购总额(万元)", "Total purchases (10k yuan)", "amount",
               ("历史采购总额", "采购总额", "total purchases", "total amount"), scale=10_000),
        Column("last_deal_date", "最近合作时间", "Last deal", "date",
               ("最近合作", "last deal date", "last cooperation")),
        Column("tags", "细分标签(价值/需求/行为)", "Segment tags (value/need/behaviour)", "tags",
               ("细分标签", "标签", "tags", "segment tags")),
        Column("strategy", "跟进策略", "Follow-up strategy", "actions", ("strategy",)),
        Column("followup", "跟进记录(时间/内容/反馈)", "Follow-up record (date/content/feedback)",
               "followup", ("跟进记录", "follow-up record", "follow-ups", "followups")),
        Column("status", "当前状态", "Status", aliases=("状态",)),
        Column("owner", "负责人", "Owner", aliases=("责任人",)),
    )),
    "needs": Table("needs", "客户信息需求分析表", (
        NAME,
        Column("industry", "所属行业", "Industry", aliases=("行业",)),
        Column("scale", "企业规模(员工数/年营收)", "Company size (employees/revenue)", "scale",
               ("企业规模", "规模", "company size", "size")),
        Column("contacts", "决策链人员信息", "Decision chain", "contacts",
               ("决策链", "决策链人员", "decision makers")),
        Column("stage", "合作阶段", "Cooperation stage", aliases=("stage", "阶段")),
        Column("pain_points", "核心需求痛点", "Pain points", "note",
               ("需求痛点", "痛点", "core needs", "pain points")),
        Column("goals", "未来3-6个月目标", "Goals (3-6 months)", "note",
               ("目标", "goals", "未来目标")),
    )),
    "strategy": Table("strategy", "销售策略制定表", (
        NAME,
        Column("customer_type", "客户类型", "Customer type"),
        Column("goal", "策略目标", "Strategy goal", aliases=("目标", "goal")),
        Column("actions", "核心策略动作", "Key actions", "actions",
               ("策略动作", "actions", "key strategy actions")),
        Column("owner", "责任人", "Owner", aliases=("负责人",)),
        Column("deadline", "时间节点", "Deadline", "date", ("deadline", "截止时间")),
        Column("expected_effect", "预期效果", "Expected effect", aliases=("expected result",)),
    )),
    "followups": Table("followups", "客户维护跟进记录表", (
        NAME,
        Column("date", "跟进日期", "Date", "date", ("日期", "follow-up date", "跟进时间")),
        Column("method", "沟通方式", "Method", aliases=("方式", "channel")),
        Column("participants", "参与人员", "Participants", aliases=("参与人",)),
        Column("content", "核心沟通内容", "Content", "note",
               ("沟通内容", "内容", "discussed", "core content")),
        Column("feedback", "客户反馈", "Feedback", "note", ("反馈", "customer feedback")),
        Column("todos", "待办事项", "To-dos", "todos", ("待办", "todo", "todos")),
        Column("owner", "负责人", "Owner", aliases=("责任人",)),
        Column("next_date", "下次跟进时间", "Next follow-up", "date",
               ("下次跟进", "下次跟进日期", "next date", "next follow-up date")),
    )),
}

_MONEY_FIELDS = {"revenue", "total_amount", "annual_amount", "profit"}
_DATE_FIELDS = {"first_contact_date", "first_deal_date", "last_deal_date", "next_due_manual"}
_INT_FIELDS = {"employees", "order_count"}
_NOTE_FIELDS = {"pain_points", "goals"}


def field_column(name: str) -> Column | None:
    """A column for a customer field named as such (``total_amount``), amounts in yuan."""
    if name not in EDITABLE_FIELDS or name == "custom":
        return None
    kind: ColumnKind = (
        "name" if name == "name" else "amount" if name in _MONEY_FIELDS
        else "date" if name in _DATE_FIELDS else "int" if name in _INT_FIELDS
        else "note" if name in _NOTE_FIELDS else "line"
    )
    return Column(name, name, name, kind)


_BRACKETED = re.compile(r"\(([^)]*)\)")
_SPACE = re.compile(r"[\s_\-]+")


def header_key(header: str) -> tuple[str, int | None]:
    """A header reduced for matching, and the scale its bracketed unit gives (if any).

    ``历史采购总额（万元）`` → (``历史采购总额``, 10000).
    """
    text = unicodedata.normalize("NFKC", header).casefold()
    text = text.replace("【", "(").replace("】", ")").replace("[", "(").replace("]", ")")
    scale: int | None = None
    for unit in _BRACKETED.findall(text):
        unit = _SPACE.sub("", unit)
        if unit in ("万元", "万", "10kyuan", "w"):
            scale = 10_000
        elif unit in ("元", "yuan", "rmb", "cny"):
            scale = 1
        elif unit in ("亿元", "亿"):
            scale = 100_000_000
    return _SPACE.sub("", _BRACKETED.sub("", text)), scale


def _full_key(header: str) -> str:
    text = unicodedata.normalize("NFKC", header).casefold()
    return _SPACE.sub("", text)


@dataclass(frozen=True)
class MappedColumn:
    """How one column of a file is read: into a table column, a custom field, or not."""

    index: int
    header: str
    column: Column | None
    custom: str = ""
    scale: int = 1

    @property
    def ignored(self) -> bool:
        """True when the column is read into nothing."""
        return self.column is None and not self.custom

    def describe(self) -> str:
        """``历史采购总额(万元) → total_amount (×10000)`` for previews and summaries."""
        if self.column is not None:
            unit = f" (×{self.scale})" if self.column.kind == "amount" and self.scale != 1 else ""
            return f"{self.header} → {self.column.key}{unit}"
        if self.custom:
            return f"{self.header} → custom field {self.custom!r}"
        return f"{self.header} → ignored"


@dataclass
class Mapping:
    """A file's headers mapped onto a working table."""

    table: Table
    columns: list[MappedColumn]
    unknown: list[str] = field(default_factory=list)

    def mapped(self, key: str) -> MappedColumn | None:
        """The file column read into ``key``, if any."""
        for column in self.columns:
            if column.column is not None and column.column.key == key:
                return column
        return None


def _lookup(table: Table) -> dict[str, Column]:
    index: dict[str, Column] = {}
    for column in table.columns:
        for text in (column.header, column.english, column.key, *column.aliases):
            index.setdefault(header_key(text)[0], column)
            index.setdefault(_full_key(text), column)
    return index


_LOOKUPS = {name: _lookup(table) for name, table in TABLES.items()}


def match_header(table: Table, header: str) -> tuple[Column | None, int | None]:
    """The table column a header names, with the scale of its unit."""
    key, scale = header_key(header)
    if table.name in ("customers", "needs"):
        # A field's own name (``total_amount``) reads the stored form: yuan, not 万元.
        by_field = field_column(header.strip())
        if by_field is not None:
            return by_field, scale
    lookup = _LOOKUPS[table.name]
    return lookup.get(_full_key(header)) or lookup.get(key), scale


def guess_table(headers: Sequence[str]) -> TableName:
    """The working table whose headers the file's headers match best."""
    best: TableName = "customers"
    best_score = -1
    for name in TABLE_NAMES:
        table = TABLES[name]
        score = sum(1 for h in headers if h.strip() and match_header(table, h)[0] is not None)
        if score > best_score:
            best, best_score = name, score
    return best


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """``--map 'Old=new'`` options as a dict; raises ValueError on a pair without ``=``."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip():
            raise ValueError(f"--map: {pair!r} is not 'Old header=new'")
        overrides[_full_key(old)] = new.strip()
    return overrides


def map_headers(
    headers: Sequence[str],
    table: TableName | None = None,
    overrides: dict[str, str] | None = None,
    *,
    keep_unknown: bool = True,
) -> Mapping:
    """Map a file's headers onto a table (guessed when not given).

    ``overrides`` (from :func:`parse_overrides`) maps a header to another header or field
    name, to ``custom:NAME``, or to ``-`` (ignore). Unknown headers become custom fields
    of customers (``keep_unknown``) or are ignored; either way they are listed in
    ``unknown``.
    """
    overrides = overrides or {}
    chosen = TABLES[table or guess_table(
        [overrides.get(_full_key(h), h) for h in headers])]
    columns: list[MappedColumn] = []
    unknown: list[str] = []
    taken: set[str] = set()
    can_keep = chosen.name in ("customers", "needs")
    for index, header in enumerate(headers):
        target = overrides.get(_full_key(header), header)
        if target in ("-", ""):
            columns.append(MappedColumn(index, header, None))
            continue
        if target.startswith("custom:"):
            columns.append(MappedColumn(index, header, None, custom=target[7:].strip()))
            continue
        column, scale = match_header(chosen, target)
        if column is not None and column.key not in taken:
            taken.add(column.key)
            columns.append(MappedColumn(
                index, header, column,
                scale=scale if scale is not None else (1 if column.header == column.key
                                                       else column.scale),
            ))
            continue
        if not header.strip():
            columns.append(MappedColumn(index, header, None))
            continue
        unknown.append(header)
        keep = (keep_unknown or target != header) and can_keep
        columns.append(MappedColumn(index, header, None, custom=target.strip() if keep else ""))
    return Mapping(chosen, columns, unknown)


def header_row_score(cells: Sequence[str]) -> int:
    """How many cells of a row name some column of some table (to find the header row
    under a title row)."""
    return max(
        sum(1 for c in cells if c.strip() and match_header(TABLES[name], c)[0] is not None)
        for name in TABLE_NAMES
    )


def customer_field_names() -> tuple[str, ...]:
    """The customer's model fields, for ``--map`` help."""
    return tuple(Customer.model_fields)
