"""Reading spreadsheets as rows: CSV (UTF-8 with or without BOM, GBK/GB18030, comma or
tab), XLSX (python-calamine) and JSON (a list of objects)."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuicrm.core.io.columns import header_row_score
from tuicrm.core.io.values import cell_text

SNIFF_BYTES = 4 << 20
HEADER_SEARCH_ROWS = 5


class UnreadableFile(ValueError):
    """A file that is not a spreadsheet tuicrm can read; the message says why."""


@dataclass
class Sheet:
    """The rows of a file: its headers and a fresh iterator over the data rows.

    Row numbers are the spreadsheet's, 1-based, the header row included, so a message
    about ``row 3`` points at the line a user sees in Excel.
    """

    path: Path
    headers: list[str]
    header_row: int
    estimated_rows: int
    encoding: str = ""

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """``(row number, cells)`` for each data row, blank rows skipped."""
        suffix = self.path.suffix.lower()
        if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
            raw = _xlsx_rows(self.path)
        elif suffix == ".json":
            raw = _json_rows(self.path, self.headers)
        else:
            raw = _csv_rows(self.path, self.encoding)
        for number, cells in enumerate(raw, start=1):
            if number <= self.header_row:
                continue
            try:
                # A CSV row is all text: one join tells a blank row.
                filled = bool("".join(cells).strip())
            except TypeError:
                filled = any(c is not None and cell_text(c).strip() for c in cells)
            if filled:
                yield number, cells


def open_sheet(path: str | Path) -> Sheet:
    """Open a CSV, XLSX or JSON file and find its header row (a title row above the
    headers, as the templates have, is skipped)."""
    path = Path(path)
    if not path.exists():
        raise UnreadableFile(f"{path}: no such file")
    suffix = path.suffix.lower()
    encoding = ""
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        head = _first_rows(_xlsx_rows(path))
        estimated = _xlsx_height(path)
    elif suffix == ".json":
        headers = _json_headers(path)
        return Sheet(path, headers, 1, _json_count(path))
    else:
        encoding = detect_encoding(path)
        head = _first_rows(_csv_rows(path, encoding))
        estimated = _count_lines(path)
    if not head:
        raise UnreadableFile(f"{path}: the file is empty")
    best = max(range(len(head)), key=lambda i: (header_row_score(head[i]), -i))
    return Sheet(path, head[best], best + 1, max(estimated - best - 1, 0), encoding)


def _first_rows(rows: Iterator[list[Any]]) -> list[list[str]]:
    head: list[list[str]] = []
    for cells in rows:
        head.append([cell_text(c).strip() for c in cells])
        if len(head) >= HEADER_SEARCH_ROWS:
            break
    return head


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` when the file decodes as UTF-8 (BOM or not), else ``gb18030`` (the
    superset of GBK that Chinese Excel writes)."""
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=len(head) < SNIFF_BYTES)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=len(head) < SNIFF_BYTES)
    except UnicodeDecodeError:
        raise UnreadableFile(
            f"{path}: neither UTF-8 nor GBK text; save it as CSV UTF-8 or XLSX"
        ) from None
    return "gb18030"


def _dialect(first_line: str) -> type[csv.Dialect]:
    return csv.excel_tab if first_line.count("\t") > first_line.count(",") else csv.excel


def _csv_rows(path: Path, encoding: str) -> Iterator[list[Any]]:
    reader = None
    try:
        with path.open(encoding=encoding, newline="") as f:
            first = f.readline()
            f.seek(0)
            reader = csv.reader(f, _dialect(first))
            yield from reader
    except UnicodeDecodeError as exc:
        where = f"after line {reader.line_num}" if reader is not None else "at the start"
        raise UnreadableFile(
            f"{path}: the text {where} is not {encoding.removesuffix('-sig')} "
            "(the file mixes encodings; save it again as CSV UTF-8)"
        ) from exc


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            count += chunk.count(b"\n")
    return count


def _xlsx_rows(path: Path) -> Iterator[list[Any]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
    except Exception as exc:  # calamine raises its own error types per format
        raise UnreadableFile(f"{path}: not a readable workbook ({exc})") from None
    yield from sheet.iter_rows()


def _xlsx_height(path: Path) -> int:
    from python_calamine import CalamineWorkbook

    try:
        return int(CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).height)
    except Exception:
        return 0


def _json_records(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnreadableFile(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise UnreadableFile(f"{path}: JSON must be a list of objects, one per row")
    return data


def _json_headers(path: Path) -> list[str]:
    headers: dict[str, None] = {}
    for record in _json_records(path):
        headers.update(dict.fromkeys(record))
    return list(headers)


def _json_count(path: Path) -> int:
    return len(_json_records(path))


def _json_rows(path: Path, headers: list[str]) -> Iterator[list[Any]]:
    yield headers
    for record in _json_records(path):
        yield [record.get(h) for h in headers]
