"""``tuicrm import`` and ``tuicrm export``: the working tables in and out.

Registered on the ``tuicrm`` group by one import at the bottom of :mod:`tuicrm.cli`.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from tuicrm.cli import cli, handles_errors, json_option, pass_context
from tuicrm.context import Context, fail

if TYPE_CHECKING:
    from tuicrm.core.io.api import ImportPlan
    from tuicrm.core.store.bulk import ImportSummary

TABLE_CHOICE = click.Choice(["customers", "needs", "strategy", "followups"])
PROGRESS_FROM_ROWS = 5_000
ERRORS_SHOWN = 50


def _progress(total: int, label: str) -> Any:
    """A progress bar on stderr for large files, else a no-op context."""
    if total < PROGRESS_FROM_ROWS:
        return _NoBar()
    return click.progressbar(length=total, label=label, file=sys.stderr)


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None


@cli.command("import")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--table", type=TABLE_CHOICE, help="Which working table (else guessed from "
              "the headers).")
@click.option("--dry-run", is_flag=True, help="Check and count, write nothing.")
@click.option("--skip-invalid", is_flag=True,
              help="Import the valid rows even when some are invalid.")
@click.option("--rejects", "rejects_path", metavar="PATH", type=click.Path(dir_okay=False),
              help="Write the refused rows with their reasons to this CSV/XLSX.")
@click.option("--map", "mapping", multiple=True, metavar="'Old=new'",
              help="Read column Old as new (a header or field name), as 'custom:NAME', or "
              "ignore it with 'Old=-'. Repeatable.")
@click.option("--undo", "undo", type=int, metavar="BATCH",
              help="Revert an earlier import batch instead.")
@json_option
@pass_context
@handles_errors
def import_command(ctx: Context, file: str | None, table: str | None, dry_run: bool,
                   skip_invalid: bool, rejects_path: str | None, mapping: tuple[str, ...],
                   undo: int | None, as_json: bool) -> None:
    """Import a working table from CSV (UTF-8 or GBK, comma or tab), XLSX or JSON.

    The whole file is one transaction and one batch: by default nothing is written when
    any row is invalid; 'tuicrm import --undo BATCH' reverts a batch.
    """
    if undo is not None:
        _undo(ctx, undo, as_json)
        return
    if not file:
        fail("import: give a FILE (or --undo BATCH)")
    from tuicrm.core.io.api import import_file, plan_import, write_rejects
    from tuicrm.core.io.readers import UnreadableFile

    try:
        plan = plan_import(file, table=table, mapping=mapping)  # type: ignore[arg-type]
    except (UnreadableFile, ValueError) as exc:
        fail(str(exc))
    if plan.mapping.mapped("name") is None:
        fail(f"{file}: no 客户名称 (customer name) column; headers are "
             f"{', '.join(plan.sheet.headers)} (use --map 'Header=客户名称')")
    with (ctx.open_store(create=True) as store,
          _progress(plan.sheet.estimated_rows, "importing") as bar):
        try:
            summary = import_file(store, file, user=ctx.user, dry_run=dry_run,
                                  skip_invalid=skip_invalid, progress=bar.update, plan=plan)
        except UnreadableFile as exc:
            fail(f"nothing imported: {exc}")
    if rejects_path and summary.rejected_rows:
        write_rejects(rejects_path, plan, summary)
    if as_json:
        data = summary.as_dict()
        data["mapping"] = [c.describe() for c in plan.mapping.columns if c.header.strip()]
        data["unknown_columns"] = plan.mapping.unknown
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        _report(plan, summary, rejects_path)
    if summary.rejected and not summary.written and not dry_run:
        sys.exit(1)


def _report(plan: ImportPlan, summary: ImportSummary, rejects_path: str | None) -> None:
    echo = click.echo
    mapping = plan.mapping
    echo(f"{plan.sheet.path.name}: {mapping.table.title} ({mapping.table.name}), "
         f"{summary.rows} rows")
    if mapping.unknown:
        kept = [c.describe() for c in mapping.columns if c.header in mapping.unknown]
        echo("unknown columns: " + "; ".join(kept))
    for error in summary.rejected[:ERRORS_SHOWN]:
        echo(f"  {error}", err=True)
    if len(summary.rejected) > ERRORS_SHOWN:
        echo(f"  … and {len(summary.rejected) - ERRORS_SHOWN} more", err=True)
    for note in summary.notes[:ERRORS_SHOWN]:
        echo(f"  {note}")
    counts = (f"{summary.created} created, {summary.updated} updated, "
              f"{summary.unchanged} unchanged, {summary.added} records added, "
              f"{summary.rejected_count} rejected")
    if summary.dry_run:
        echo(f"dry run, nothing written: would have {counts}")
    elif summary.written:
        echo(f"imported as batch {summary.batch_id}: {counts}")
        echo(f"undo with: tuicrm import --undo {summary.batch_id}")
    else:
        echo(f"nothing imported: {summary.rejected_count} invalid rows "
             "(fix them, or use --skip-invalid to import the rest)", err=True)
    if rejects_path and summary.rejected_rows:
        echo(f"rejected rows written to {rejects_path}")


def _undo(ctx: Context, batch: int, as_json: bool) -> None:
    from tuicrm.core.store.bulk import BatchError, undo_batch

    with ctx.open_store() as store:
        try:
            result = undo_batch(store, batch, user=ctx.user)
        except BatchError as exc:
            fail(str(exc))
    if as_json:
        click.echo(json.dumps({"batch": batch, "removed": result.removed,
                               "restored": result.restored,
                               "removed_records": result.removed_records,
                               "kept": result.kept}, ensure_ascii=False, indent=2))
        return
    click.echo(f"undid batch {batch}: {result.removed} customers removed, "
               f"{result.restored} fields restored, {result.removed_records} records removed")
    for line in result.kept:
        click.echo(f"  {line}")


def _filters(pairs: tuple[str, ...]) -> dict[str, str]:
    filters: dict[str, str] = {}
    for pair in pairs:
        column, sep, value = pair.partition("=")
        if not sep:
            fail(f"--filter: {pair!r} is not 'field=value' (e.g. owner=经理, tier=高价值)")
        filters[column.strip()] = value.strip()
    return filters


@cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--table", type=TABLE_CHOICE, default="customers", show_default=True,
              help="Which working table.")
@click.option("--filter", "filters", multiple=True, metavar="FIELD=VALUE",
              help="Only customers whose field has this value (owner=经理, tier=高价值, "
              "status=跟进中). Repeatable; all must hold.")
@pass_context
@handles_errors
def export_command(ctx: Context, file: str, table: str, filters: tuple[str, ...]) -> None:
    """Export a working table as CSV, XLSX, JSON or Markdown (by FILE's suffix)."""
    from tuicrm.core.io.api import export_file
    from tuicrm.core.io.writers import format_of
    from tuicrm.core.store.bulk import count_customers

    try:
        format_of(file)
    except ValueError as exc:
        fail(str(exc))
    wanted = _filters(filters)
    with ctx.open_store() as store:
        try:
            total = count_customers(store, wanted)
        except ValueError as exc:
            fail(str(exc))
        with _progress(total, "exporting") as bar:
            count = export_file(store, file, table=table,  # type: ignore[arg-type]
                                filters=wanted, progress=bar.update)
    click.echo(f"exported {count} rows to {file}")
