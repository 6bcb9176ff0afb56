"""The team commands: users, the public pool (公海), history, backup/restore/check, serve.

Registered on the ``tuicrm`` group by one import at the bottom of :mod:`tuicrm.cli`.
Like the look-ups, they import only the core (``serve`` imports textual-serve when run).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from tuicrm.cli import _format_rows, cli, handles_errors, json_option, pass_context
from tuicrm.context import Context, fail

if TYPE_CHECKING:
    from tuicrm.core.permissions import Actor
    from tuicrm.core.store import Store


def _actor(ctx: Context, store: Store) -> Actor:
    """The current user with their role; says so when a requested name was ignored."""
    from tuicrm.core.store import team

    if ctx.identity.ignored:
        click.echo(
            f"tuicrm: running through sudo as {ctx.identity.name}; "
            f"ignoring the requested user {ctx.identity.ignored!r}", err=True,
        )
    return team.actor(store, ctx.user)


# -- users -----------------------------------------------------------------------------


@cli.group()
def user() -> None:
    """Users and their roles (rep, manager)."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["rep", "manager"]), default="rep",
              show_default=True, help="rep: edits own customers; manager: everything.")
@pass_context
@handles_errors
def user_add(ctx: Context, name: str, role: str) -> None:
    """Add a user (managers only)."""
    from tuicrm.core.store import team

    with ctx.open_store() as store:
        added = team.add_user(store, _actor(ctx, store), name, role)  # type: ignore[arg-type]
    click.echo(f"added {added.name} as {added.role}")


@user.command("list")
@json_option
@pass_context
@handles_errors
def user_list(ctx: Context, as_json: bool) -> None:
    """List the users and their roles."""
    from tuicrm.core.store import team

    with ctx.open_store() as store:
        _actor(ctx, store)
        everyone = team.users(store)
    if as_json:
        click.echo(json.dumps([u.__dict__ for u in everyone], ensure_ascii=False, indent=2))
        return
    for u in everyone:
        click.echo(f"{u.name:<20} {u.role:<8} since {u.created_at[:10]}")


# -- the public pool -------------------------------------------------------------------


@cli.command("pool")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Days without a follow-up by the owner before a customer returns "
                   "to the pool (default 90).")
@json_option
@pass_context
@handles_errors
def pool_command(ctx: Context, days: int | None, as_json: bool) -> None:
    """Return neglected customers to the public pool (公海) and list the pool."""
    from tuicrm.core.store import team

    with ctx.open_store() as store:
        _actor(ctx, store)
        returned = team.return_to_pool(store, today=ctx.today, days=days or team.POOL_DAYS)
        rows = team.pool(store)
    if as_json:
        click.echo(json.dumps([r.as_json() for r in rows], ensure_ascii=False,
                              indent=2))
        return
    for entry in returned:
        last = entry.last_followup or "never"
        click.echo(f"returned to the pool: {entry.name} (owner {entry.owner}, "
                   f"last follow-up {last})", err=True)
    if not rows:
        click.echo("the pool is empty")
        return
    click.echo(_format_rows(rows))


@cli.command()
@click.argument("name")
@pass_context
@handles_errors
def claim(ctx: Context, name: str) -> None:
    """Claim a customer from the pool; the first claim wins."""
    from tuicrm.core.store import team

    with ctx.open_store() as store:
        me = _actor(ctx, store)
        customer = team.claim(store, me, store.customer_by_name(name).id or 0,
                              today=ctx.today)
    click.echo(f"{customer.name} is now yours, {me.name}")


@cli.command()
@click.argument("name")
@click.option("--to", "to_user", required=True, metavar="USER",
              help="The new owner ('' puts the customer in the pool).")
@pass_context
@handles_errors
def assign(ctx: Context, name: str, to_user: str) -> None:
    """Give a customer to a user (managers only)."""
    from tuicrm.core.store import team

    with ctx.open_store() as store:
        me = _actor(ctx, store)
        customer = team.assign(store, me, store.customer_by_name(name).id or 0, to_user,
                               today=ctx.today)
    click.echo(f"{customer.name} now belongs to {customer.owner or 'the pool'}")


# -- history ---------------------------------------------------------------------------


@cli.command()
@click.argument("name")
@json_option
@pass_context
@handles_errors
def history(ctx: Context, name: str, as_json: bool) -> None:
    """Every change of a customer: who, when, which field, old and new value."""
    from tuicrm.core.permissions import require_view

    with ctx.open_store() as store:
        me = _actor(ctx, store)
        customer = store.customer_by_name(name)
        require_view(me, customer)
        entries = store.history(customer.id or 0)
    if as_json:
        click.echo(json.dumps([e.model_dump(mode="json") for e in entries],
                              ensure_ascii=False, indent=2))
        return
    for e in entries:
        change = f"{e.old or ''} → {e.new or ''}" if e.old is not None else (e.new or "")
        click.echo(f"{e.at:%Y-%m-%d %H:%M}  {e.user:<10} {e.action:<14} {e.field:<12} "
                   f"{change}".rstrip())


# -- safety ----------------------------------------------------------------------------


@cli.command()
@click.argument("dest", type=click.Path(dir_okay=True, writable=True))
@pass_context
@handles_errors
def backup(ctx: Context, dest: str) -> None:
    """Copy the database to DEST (a file or a directory) while others keep working."""
    from tuicrm.core.permissions import require_manager
    from tuicrm.core.store import team

    with ctx.open_store() as store:
        require_manager(_actor(ctx, store), "take a backup")
        written = team.backup(store, dest)
    click.echo(f"backed up {ctx.db_path} to {written}")


@cli.command()
@click.argument("src", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_context
@handles_errors
def restore(ctx: Context, src: str, yes: bool) -> None:
    """Replace the database with the backup SRC (refused if SRC fails integrity_check)."""
    from tuicrm.core.store import team

    team.verify_backup(src)
    if not yes:
        click.confirm(f"replace everything in {ctx.db_path} with {src}?", abort=True)
    with ctx.open_store(create=True) as store:
        saved = team.restore(store, _actor(ctx, store), src)
    kept = f"; the previous content is in {saved}" if saved else ""
    click.echo(f"restored {ctx.db_path} from {src}{kept}")


@cli.command("check")
@pass_context
@handles_errors
def check_command(ctx: Context) -> None:
    """Check the database: integrity, foreign keys, WAL mode, file permissions."""
    from tuicrm.core.store import team

    with ctx.open_store() as store:
        problems = team.check(store)
    if problems:
        for problem in problems:
            click.echo(f"problem: {problem}", err=True)
        fail(f"{ctx.db_path}: {len(problems)} problem(s)")
    click.echo(f"{ctx.db_path}: ok")


# -- browser access --------------------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback needs --allow-remote.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--allow-remote", is_flag=True,
              help="Allow binding beyond loopback (prints a warning).")
@pass_context
def serve(ctx: Context, host: str, port: int, allow_remote: bool) -> None:
    """Serve the app in a browser (textual-serve), on 127.0.0.1 unless told otherwise.

    Only a page opened with the token printed at start can connect.
    """
    from tuicrm.serve import TeamServer, is_loopback, new_token, served_command

    remote = not is_loopback(host)
    if remote and not allow_remote:
        fail(f"--host {host} is reachable from other machines; add --allow-remote to mean "
             "it, or keep 127.0.0.1 and use an SSH tunnel")
    # A token even on loopback: on a shared server every other local user can reach
    # 127.0.0.1, and would otherwise drive the app as you.
    token = new_token()
    server = TeamServer(served_command(ctx), host=host, port=port, token=token)
    if remote:
        click.echo(f"WARNING: serving on {host}:{port}, reachable from other machines; "
                   "traffic is not encrypted. Anyone with the address below works as "
                   f"{ctx.user}.", err=True)
        click.echo(f"open: http://{host}:{port}/?token={token}", err=True)
    else:
        click.echo(f"serving on {host}:{port} (this machine only). From your laptop:\n"
                   f"  ssh -N -L {port}:127.0.0.1:{port} YOU@THIS-SERVER\n"
                   f"then open http://localhost:{port}/?token={token}", err=True)
    server.serve()
