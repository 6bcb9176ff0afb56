"""Rows of a working table turned into what the store writes: an :class:`ImportRow`.

Every cell is checked here, with the same limits as the models (one-line text up to 200
characters, notes up to 10,000, control characters stripped), so a million rows need no
pydantic model each; a bad cell becomes a :class:`RowError` naming row, column and reason.

The combined tag column ``高价值/工业设备/稳定合作`` is read as value / need / behaviour:

- the value word is not stored when it is one the rules compute from the facts
  (高价值, 中价值, 潜力, 流失风险: the amount and the churn lane); any other word there is
  kept as a manual ``value`` tag;
- the need part is a fact: it becomes the customer's ``need_categories``;
- the behaviour parts (稳定合作, 决策周期长 …) cannot be derived from the list's columns,
  so they become manual ``behaviour`` tags, kept until removed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tuicrm.core.io.columns import Column, Mapping
from tuicrm.core.io.values import (
    cell_text,
    is_none,
    parse_amount,
    parse_date,
    parse_dated_note,
    parse_int,
    parse_scale,
    parse_todo,
    split_items,
    split_slash,
)
from tuicrm.core.models import MAX_LINE, MAX_NOTE
from tuicrm.core.text import clean_line, clean_text

VALUE_DIMENSION = "value"
BEHAVIOUR_DIMENSION = "behaviour"
VALUE_DIMENSIONS = ("value", "价值")
BEHAVIOUR_DIMENSIONS = ("behaviour", "behavior", "行为")
#: Value words the segmentation rules compute from the facts; not stored from a file.
DERIVED_VALUE_WORDS = frozenset(("高价值", "中价值", "潜力", "低价值", "流失风险"))
#: The method of a follow-up read from the customer list, which has no method column.
UNKNOWN_METHOD = "其他"


@dataclass(frozen=True)
class RowError:
    """Why a row cannot be imported: its number, the column and the reason."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.reason}"


@dataclass
class ImportRow:
    """One row of a file, checked, in the store's terms (dates as ISO text, yuan)."""

    row: int
    name: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, str] = field(default_factory=dict)
    tags: list[tuple[str, str]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    plan: dict[str, Any] | None = None
    contacts: list[dict[str, str]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """True when no cell of the row was refused."""
        return not self.errors


def _line(value: Any) -> str:
    text = cell_text(value)
    # Printable text holds no control characters and no whitespace but the space, so
    # cleaning it only trims and collapses spaces: skip the regular expressions.
    text = text.strip() if text.isprintable() and "  " not in text else clean_line(text)
    if len(text) > MAX_LINE:
        raise ValueError(f"is longer than {MAX_LINE} characters")
    return text


def _note(value: Any) -> str:
    text = cell_text(value)
    text = text.strip() if text.isprintable() else clean_text(text)
    if len(text) > MAX_NOTE:
        raise ValueError(f"is longer than {MAX_NOTE} characters")
    return text


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


_CARES = re.compile(r"^(.*?)\s*[(（]\s*(?:关注|cares about:?)?\s*(.*?)\s*[)）]$")


def parse_contact(text: str) -> dict[str, str]:
    """``刘总监/采购总监/设备稳定性`` or ``CEO（关注成本）`` → a contact's fields."""
    parts = split_slash(text)
    if len(parts) == 1:
        match = _CARES.match(parts[0])
        if match:
            return {"name": _line(match.group(1)), "title": "",
                    "cares_about": _line(match.group(2))}
    name, title, cares = [*parts, "", ""][:3]
    if len(parts) > 3:
        cares = "/".join(parts[2:])
    return {"name": _line(name), "title": _line(title), "cares_about": _line(cares)}


Reader = Callable[[ImportRow, Any], None]

#: Cell texts a column remembers what it read them as (see _Seen).
SEEN_CELLS = 4_096
_UNSEEN = object()


class _Seen:
    """What one column's cells read as, by their text: a status, an owner or a date
    comes back row after row, and reading it again (checking for none, cleaning,
    parsing) is most of the time a row takes. Bounded: cleared when full. A cell that
    is refused raises each time, as it is not remembered."""

    def __init__(self) -> None:
        self.read: dict[str, Any] = {}

    def __call__(self, value: Any, read: Callable[[Any], Any]) -> Any:
        if value.__class__ is not str:
            return read(value)
        done = self.read.get(value, _UNSEEN)
        if done is _UNSEEN:
            done = read(value)
            if len(self.read) >= SEEN_CELLS:
                self.read.clear()
            self.read[value] = done
        return done


class RowReader:
    """Reads the rows of one file through its :class:`Mapping`."""

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping
        self.table = mapping.table.name
        self._readers: list[tuple[int, str, Reader]] = []
        for mapped in mapping.columns:
            if mapped.column is not None:
                reader = self._reader(mapped.column, mapped.scale)
                self._readers.append((mapped.index, mapped.header, reader))
            elif mapped.custom:
                self._readers.append((mapped.index, mapped.header, self._custom(mapped.custom)))

    def read(self, number: int, cells: Sequence[Any]) -> ImportRow:
        """The row's record; its ``errors`` say what was refused."""
        row = ImportRow(number)
        width = len(cells)
        for index, header, reader in self._readers:
            value = cells[index] if index < width else None
            try:
                reader(row, value)
            except ValueError as exc:
                reason = str(exc)
                if reason.startswith("is ") or reason.startswith("has "):
                    reason = f"{cell_text(value)!r} {reason}"
                row.errors.append(RowError(number, header, reason))
        if not row.name and not any(e.column == self._name_header() for e in row.errors):
            row.errors.insert(0, RowError(number, self._name_header(),
                                          "empty: a row needs the customer's name"))
        if self.table == "followups" and not row.errors:
            self._check_followup(row)
        return row

    def _name_header(self) -> str:
        mapped = self.mapping.mapped("name")
        return mapped.header if mapped else "客户名称"

    def _check_followup(self, row: ImportRow) -> None:
        record = row.followups[0] if row.followups else None
        if record is None or not record.get("date"):
            header = self.mapping.mapped("date")
            row.errors.append(RowError(row.row, header.header if header else "跟进日期",
                                       "empty: a follow-up needs its date"))
        elif not record.get("content"):
            header = self.mapping.mapped("content")
            row.errors.append(RowError(row.row, header.header if header else "核心沟通内容",
                                       "empty: a follow-up needs what was discussed"))

    # -- one reader per kind of column ---------------------------------------------------

    def _custom(self, name: str) -> Reader:
        def read(row: ImportRow, value: Any) -> None:
            if not is_none(value):
                row.custom[name] = _note(value)
        return read

    def _reader(self, column: Column, scale: int) -> Reader:
        key = column.key
        kind = column.kind
        if kind == "name":
            def read_name(row: ImportRow, value: Any) -> None:
                row.name = _line(value)
            return read_name
        if self.table == "strategy" and key != "name":
            return self._plan_reader(column)
        if self.table == "followups" and key != "name":
            return self._followup_reader(column)
        if kind in ("line", "note"):
            clean = _line if kind == "line" else _note

            def text_of(value: Any) -> str | None:
                return None if is_none(value) else clean(value)

            def read_text(row: ImportRow, value: Any) -> None:
                text = seen(value, text_of)
                if text is not None:
                    row.fields[key] = text
            seen = _Seen()
            return read_text
        if kind == "date":
            def iso_of(value: Any) -> str | None:
                date = parse_date(value)
                return None if date is None else date.isoformat()

            def read_date(row: ImportRow, value: Any) -> None:
                iso = seen(value, iso_of)
                if iso is not None:
                    row.fields[key] = iso
            seen = _Seen()
            return read_date
        if kind == "amount":
            def read_amount(row: ImportRow, value: Any) -> None:
                amount = parse_amount(value, scale)
                if amount is not None:
                    row.fields[key] = amount
            return read_amount
        if kind == "int":
            def read_int(row: ImportRow, value: Any) -> None:
                number = parse_int(value)
                if number is not None:
                    row.fields[key] = number
            return read_int
        if kind == "tags":
            return _remembered(_tags_of, _add_tags)
        if kind == "followup":
            return _remembered(_followups_of, _add_followups)
        if kind == "actions":
            def read_actions(row: ImportRow, value: Any) -> None:
                if not is_none(value):
                    row.actions = [_line(a) for a in split_items(cell_text(value))]
            return read_actions
        if kind == "scale":
            return _remembered(_scale_of, _add_scale)
        if kind == "contacts":
            def read_contacts(row: ImportRow, value: Any) -> None:
                if not is_none(value):
                    row.contacts = [parse_contact(c) for c in split_items(cell_text(value))]
            return read_contacts
        raise ValueError(f"no reader for {kind}")

    def _plan_reader(self, column: Column) -> Reader:
        key = column.key

        def read(row: ImportRow, value: Any) -> None:
            plan = row.plan if row.plan is not None else {}
            row.plan = plan
            if key == "actions":
                plan["actions"] = ([] if is_none(value)
                                   else [_line(a) for a in split_items(cell_text(value))])
            elif key == "deadline":
                plan["deadline"] = _iso(parse_date(value))
            else:
                plan[key] = "" if is_none(value) else _line(value)
        return read

    def _followup_reader(self, column: Column) -> Reader:
        key = column.key

        def read(row: ImportRow, value: Any) -> None:
            if not row.followups:
                row.followups.append({"method": UNKNOWN_METHOD, "todos": []})
            record = row.followups[0]
            if column.kind == "date":
                record[key] = _iso(parse_date(value))
            elif key == "todos":
                owner_hint = record.get("owner", "")
                record["todos"] = [
                    (_line(text), _iso(due), owner_hint)
                    for text, due in (parse_todo(t) for t in split_items(cell_text(value)))
                ] if not is_none(value) else []
            elif column.kind == "note":
                record[key] = "" if is_none(value) else _note(value)
            elif not is_none(value):
                record[key] = _line(value)
        return read


def _remembered(read: Callable[[Any], Any], add: Callable[[ImportRow, Any], None]) -> Reader:
    """A reader that reads a cell's text once (see _Seen) and adds what it read."""
    seen = _Seen()

    def reader(row: ImportRow, value: Any) -> None:
        got = seen(value, read)
        if got is not None:
            add(row, got)
    return reader


# A tags cell (value/need/behaviours): the value tag, the need and the behaviour tags.
_Tags = tuple[str | None, str | None, tuple[str, ...]]


def _tags_of(value: Any) -> _Tags | None:
    if is_none(value):
        return None
    parts = split_slash(cell_text(value))
    value_word, need, behaviours = ([*parts, "", ""][0], [*parts, "", ""][1], parts[2:])
    return (
        _tag_value(value_word) if value_word and value_word not in DERIVED_VALUE_WORDS
        else None,
        _line(need) if need and need not in ("-", "–") else None,
        tuple(_tag_value(b) for b in behaviours if b and b not in ("-", "–")),
    )


def _add_tags(row: ImportRow, tags: _Tags) -> None:
    value_tag, need, behaviours = tags
    if value_tag is not None:
        row.tags.append((VALUE_DIMENSION, value_tag))
    if need is not None:
        row.fields.setdefault("need_categories", need)
    row.tags.extend((BEHAVIOUR_DIMENSION, b) for b in behaviours)


def _tag_value(text: str) -> str:
    value = clean_line(text)
    if len(value) > 80:
        raise ValueError(f"tag {value[:20]!r}… is longer than 80 characters")
    return value


def _followups_of(value: Any) -> tuple[tuple[str, str, str], ...] | None:
    """A follow-up cell's records: (date, content, feedback) each."""
    if is_none(value):
        return None
    records = []
    for item in split_items(cell_text(value)):
        date, content, feedback = parse_dated_note(item)
        if not content:
            raise ValueError(f"{item!r} has no content after the date")
        records.append((date.isoformat(), _note(content), _note(feedback)))
    return tuple(records)


def _add_followups(row: ImportRow, records: tuple[tuple[str, str, str], ...]) -> None:
    row.followups.extend({"date": date, "method": UNKNOWN_METHOD, "content": content,
                          "feedback": feedback, "todos": []}
                         for date, content, feedback in records)


def _scale_of(value: Any) -> dict[str, Any] | None:
    """A size cell as the fields it gives: a head count and revenue, or the text."""
    if is_none(value):
        return None
    parsed = parse_scale(value)
    if parsed is None:
        return {"size": _line(value)}
    employees, revenue = parsed
    fields: dict[str, Any] = {}
    if employees is not None:
        fields["employees"] = employees
    if revenue is not None:
        fields["revenue"] = revenue
    return fields


def _add_scale(row: ImportRow, fields: dict[str, Any]) -> None:
    row.fields.update(fields)
