"""Writing rows as CSV (UTF-8 with BOM, so Excel reads the Chinese), XLSX (openpyxl, the
header row styled and the columns sized), JSON (one object per row, keyed by header) and
Markdown (a pipe table)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from tuicrm.core.io.values import cell_text
from tuicrm.core.textcells import cell_width

FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".xlsx": "xlsx", ".json": "json",
           ".md": "markdown", ".markdown": "markdown"}
SIZING_ROWS = 500
MAX_WIDTH = 60


def format_of(path: str | Path) -> str:
    """The format a file name asks for; raises ValueError for an unknown suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"{path}: cannot tell the format; use .csv, .xlsx, .json or .md")
    return FORMATS[suffix]


def write_table(path: str | Path, headers: Sequence[str], rows: Iterable[Sequence[Any]],
                *, title: str = "") -> int:
    """Write ``rows`` under ``headers`` in the format of ``path``; returns the row count.

    The file is written beside its final name and moved into place, so a failed export
    never leaves half a file.
    """
    path = Path(path)
    kind = format_of(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        if kind == "xlsx":
            count = _xlsx(partial, headers, rows, title)
        else:
            with partial.open("w", encoding="utf-8-sig" if kind in ("csv", "tsv") else "utf-8",
                              newline="") as f:
                if kind in ("csv", "tsv"):
                    count = _csv(f, headers, rows, "\t" if kind == "tsv" else ",")
                elif kind == "json":
                    count = _json(f, headers, rows)
                else:
                    count = _markdown(f, headers, rows, title)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return count


def _csv(f: Any, headers: Sequence[str], rows: Iterable[Sequence[Any]], delimiter: str) -> int:
    writer = csv.writer(f, delimiter=delimiter)
    writer.writerow(headers)
    count = 0
    for row in rows:
        writer.writerow([cell_text(v) for v in row])
        count += 1
    return count


def _json(f: Any, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    f.write("[")
    count = 0
    for row in rows:
        f.write(",\n  " if count else "\n  ")
        f.write(json.dumps(dict(zip(headers, row, strict=False)), ensure_ascii=False))
        count += 1
    f.write("\n]\n" if count else "]\n")
    return count


def _md_cell(value: Any) -> str:
    return cell_text(value).replace("\\", "\\\\").replace("|", "\\|").replace(
        "\r\n", "<br>").replace("\n", "<br>")


def _markdown(f: Any, headers: Sequence[str], rows: Iterable[Sequence[Any]],
              title: str) -> int:
    if title:
        f.write(f"# {title}\n\n")
    f.write("| " + " | ".join(_md_cell(h) for h in headers) + " |\n")
    f.write("|" + "|".join("---" for _ in headers) + "|\n")
    count = 0
    for row in rows:
        f.write("| " + " | ".join(_md_cell(v) for v in row) + " |\n")
        count += 1
    return count


def _xlsx(path: Path, headers: Sequence[str], rows: Iterable[Sequence[Any]],
          title: str) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=(title or "Sheet1")[:31])
    iterator: Iterator[Sequence[Any]] = iter(rows)
    head = list(islice(iterator, SIZING_ROWS))
    for index, header in enumerate(headers):
        width = max([cell_width(header)] + [cell_width(cell_text(r[index]))
                                             for r in head if index < len(r)])
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(width + 2, MAX_WIDTH)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    line = Side(style="thin", color="9BA7B0")
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
        cell.border = Border(bottom=line)
        header_cells.append(cell)
    sheet.append(header_cells)
    count = 0
    for row in (*head, *iterator) if len(head) < SIZING_ROWS else _chain(head, iterator):
        sheet.append([_xlsx_value(sheet, v) for v in row])
        count += 1
    workbook.save(path)
    return count


def _chain(head: list[Sequence[Any]], rest: Iterator[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    yield from head
    yield from rest


def _xlsx_value(sheet: Any, value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.startswith("="):
        # Text that openpyxl would write as a formula is data here: store it as text.
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value
