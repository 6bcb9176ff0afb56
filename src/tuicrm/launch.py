"""The ``tuicrm`` console script.

``tuicrm`` alone, or with its database, user, day and rules options, opens the app: the
command a rep runs first thing every day. That needs no command-line library, whose
imports (~40 ms) would come before the first frame; anything else (a command, ``--help``,
an option given twice or misspelt) goes to the full command line in :mod:`tuicrm.cli`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

# The options of ``tuicrm`` without a command (see tuicrm.cli.cli).
APP_OPTIONS = ("--db", "--user", "--today", "--rules")


def app_options(argv: Sequence[str]) -> dict[str, str] | None:
    """The options of a plain ``tuicrm`` (``--db PATH`` or ``--db=PATH`` …) by name, or
    None when the arguments ask for anything else."""
    options: dict[str, str] = {}
    args = iter(argv)
    for arg in args:
        name, equals, value = arg.partition("=")
        if name not in APP_OPTIONS or name[2:] in options:
            return None
        if not equals:
            value = next(args, None)  # type: ignore[assignment]
            if value is None:
                return None
        options[name[2:]] = value
    return options


def main() -> None:
    """Entry point of the ``tuicrm`` console script."""
    options = app_options(sys.argv[1:])
    if options is None:
        from tuicrm.cli import main as command_line

        command_line()
        return
    from tuicrm.context import Context, run_app

    run_app(Context(options.get("db"), options.get("user"), options.get("today"),
                    options.get("rules")))
