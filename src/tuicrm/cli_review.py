"""``tuicrm review`` and ``tuicrm lesson``: the weekly and quarterly review from the shell.

Registered on the ``tuicrm`` group by one import at the bottom of ``cli.py``; imports only
the core, never Textual.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from tuicrm.cli import cli, handles_errors, json_option, pass_context
from tuicrm.context import Context, fail


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date (use YYYY-MM-DD)")


@cli.command()
@click.option("--from", "start_text", metavar="YYYY-MM-DD",
              help="First day of the period (default: Monday of this week).")
@click.option("--to", "end_text", metavar="YYYY-MM-DD",
              help="Last day of the period (default: today).")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md",
              show_default=True, help="Report format.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report here (Markdown: the charts as SVG files beside it).")
@pass_context
@handles_errors
def review(ctx: Context, start_text: str | None, end_text: str | None, fmt: str,
           out: Path | None) -> None:
    """The review: the period's figures, the quarter's metrics against targets, problems
    and an improvement plan (strategy-review layout), with charts."""
    from tuicrm.core.review import build_review, week_of
    from tuicrm.core.review_report import bar_chart_svg, charts, to_html, to_json, to_markdown

    week_start, _ = week_of(ctx.today)
    start = _date(start_text, "--from") or week_start
    end = _date(end_text, "--to") or ctx.today
    if end < start:
        fail(f"--to {end} is before --from {start}")
    rules = ctx.rules()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    with ctx.open_store() as store:
        report = build_review(store, rules, start=start, end=end, today=ctx.today)
    if fmt == "json":
        text = to_json(report)
    elif fmt == "html":
        text = to_html(report)
    else:
        chart_files: dict[str, str] | None = None
        if out is not None:
            chart_files = {}
            for name, (title, bars) in charts(report).items():
                svg = out.with_name(f"{out.stem}-{name}.svg")
                svg.write_text(bar_chart_svg(title, bars) + "\n", encoding="utf-8")
                chart_files[name] = svg.name
        text = to_markdown(report, chart_files=chart_files)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)


@cli.group()
def lesson() -> None:
    """The team's lessons: success and failure cases linked to customers."""


@lesson.command("add")
@click.argument("title")
@click.option("--failure", is_flag=True, help="A failure case (default: a success).")
@click.option("--happened", default="", help="What happened.")
@click.option("--advice", default="", help="What to repeat (or avoid).")
@click.option("--customer", "customers", multiple=True, metavar="NAME|ID",
              help="A linked customer (repeatable).")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@pass_context
@handles_errors
def lesson_add(ctx: Context, title: str, failure: bool, happened: str, advice: str,
               customers: tuple[str, ...], tags: tuple[str, ...]) -> None:
    """Keep a lesson."""
    from tuicrm.core.models import InvalidInput
    from tuicrm.core.review import Lesson, add_lesson

    with ctx.open_store() as store:
        ids = [int(c) if c.isdigit() else int(store.customer_by_name(c).id or 0)
               for c in customers]
        try:
            kept = Lesson.model_validate({
                "title": title, "kind": "failure" if failure else "success",
                "happened": happened, "advice": advice, "customer_ids": ids,
                "tags": list(tags)})
        except ValueError as exc:
            raise InvalidInput([str(exc)]) from None
        lesson_id = add_lesson(store, kept, user=ctx.user, at=ctx.today)
    click.echo(f"lesson {lesson_id} kept")


@lesson.command("list")
@click.argument("query", required=False, default="")
@click.option("--customer", metavar="NAME|ID", help="Only lessons linked to this customer.")
@json_option
@pass_context
@handles_errors
def lesson_list(ctx: Context, query: str, customer: str | None, as_json: bool) -> None:
    """List lessons, newest first (those matching QUERY)."""
    import json

    from tuicrm.core.review import find_lessons

    with ctx.open_store() as store:
        customer_id = None
        if customer is not None:
            customer_id = (int(customer) if customer.isdigit()
                           else store.customer_by_name(customer).id)
        found = find_lessons(store, query=query, customer_id=customer_id)
    if as_json:
        click.echo(json.dumps([lsn.model_dump(mode="json") for lsn in found],
                              ensure_ascii=False, indent=2))
        return
    for lsn in found:
        tags = f" [{', '.join(lsn.tags)}]" if lsn.tags else ""
        click.echo(f"{lsn.id}\t{lsn.kind}\t{lsn.title}{tags}\t"
                   f"customers {', '.join(map(str, lsn.customer_ids)) or '-'}")
