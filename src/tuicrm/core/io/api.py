"""Import and export of the working tables, for the CLI and the app.

``preview`` reads the first rows and the mapping without touching the database (for the
app's import screen); ``import_file`` imports a file as one batch; ``export_file`` writes
a table in the working-table layout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tuicrm.core.io.columns import TABLES, Mapping, TableName, map_headers, parse_overrides
from tuicrm.core.io.layout import CHILDREN, headers, table_rows
from tuicrm.core.io.readers import Sheet, open_sheet
from tuicrm.core.io.records import ImportRow, RowReader
from tuicrm.core.io.values import cell_text
from tuicrm.core.io.writers import write_table

if TYPE_CHECKING:
    from tuicrm.core.store import Store
    from tuicrm.core.store.bulk import ImportSummary

Progress = Callable[[int], None]


@dataclass
class ImportPlan:
    """A file opened for import: its sheet, the mapping of its headers, a row reader."""

    sheet: Sheet
    mapping: Mapping
    reader: RowReader

    def rows(self) -> Iterator[ImportRow]:
        """The file's rows, read and checked."""
        read = self.reader.read
        for number, cells in self.sheet.rows():
            row = read(number, cells)
            row.cells = cells
            yield row


def plan_import(path: str | Path, *, table: TableName | None = None,
                mapping: Sequence[str] = (), keep_unknown: bool = True) -> ImportPlan:
    """Open ``path`` and map its headers (``mapping`` holds ``Old=new`` pairs)."""
    sheet = open_sheet(path)
    mapped = map_headers(sheet.headers, table, parse_overrides(mapping),
                         keep_unknown=keep_unknown)
    return ImportPlan(sheet, mapped, RowReader(mapped))


@dataclass
class Preview:
    """What an import would read: the table, the mapping and the first rows, checked."""

    table: TableName
    title: str
    headers: list[str]
    mapping: list[str]
    unknown: list[str]
    rows: list[list[str]]
    records: list[ImportRow]
    estimated_rows: int


def preview(path: str | Path, *, table: TableName | None = None,
            mapping: Sequence[str] = (), limit: int = 10) -> Preview:
    """The first ``limit`` rows of a file and how its columns map, without writing."""
    plan = plan_import(path, table=table, mapping=mapping)
    records: list[ImportRow] = []
    rows: list[list[str]] = []
    for row in plan.rows():
        records.append(row)
        rows.append([cell_text(c) for c in row.cells])
        if len(records) >= limit:
            break
    return Preview(
        table=plan.mapping.table.name, title=plan.mapping.table.title,
        headers=plan.sheet.headers,
        mapping=[c.describe() for c in plan.mapping.columns if c.header.strip()],
        unknown=plan.mapping.unknown, rows=rows, records=records,
        estimated_rows=plan.sheet.estimated_rows,
    )


def import_file(
    store: Store,
    path: str | Path,
    *,
    table: TableName | None = None,
    mapping: Sequence[str] = (),
    user: str = "",
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    plan: ImportPlan | None = None,
) -> ImportSummary:
    """Import a file as one batch (see :class:`tuicrm.core.store.bulk.BulkImport`)."""
    from tuicrm.core.store.bulk import BulkImport

    plan = plan or plan_import(path, table=table, mapping=mapping)
    bulk = BulkImport(store, plan.mapping.table.name, source=str(Path(path).resolve()),
                      user=user, skip_invalid=skip_invalid, dry_run=dry_run,
                      progress=progress, expected_rows=plan.sheet.estimated_rows)
    name_column = plan.mapping.mapped("name")
    if name_column is not None:
        bulk.name_header = name_column.header
    return bulk.run(plan.rows())


def write_rejects(path: str | Path, plan: ImportPlan, summary: ImportSummary) -> int:
    """Write the refused rows, as read, with a last column giving the reasons."""
    reasons: dict[int, list[str]] = {}
    for error in summary.rejected:
        reasons.setdefault(error.row, []).append(f"{error.column}: {error.reason}")
    width = len(plan.sheet.headers)

    def rows() -> Iterator[list[str]]:
        for row in summary.rejected_rows:
            cells = [cell_text(c) for c in row.cells][:width]
            cells += [""] * (width - len(cells))
            yield [str(row.row), *cells, "; ".join(reasons.get(row.row, []))]

    return write_table(path, ["行号 row", *plan.sheet.headers, "错误原因 reason"], rows())


def export_file(store: Store, path: str | Path, *, table: TableName = "customers",
                filters: dict[str, str] | None = None,
                progress: Progress | None = None) -> int:
    """Write ``table`` for the customers matching ``filters``; returns the row count."""
    from tuicrm.core.store.bulk import custom_keys, export_customers

    custom = custom_keys(store, filters) if table in ("customers", "needs") else []
    customers = export_customers(store, filters, with_children=CHILDREN[table])
    if progress is not None:
        customers = _counting(customers, progress)
    return write_table(path, headers(table, custom), table_rows(table, customers, custom),
                       title=TABLES[table].title)


def _counting(items: Iterator[dict[str, object]],
              progress: Progress) -> Iterator[dict[str, object]]:
    for count, item in enumerate(items, start=1):
        yield item
        if count % 1000 == 0:
            progress(1000)
