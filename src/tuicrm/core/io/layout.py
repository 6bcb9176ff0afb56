"""Stored records laid out as the working tables' rows, for export.

Each cell is written in the form the import reads back to the same value, so an export
re-imports with no change: amounts in 万元 with as many decimals as they need, dates in
ISO form, ``value/need/behaviour`` tags, ``date:content/feedback`` follow-ups.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tuicrm.core.io.columns import TABLES, TableName
from tuicrm.core.io.records import BEHAVIOUR_DIMENSIONS, DERIVED_VALUE_WORDS, VALUE_DIMENSIONS
from tuicrm.core.io.values import (
    format_amount,
    format_date,
    format_dated_note,
    format_scale,
    format_todo,
)

#: What each table needs from the store besides the customer's own columns.
CHILDREN: dict[TableName, tuple[str, ...]] = {
    "customers": ("tags", "followups", "plans"),
    "needs": ("contacts",),
    "strategy": ("plans",),
    "followups": ("followups",),
}


def headers(table: TableName, custom: list[str] | None = None) -> list[str]:
    """The table's headers, as the templates spell them, then any custom fields."""
    return [c.header for c in TABLES[table].columns] + list(custom or [])


def tags_cell(customer: dict[str, Any]) -> str:
    """``高价值/工业设备/稳定合作`` from the customer's tags and need categories."""
    tags = customer.get("tags", [])
    value = next((v for d, v, _ in tags if d in VALUE_DIMENSIONS), "")
    if not value and customer.get("tier") in DERIVED_VALUE_WORDS:
        value = customer["tier"]
    behaviours = [v for d, v, _ in tags if d in BEHAVIOUR_DIMENSIONS]
    parts = [value, customer.get("need_categories", ""), *behaviours]
    while parts and not parts[-1]:
        parts.pop()
    return "/".join(parts)


def _latest_actions(customer: dict[str, Any]) -> str:
    plans = customer.get("plans", [])
    return "；".join(plans[-1]["actions"]) if plans else ""


def _latest_followup(customer: dict[str, Any]) -> str:
    followups = customer.get("followups", [])
    if not followups:
        return ""
    f = followups[0]
    return format_dated_note(f["date"], f["content"], f["feedback"])


def _contacts_cell(customer: dict[str, Any]) -> str:
    people = []
    for c in customer.get("contacts", []):
        parts = [c["name"], c["title"], c["cares_about"]]
        while parts and not parts[-1]:
            parts.pop()
        people.append("/".join(parts))
    return "；".join(people)


def table_rows(table: TableName, customers: Iterator[dict[str, Any]],
               custom: list[str] | None = None) -> Iterator[list[Any]]:
    """The rows of ``table`` for these customers (from ``bulk.export_customers``)."""
    custom = custom or []
    for c in customers:
        extra = [c["custom"].get(k, "") for k in custom]
        if table == "customers":
            yield [
                c["name"], c["contact"], c["industry"], c["size"],
                format_date(c["first_deal_date"]), _amount(c["total_amount"], 10_000),
                format_date(c["last_deal_date"]), tags_cell(c), _latest_actions(c),
                _latest_followup(c), c["status"], c["owner"], *extra,
            ]
        elif table == "needs":
            scale = format_scale(c["employees"], c["revenue"]) or c["size"]
            yield [c["name"], c["industry"], scale, _contacts_cell(c), c["stage"],
                   c["pain_points"], c["goals"], *extra]
        elif table == "strategy":
            for plan in c.get("plans", []):
                yield [c["name"], plan["customer_type"], plan["goal"],
                       "；".join(plan["actions"]), plan["owner"],
                       format_date(plan["deadline"]), plan["expected_effect"]]
        else:
            for f in reversed(c.get("followups", [])):
                todos = "；".join(format_todo(t["text"], t["due"]) for t in f["todos"])
                yield [c["name"], f["date"], f["method"], f["participants"], f["content"],
                       f["feedback"], todos, f["owner"], format_date(f["next_date"])]


def _amount(yuan: int | None, scale: int) -> int | float | str:
    """An amount as a number in the column's unit (a number cell in XLSX)."""
    text = format_amount(yuan, scale)
    if not text:
        return ""
    return int(text) if "." not in text else float(text)
