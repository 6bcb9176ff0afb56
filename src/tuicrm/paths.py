"""Every path tuicrm uses: the database, the rules file, the demo data."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "tuicrm"


def data_dir() -> Path:
    """The per-user data directory (``~/.local/share/tuicrm`` on Linux)."""
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


def database_path(option: str | os.PathLike[str] | None = None) -> Path:
    """``--db``, else ``TUICRM_DB``, else ``tuicrm.db`` in the data directory."""
    if option:
        return Path(option)
    env = os.environ.get("TUICRM_DB")
    if env:
        return Path(env)
    return data_dir() / "tuicrm.db"


def rules_path(db: Path, option: str | os.PathLike[str] | None = None) -> Path:
    """``--rules``, else ``TUICRM_RULES``, else ``rules.toml`` next to the database."""
    if option:
        return Path(option)
    env = os.environ.get("TUICRM_RULES")
    if env:
        return Path(env)
    return db.with_name("rules.toml")


def seed_dir() -> Path:
    """The demo data: ``seed/`` in a checkout, ``tuicrm/_seed`` in an installed wheel."""
    packaged = Path(__file__).parent / "_seed"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "seed"
