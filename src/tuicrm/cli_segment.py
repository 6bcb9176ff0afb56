"""``tuicrm segment``, ``due`` and ``rules``: the segmentation from the shell.

Registered on the ``tuicrm`` group by one import at the bottom of ``cli.py``; like the
other look-ups, these import only the core, never Textual.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tuicrm.cli import cli, handles_errors, json_option, pass_context
from tuicrm.context import Context, fail

if TYPE_CHECKING:
    from tuicrm.core.rules import Rules
    from tuicrm.core.store import Store
    from tuicrm.core.store.segments import SegmentReport

STEPS = ("classifying", "recording history", "storing", "counting")
CUSTOMER_LIST_LIMIT = 1000


def _segment_everyone(ctx: Context, store: Store, rules: Rules) -> SegmentReport:
    """Re-segment everyone, showing the steps on stderr."""
    from tuicrm.core.store.segments import segment

    with click.progressbar(length=len(STEPS), label="segmenting", file=sys.stderr,
                           show_eta=False) as bar:

        def step(label: str) -> None:
            bar.label = f"segmenting: {label}"
            if label != STEPS[0]:
                bar.update(1)

        report = segment(store, rules, ctx.today, progress=step)
        bar.update(1)
    return report


def _ensure_current(ctx: Context, store: Store, rules: Rules) -> None:
    """Re-segment everyone unless that was last done as of today under these rules."""
    from tuicrm.core.store.segments import state

    last = state(store)
    if (last is None or last["as_of"] != ctx.today.isoformat()
            or last["rules_fingerprint"] != rules.fingerprint()):
        _segment_everyone(ctx, store, rules)


def _moves_lines(title: str, moves: dict[tuple[str, str], int],
                 examples: dict[tuple[str, str], list[str]] | None = None) -> list[str]:
    if not moves:
        return []
    lines = ["", title]
    for (old, new), count in moves.items():
        line = f"  {old or '(none)'} → {new}: {count:,}"
        if examples and examples.get((old, new)):
            shown = examples[(old, new)]
            more = f" and {count - len(shown):,} more" if count > len(shown) else ""
            line += f"  ({', '.join(shown)}{more})"
        lines.append(line)
    return lines


def _tier_lines(tiers: dict[str, int]) -> list[str]:
    from tuicrm.core.textcells import pad

    return [f"  {pad(tier or '(none)', 12)}{count:>10,}" for tier, count in tiers.items()]


@cli.command("segment")
@click.option("--limit", type=click.IntRange(min=0), default=CUSTOMER_LIST_LIMIT,
              show_default=True, help="With --json: list at most this many customers.")
@json_option
@pass_context
@handles_errors
def segment_command(ctx: Context, limit: int, as_json: bool) -> None:
    """Re-segment every customer now: counts per tier and what changed."""
    rules = ctx.rules()
    with ctx.open_store() as store:
        report = _segment_everyone(ctx, store, rules)
        customers = _customer_outcomes(store, limit) if as_json else []
    if as_json:
        data = report.as_json()
        data["tier_scheme"] = rules.tier_scheme
        data["customers_listed"] = customers
        data["customers_truncated"] = len(customers) < report.customers
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    lines = [
        f"as of {report.as_of}: {report.customers:,} customers, {report.changed:,} changed "
        f"(scheme: {rules.tier_scheme})",
        "",
        "tier",
        *_tier_lines(report.tiers),
        *_moves_lines("tier moves", report.moves),
        *_moves_lines("lifecycle moves", report.lifecycle_moves),
        *_moves_lines("strategy moves", report.strategy_moves),
    ]
    click.echo("\n".join(lines))


def _customer_outcomes(store: Store, limit: int) -> list[dict[str, Any]]:
    from tuicrm.core.store.segments import outcomes

    return outcomes(store, limit)


@cli.command("due")
@click.option("--owner", metavar="NAME", help="Only this owner's customers.")
@click.option("--within", "within_days", type=click.IntRange(min=0), default=0,
              show_default=True, help="Also list what falls due in the next DAYS days.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True,
              help="List at most this many customers.")
@json_option
@pass_context
@handles_errors
def due_command(ctx: Context, owner: str | None, within_days: int, limit: int,
                as_json: bool) -> None:
    """List the customers whose follow-up is due or overdue, most overdue first."""
    from tuicrm.core.store.segments import due

    rules = ctx.rules()
    with ctx.open_store() as store:
        _ensure_current(ctx, store, rules)
        total, overdue, rows = due(store, ctx.today, within_days=within_days, owner=owner,
                                   limit=limit)
    listed: list[dict[str, Any]] = []
    for row in rows:
        play = rules.playbook.play(row.segment) if row.segment else None
        listed.append({
            "id": row.id, "name": row.name, "owner": row.owner, "tier": row.tier,
            "segment": row.segment, "strategy": row.strategy,
            "owner_role": play.owner_role if play else "",
            "channel": play.channel if play else "",
            "cadence_days": play.cadence_days if play else None,
            "actions": play.actions if play else [],
            "last_contact_date": row.last_contact_date, "next_due": row.next_due,
            "overdue": row.overdue_days > 0, "overdue_days": max(0, row.overdue_days),
        })
    if as_json:
        click.echo(json.dumps({
            "as_of": ctx.today.isoformat(), "owner": owner, "within_days": within_days,
            "due": total, "overdue": overdue, "customers": listed,
            "truncated": len(listed) < total,
        }, ensure_ascii=False, indent=2))
        return
    if not listed:
        who = f" for {owner}" if owner else ""
        click.echo(f"nothing due as of {ctx.today}{who}")
        return
    from tuicrm.core.textcells import pad

    lines = [f"as of {ctx.today}: {total:,} due, {overdue:,} of them overdue"]
    for item in listed:
        when = (f"overdue {item['overdue_days']}d" if item["overdue"]
                else f"due {item['next_due']}")
        lines.append("  ".join((
            pad(when, 14), pad(item["name"], 24), pad(item["tier"] or "-", 8),
            pad(item["owner"] or "-", 8), f"{item['owner_role']} · {item['channel']}",
        )).rstrip())
    if len(listed) < total:
        lines.append(f"… and {total - len(listed):,} more (--limit)")
    click.echo("\n".join(lines))


@cli.command("rules")
@click.option("--check", "check_path", metavar="NEW.toml",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Show who would move under these rules; change nothing.")
@click.option("--init", "init_file", is_flag=True,
              help="Write a commented copy of the defaults to the rules path.")
@json_option
@pass_context
@handles_errors
def rules_command(ctx: Context, check_path: Path | None, init_file: bool,
                  as_json: bool) -> None:
    """Print where the rules file is and the rules in force (or try new ones)."""
    from tuicrm.core.rules import RulesError, load_rules, rules_toml, write_default_rules

    path = ctx.rules_path
    if init_file:
        if path.exists():
            fail(f"{path} already exists; edit it, or remove it to start again")
        write_default_rules(path)
        click.echo(f"wrote the default rules to {path}")
        return
    rules = ctx.rules()
    if check_path is not None:
        if not check_path.exists():
            fail(f"--check: no rules file at {check_path}")
        try:
            new = load_rules(check_path)
        except RulesError as exc:
            fail(f"refusing the rules: {exc}")
        _check(ctx, rules, new, as_json)
        return
    source = str(path) if path.exists() else f"{path} (not there: the defaults are in force)"
    if as_json:
        click.echo(json.dumps({"path": str(path), "exists": path.exists(),
                               "fingerprint": rules.fingerprint(),
                               "rules": rules.model_dump(mode="json")},
                              ensure_ascii=False, indent=2))
        return
    click.echo(f"# rules: {source}\n# fingerprint: {rules.fingerprint()}\n")
    click.echo(rules_toml(rules), nl=False)


def _check(ctx: Context, current: Rules, new: Rules, as_json: bool) -> None:
    from tuicrm.core.store.segments import compare

    with ctx.open_store() as store:
        report = compare(store, current, new, ctx.today, examples=5)
    if as_json:
        data = report.as_json()
        data["examples"] = [{"from": a, "to": b, "customers": names}
                            for (a, b), names in report.examples.items()]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    moved = sum(report.moves.values())
    strategy_moved = sum(report.strategy_moves.values())
    lines = [
        f"as of {report.as_of}, of {report.customers:,} customers, under the new rules "
        f"{moved:,} would change tier and {strategy_moved:,} strategy; nothing was changed.",
        *_moves_lines("tier moves", report.moves, report.examples),
        *_moves_lines("strategy moves", report.strategy_moves),
        *_moves_lines("lifecycle moves", report.lifecycle_moves),
        "", "tiers under the new rules", *_tier_lines(report.tiers),
    ]
    click.echo("\n".join(lines))
