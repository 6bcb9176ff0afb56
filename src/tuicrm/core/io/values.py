"""Values as people type them in spreadsheets: amounts, dates, tag and follow-up cells.

Every parser takes a cell (text, or the number/date an XLSX cell holds) and returns the
stored value, or raises :class:`ValueError` with a message that names the value.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

NONE_MARKS = frozenset(("", "-", "–", "—", "--", "/", "无", "n/a", "N/A", "null", "None"))

_PLAIN_NUMBER = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,15})?")

_UNITS = {"万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000, "元": 1}


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a trailing ``.0``, dates in ISO form."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def is_none(value: Any) -> bool:
    """An empty cell, or one of the marks people type for "none" (``-``, ``–``)."""
    if value is None:
        return True
    return type(value) is str and (not value or value in NONE_MARKS
                                   or value.strip() in NONE_MARKS)


def parse_amount(value: Any, scale: int = 1) -> int | None:
    """An amount as integer yuan; ``scale`` is the header's unit (10000 for ``(万元)``).

    Accepts ``80``, ``35万`` (the unit in the cell wins over the header's), ``１２０``,
    ``1,250.5``, ``¥8.5`` and numbers from XLSX cells.
    """
    if type(value) is str and _PLAIN_NUMBER.fullmatch(value):
        # The usual cell (``163.22``): exact integer arithmetic, half up, no Decimal.
        whole, _, fraction = str(value).partition(".")
        places: int = 10 ** len(fraction)
        yuan, rest = divmod(int(whole + fraction) * scale, places)
        return yuan + 1 if 2 * rest >= places else yuan
    if is_none(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    if isinstance(value, int | float):
        number = Decimal(str(value))
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        text = text.replace(",", "").replace(" ", "").lstrip("¥$").replace("RMB", "")
        unit: int | None = None
        for suffix in ("万元", "亿元", "万", "亿", "元", "w", "W"):
            if text.endswith(suffix) and len(text) > len(suffix):
                unit = _UNITS[suffix[0]]
                text = text[: -len(suffix)]
                break
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not an amount") from None
        if not number.is_finite():
            raise ValueError(f"{value!r} is not an amount")
        if unit is not None:
            scale = unit
    if number < 0:
        raise ValueError(f"{value!r} is negative")
    return int((number * scale).quantize(Decimal(1), rounding=ROUND_HALF_UP))


_DATE_PATTERNS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})[日号]?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)


def parse_date(value: Any) -> dt.date | None:
    """A date from ``2023-03-15``, ``2023/8/20``, ``2024年1月5日``, ``20240105`` or an
    XLSX date cell; ``-`` or empty is none."""
    if type(value) is str and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if is_none(value):
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            try:
                return dt.date(*(int(part) for part in match.groups()))
            except ValueError:
                break
    raise ValueError(f"{value!r} is not a date")


def parse_int(value: Any) -> int | None:
    """A whole number such as a head count (``800``, ``800人``)."""
    if is_none(value):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and value >= 0:
            return int(value)
        raise ValueError(f"{value!r} is not a whole number")
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "").removesuffix("人")
    if text.isdigit():
        return int(text)
    raise ValueError(f"{value!r} is not a whole number")


def format_amount(yuan: int | None, scale: int = 1) -> str:
    """Integer yuan in the column's unit, exact: 800000 → ``80`` in 万元."""
    if yuan is None:
        return ""
    if scale == 1:
        return str(yuan)
    text = format(Decimal(yuan) / Decimal(scale), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_date(value: dt.date | str | None) -> str:
    """A date in ISO form, empty for none."""
    if value is None:
        return ""
    return value if isinstance(value, str) else value.isoformat()


# -- combined cells ---------------------------------------------------------------

_SLASH = re.compile(r"\s*[/／]\s*")
_ITEMS = re.compile(r"\s*(?:[;；\n]|\r\n)\s*")


def split_slash(text: str) -> list[str]:
    """``高价值/工业设备/稳定合作`` → its parts, spaces trimmed."""
    return [part for part in _SLASH.split(text.strip())] if text.strip() else []


def split_items(text: str) -> list[str]:
    """A cell holding several items, one a line or separated by ``;`` / ``；``."""
    text = text.strip()
    if ";" not in text and "；" not in text and "\n" not in text:
        # One item, the usual case: the regular expression costs microseconds a cell.
        return [text] if text else []
    return [item for item in _ITEMS.split(text) if item]


_DATED = re.compile(r"^\s*([^:：]+?)\s*[:：]\s*(.*)$", re.S)


def parse_dated_note(text: str) -> tuple[dt.date, str, str]:
    """``2024-02-20:内容/反馈`` → date, content, feedback (feedback after the first ``/``)."""
    if text[10:11] == ":" and text[4:5] == "-" and text[7:8] == "-" and text[:4].isdigit():
        # The usual cell: an ISO date, then the note (the pattern below gives the same).
        date = parse_date(text[:10])
        if date is not None:
            content, _, feedback = _content_feedback(text[11:].strip())
            return date, content, feedback
    match = _DATED.match(text)
    if not match:
        raise ValueError(f"{text!r} is not 'date:content'")
    date = parse_date(match.group(1))
    if date is None:
        raise ValueError(f"{text!r} has no date before ':'")
    body = match.group(2).strip()
    content, _, feedback = _content_feedback(body)
    return date, content, feedback


def _content_feedback(body: str) -> tuple[str, str, str]:
    if "／" not in body:
        content, _, feedback = body.partition("/")
        return content.strip(), "", feedback.strip()
    parts = _SLASH.split(body, maxsplit=1)
    content = parts[0].strip()
    feedback = parts[1].strip() if len(parts) > 1 else ""
    return content, "", feedback


def format_dated_note(date: dt.date | str, content: str, feedback: str = "") -> str:
    """The inverse of :func:`parse_dated_note`."""
    text = f"{format_date(date)}:{content}"
    return f"{text}/{feedback}" if feedback else text


_TODO_DUE = re.compile(r"^(.*?)\s*(?:@\s*|[(（]\s*(?:截止|due)?\s*)([^()（）@]+?)\s*[)）]?$")


def parse_todo(text: str) -> tuple[str, dt.date | None]:
    """``确认采购预算@2024-03-05`` or ``确认采购预算（2024-03-05）`` → text and due date."""
    match = _TODO_DUE.match(text.strip())
    if match:
        try:
            due = parse_date(match.group(2))
        except ValueError:
            due = None
        if due is not None and match.group(1):
            return match.group(1), due
    return text.strip(), None


def format_todo(text: str, due: dt.date | str | None) -> str:
    """The inverse of :func:`parse_todo`."""
    return f"{text}@{format_date(due)}" if due else text


_SCALE = re.compile(
    r"^\s*(?:(\d[\d,.]*)\s*人?)?\s*(?:[/／]\s*(\d[\d,.]*\s*(?:万元?|亿元?|元)?))?\s*$"
)


def parse_scale(value: Any) -> tuple[int | None, int | None] | None:
    """``500人/5亿`` → (employees, revenue in yuan); ``None`` when the cell is not in
    that form (it is then kept as the size text)."""
    if is_none(value):
        return (None, None)
    text = unicodedata.normalize("NFKC", cell_text(value)).strip()
    match = _SCALE.match(text)
    if not match or not (match.group(1) or match.group(2)):
        return None
    employees = parse_int(match.group(1)) if match.group(1) else None
    revenue = parse_amount(match.group(2)) if match.group(2) else None
    return employees, revenue


def format_scale(employees: int | None, revenue: int | None) -> str:
    """The inverse of :func:`parse_scale`: ``500人/5亿``."""
    parts = [f"{employees}人" if employees is not None else ""]
    if revenue is not None:
        if revenue % 100_000_000 == 0 and revenue:
            parts.append(f"{revenue // 100_000_000}亿")
        elif revenue % 10_000 == 0 and revenue:
            parts.append(f"{format_amount(revenue, 10_000)}万")
        else:
            parts.append(f"{revenue}元")
    return "/".join(parts) if any(parts) else ""
