"""The ``tuicrm`` command.

Look-up commands (``find``, ``show``, ``due`` …) import only the core, never Textual, so
they answer as fast as ``grep``; the app is imported only by the commands that open it.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tuicrm.context import Context, fail, run_app
from tuicrm.core.rows import CustomerRow

if TYPE_CHECKING:
    from tuicrm.core.models import CustomerProfile

F = TypeVar("F", bound=Callable[..., Any])


def handles_errors(func: F) -> F:
    """Turn the store's refusals and invalid input into a message and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from tuicrm.core.models import InvalidInput
        from tuicrm.core.store import StoreError

        try:
            return func(*args, **kwargs)
        except InvalidInput as exc:
            fail("; ".join(exc.messages))
        except StoreError as exc:
            fail(str(exc))

    return wrapper  # type: ignore[return-value]


pass_context = click.make_pass_decorator(Context)


def json_option(func: F) -> F:
    """``--json``: machine-readable output."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             invoke_without_command=True)
@click.option("--db", metavar="PATH", help="Database file (else TUICRM_DB, else the data dir).")
@click.option("--user", metavar="NAME", help="Who is working (else TUICRM_USER, else login).")
@click.option("--today", metavar="YYYY-MM-DD", help="Evaluate rules as of this date.")
@click.option("--rules", metavar="PATH", help="Rules file (else TUICRM_RULES, else beside db).")
@click.version_option(package_name="tuicrm")
@click.pass_context
def cli(ctx: click.Context, db: str | None, user: str | None, today: str | None,
        rules: str | None) -> None:
    """tuicrm: a keyboard-driven CRM for sales teams that segment their customers.

    Without a command, opens the app on the database.
    """
    ctx.obj = Context(db, user, today, rules)
    if ctx.invoked_subcommand is None:
        run_app(ctx.obj)


@cli.command()
@click.option("--shared", is_flag=True,
              help="Team install: directory 2770, file 0660 (also TUICRM_SHARED=1).")
@pass_context
@handles_errors
def init(ctx: Context, shared: bool) -> None:
    """Create an empty database (or bring an old one up to date).

    The first user to init a database becomes its manager.
    """
    from tuicrm.core.permissions import PermissionDenied
    from tuicrm.core.store import team

    with ctx.open_store(create=True, shared=shared) as store:
        try:
            who = team.actor(store, ctx.user)
            role = f"{who.name} is a {who.role}"
        except PermissionDenied:
            role = f"{ctx.user} is not one of its users"
    click.echo(f"database ready at {ctx.db_path} ({role})")


@cli.command()
@pass_context
@handles_errors
def seed(ctx: Context) -> None:
    """Load the demo data: the template's seven customers and 200 generated ones."""
    from tuicrm.core.seed import load_demo

    with ctx.open_store(create=True) as store:
        if store.customer_count():
            fail(f"{ctx.db_path} already has customers; seed an empty database")
        added = load_demo(store, user=ctx.user, end=ctx.today)
    click.echo(f"loaded {added} demo customers into {ctx.db_path}")


@cli.command()
@click.option("--customers", "count", type=click.IntRange(min=1), required=True,
              help="How many customers to generate.")
@click.option("--seed", "seed_value", type=int, default=1, show_default=True,
              help="Random seed: the same seed gives the same data.")
@click.option("--timings", is_flag=True,
              help="Print the wall and CPU seconds of each step on stderr.")
@pass_context
@handles_errors
def gen(ctx: Context, count: int, seed_value: int, timings: bool) -> None:
    """Generate synthetic customers (for trying tuicrm at scale)."""
    from tuicrm.core.gen import generate

    def phase(name: str, wall: float, cpu: float) -> None:
        click.echo(f"{name:<18} {wall:7.1f} s wall {cpu:7.1f} s CPU", err=True)

    with ctx.open_store(create=True) as store:
        start = store.customer_count()
        with click.progressbar(length=count, label="generating", file=sys.stderr) as bar:
            generate(store, count, seed=seed_value, end=ctx.today, start_index=start,
                     progress=bar.update, phase=phase if timings else None)
    click.echo(f"generated {count} customers in {ctx.db_path}")


@cli.command()
@click.argument("query")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@json_option
@pass_context
def find(ctx: Context, query: str, limit: int, as_json: bool) -> None:
    """Find customers by name, pinyin (akj, keji), contact, tag or follow-up text."""
    from tuicrm.core import lookup

    # A look-up reads through a plain connection: opening the store would import the
    # models, sqlite-utils and the rules, several times the query's cost.
    path = ctx.safe_db_path()
    try:
        rows: Sequence[CustomerRow] = lookup.find(path, query, limit=limit)
    except lookup.SchemaNotReady:
        with ctx.open_store() as store:  # applies the migrations
            rows = store.search(query, limit=limit)
    if as_json:
        click.echo(json.dumps([r.as_json() for r in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        fail(f"no customer matches {query!r}")
    click.echo(_format_rows(rows))


def _format_rows(rows: Sequence[CustomerRow]) -> str:
    from tuicrm.core.textcells import pad

    lines = []
    for row in rows:
        lines.append("  ".join((
            pad(row.name, 24), pad(row.tier or "-", 8), pad(row.status or "-", 10),
            pad(row.owner or "-", 8),
            row.last_contact_date.isoformat() if row.last_contact_date else "-",
        )).rstrip())
    return "\n".join(lines)


@cli.command()
@click.argument("name")
@json_option
@pass_context
@handles_errors
def show(ctx: Context, name: str, as_json: bool) -> None:
    """Print a customer's whole profile."""
    with ctx.open_store() as store:
        customer = store.customer_by_name(name)
        store.resegment([customer.id or 0])
        profile = store.profile(customer.id or 0)
    if as_json:
        click.echo(profile.model_dump_json(indent=2))
        return
    click.echo(_format_profile(profile))


def _format_profile(profile: CustomerProfile) -> str:
    c = profile.customer
    lines = [c.name, "=" * min(40, len(c.name) * 2)]

    from tuicrm.core.textcells import pad

    def fact(label: str, value: object) -> None:
        if value not in (None, "", 0):
            lines.append(f"{pad(label, 16)}{value}")

    fact("tier", c.tier + (f" (override: {c.tier_override_reason})" if c.tier_override else ""))
    fact("lifecycle", c.lifecycle)
    fact("strategy", c.strategy)
    fact("status", c.status)
    fact("stage", c.stage)
    fact("owner", c.owner)
    fact("contact", c.contact)
    fact("industry", c.industry)
    fact("size", c.size)
    fact("region", c.region)
    fact("source", c.source)
    fact("first deal", c.first_deal_date)
    fact("last deal", c.last_deal_date)
    fact("total (万元)", wan(c.total_amount))
    fact("annual (万元)", wan(c.annual_amount) if c.annual_amount is not None else None)
    fact("last contact", c.last_contact_date)
    fact("next due", c.next_due)
    fact("pain points", c.pain_points)
    fact("goals", c.goals)
    if profile.tags:
        lines += ["", "Tags"]
        for tag in profile.tags:
            why = f"  ({tag.reason})" if tag.reason else ""
            mark = "" if tag.source == "manual" else " [rule]"
            lines.append(f"  {tag}{mark}{why}")
    if profile.contacts:
        lines += ["", "Decision chain"]
        for p in profile.contacts:
            lines.append(f"  {p.name}  {p.title}  {p.role}  {p.cares_about}".rstrip())
    if profile.plans:
        lines += ["", "Strategy"]
        for plan in profile.plans:
            lines.append(f"  {plan.customer_type}  {plan.goal}  ({plan.owner})".rstrip())
            for a in plan.actions:
                box = "x" if a.done else " "
                lines.append(f"    [{box}] {a.action}  {a.owner}  {a.deadline or ''}".rstrip())
    if profile.followups:
        lines += ["", "Follow-ups"]
        for f in profile.followups:
            lines.append(f"  {f.date}  {f.method}  {f.content}")
            if f.feedback:
                lines.append(f"              feedback: {f.feedback}")
    open_todos = [t for t in profile.todos if not t.done]
    if open_todos:
        lines += ["", "Open to-dos"]
        for t in open_todos:
            lines.append(f"  [ ] {t.text}  {t.due or ''}  {t.owner}".rstrip())
    return "\n".join(lines)


def wan(yuan: int | None) -> str:
    """Integer yuan shown in 万元 with up to two decimals: 800000 → '80'."""
    if yuan is None:
        return "-"
    text = f"{yuan / 10000:.2f}".rstrip("0").rstrip(".")
    return text


@cli.command()
@click.argument("name")
@click.option("--method", required=True, help="上门拜访, 电话, 线上会议, 邮件, 微信 …")
@click.option("--content", required=True, help="What was discussed.")
@click.option("--feedback", default="", help="The customer's feedback, in their words.")
@click.option("--participants", default="", help="Who took part.")
@click.option("--date", "date_text", metavar="YYYY-MM-DD", help="When (default: today).")
@click.option("--next", "next_text", metavar="YYYY-MM-DD", help="Next follow-up date.")
@click.option("--todo", "todos", multiple=True, metavar="TEXT@YYYY-MM-DD",
              help="A to-do with its due date; repeat for several.")
@pass_context
@handles_errors
def log(ctx: Context, name: str, method: str, content: str, feedback: str,
        participants: str, date_text: str | None, next_text: str | None,
        todos: tuple[str, ...]) -> None:
    """Record a follow-up (a call, a visit …) with a customer."""
    from tuicrm.core.models import FollowUp

    followup = FollowUp.parse({
        "date": date_text or ctx.today.isoformat(), "method": method, "content": content,
        "feedback": feedback, "participants": participants, "owner": ctx.user,
        "next_date": next_text, "todos": [_parse_todo(t, ctx.user) for t in todos],
    })
    with ctx.open_store() as store:
        customer = store.customer_by_name(name)
        store.add_followup(customer.id or 0, followup, user=ctx.user)
        customer = store.customer(customer.id or 0)
    due = f"; next due {customer.next_due}" if customer.next_due else ""
    click.echo(f"logged {followup.method} with {customer.name} on {followup.date}{due}")


def _parse_todo(text: str, owner: str) -> dict[str, Any]:
    body, sep, due = text.rpartition("@")
    if not sep:
        return {"text": text, "owner": owner}
    return {"text": body, "due": due, "owner": owner}


@cli.command()
@pass_context
@handles_errors
def demo(ctx: Context) -> None:
    """Open the app on a fresh copy of the demo data.

    The demo is evaluated as of 2024-03-01, the date of the team's templates, so the
    example customers carry the tiers their authors gave them (``--today`` overrides).
    """
    import shutil
    import tempfile

    from tuicrm.core.seed import DEMO_TODAY, load_demo

    folder = Path(tempfile.mkdtemp(prefix="tuicrm-demo-"))
    ctx.db_path = folder / "demo.db"
    ctx.today_text = ctx.today_text or DEMO_TODAY.isoformat()
    try:
        with ctx.open_store(create=True) as store:
            load_demo(store, user=ctx.user, end=ctx.today)
        run_app(ctx)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    """Entry point of the ``tuicrm`` console script."""
    cli(prog_name="tuicrm")


from tuicrm import (  # noqa: E402  (the modules add their commands to the group above)
    cli_io,  # noqa: F401  (registers import and export)
    cli_review,  # noqa: F401  (registers review and lesson)
    cli_segment,  # noqa: F401  (registers segment, due, rules)
    cli_team,  # noqa: F401  (registers the team commands)
)

if __name__ == "__main__":
    main()
