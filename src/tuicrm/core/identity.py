"""Who is working: ``--user``, ``TUICRM_USER``, the Unix login, or ``SUDO_USER``.

An open install (every rep can write the database file) takes the name it is given:
``--user``, else ``TUICRM_USER``, else the login. That is honest but advisory.

A locked-down install runs the app as a service account through sudo
(``sudo -u tuicrm tuicrm``). There the rep's name comes from ``SUDO_USER``, which sudo
sets and the rep cannot forge, and ``--user`` / ``TUICRM_USER`` are ignored: otherwise
any rep could act as a manager.
"""

from __future__ import annotations

import getpass
import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

IdentitySource = Literal["sudo", "option", "environment", "login"]


@dataclass(frozen=True)
class Identity:
    """The name a session works under, and where it came from."""

    name: str
    source: IdentitySource
    ignored: str = ""
    """A name that was asked for (``--user`` / ``TUICRM_USER``) but not honoured."""

    @property
    def locked(self) -> bool:
        """True when the name came from sudo and cannot be chosen by the user."""
        return self.source == "sudo"


def effective_login() -> str:
    """The account this process runs as (the service account under sudo)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "unknown"


def resolve_identity(
    option: str | None,
    environ: Mapping[str, str],
    *,
    effective_user: str | None = None,
) -> Identity:
    """Decide who is working.

    Under sudo (``SUDO_USER`` set and the process running as another account) the
    identity is ``SUDO_USER`` whatever else was asked for.
    """
    running_as = effective_user if effective_user is not None else effective_login()
    asked = option or environ.get("TUICRM_USER") or ""
    sudo_user = environ.get("SUDO_USER", "")
    if sudo_user and sudo_user != running_as:
        return Identity(sudo_user, "sudo", ignored=asked if asked != sudo_user else "")
    if option:
        return Identity(option, "option")
    if environ.get("TUICRM_USER"):
        return Identity(environ["TUICRM_USER"], "environment")
    return Identity(running_as, "login")
