"""What every command needs (the database, the user, the day) and the app's start,
without the command-line library: a plain ``tuicrm`` opens the app through these alone
(see :mod:`tuicrm.launch`)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from tuicrm import paths

if TYPE_CHECKING:
    from tuicrm.core.rules import Rules
    from tuicrm.core.store import Store
    from tuicrm.core.store.segments import RulesSegmenter
    from tuicrm.tui.app import TuiCrmApp


class Context:
    """What every command needs: where the database is, who is working, as of when."""

    def __init__(self, db: str | None, user: str | None, today: str | None,
                 rules: str | None) -> None:
        from tuicrm.core.identity import resolve_identity

        self.db_path = paths.database_path(db)
        self.identity = resolve_identity(user, os.environ)
        self.user = self.identity.name
        self.today_text = today or os.environ.get("TUICRM_TODAY")
        self.rules_option = rules

    @property
    def today(self) -> dt.date:
        """The date rules are evaluated as of (``--today``, ``TUICRM_TODAY``, today)."""
        if not self.today_text:
            return dt.date.today()
        try:
            return dt.date.fromisoformat(self.today_text)
        except ValueError:
            fail(f"--today: {self.today_text!r} is not a date (use YYYY-MM-DD)")

    def _must_exist(self) -> None:
        if not self.db_path.exists():
            fail(f"no database at {self.db_path}: run 'tuicrm init' or 'tuicrm seed' first")

    def safe_db_path(self) -> Path:
        """The database, for a plain connection: it must exist and not be writable by
        everyone (a store checks that itself)."""
        from tuicrm.core.dbfile import UnsafeFile, refuse_world_writable

        self._must_exist()
        try:
            refuse_world_writable(self.db_path)
        except UnsafeFile as exc:
            fail(str(exc))
        return self.db_path

    def open_store(self, *, create: bool = False, shared: bool = False) -> Store:
        """Open the database; it must exist unless ``create``. With ``shared`` (or
        ``TUICRM_SHARED=1``) a new database is created group-shared for a team."""
        from tuicrm.core.store import Store, StoreError

        if not create:
            self._must_exist()
        if create and (shared or os.environ.get("TUICRM_SHARED") == "1"):
            from tuicrm.core.store.files import create_shared

            create_shared(self.db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return Store(self.db_path, segmenter=self.segmenter())
        except StoreError as exc:
            fail(str(exc))

    @property
    def rules_path(self) -> Path:
        """The rules file in force (``--rules``, ``TUICRM_RULES``, beside the database)."""
        return paths.rules_path(self.db_path, self.rules_option)

    def rules(self) -> Rules:
        """The rules in force; a broken rules file stops the command with its message."""
        from tuicrm.core.rules import RulesError, load_rules

        if self.rules_option and not self.rules_path.exists():
            fail(f"--rules: no rules file at {self.rules_path}")
        try:
            return load_rules(self.rules_path)
        except RulesError as exc:
            fail(f"refusing the rules: {exc}")

    def app_store(self) -> Store:
        """:meth:`open_store` for the app's workers: a refusal (a broken rules file, an
        unsafe database) is raised, for the app to show, instead of exiting."""
        from tuicrm.core.rules import RulesError, load_rules
        from tuicrm.core.store import Store, StoreError
        from tuicrm.core.store.segments import make_segmenter

        if self.rules_option and not self.rules_path.exists():
            raise StoreError(f"--rules: no rules file at {self.rules_path}")
        try:
            rules = load_rules(self.rules_path)
        except RulesError as exc:
            raise StoreError(f"refusing the rules: {exc}") from None
        return Store(self.db_path, segmenter=make_segmenter(rules, self.today))

    def segmenter(self) -> RulesSegmenter:
        """The segmenter for the rules in force, as of ``today``."""
        from tuicrm.core.store.segments import make_segmenter

        return make_segmenter(self.rules(), self.today)


def fail(message: str) -> NoReturn:
    """Print a one-line message on stderr and exit 1."""
    print(f"tuicrm: {message}", file=sys.stderr)
    sys.exit(1)


def run_app(ctx: Context) -> None:
    """Open the app on the context's database."""
    build_app(ctx).run()


def build_app(ctx: Context) -> TuiCrmApp:
    """The app on the context's database, ready to run (the benchmarks run it headless)."""
    import gc
    import shutil

    # Start-up makes hundreds of thousands of objects that live as long as the app; the
    # collector would walk them again and again (a sixth of the time to the first
    # frame). Once its first rows are drawn, the app runs it at quiet moments.
    gc.disable()

    from tuicrm.core.listing import FirstPage, ListFilter, ListSort
    from tuicrm.core.reader import Reader

    # The list reads through light connections, so its first page shows before the
    # store's imports, migrations and rules are paid for; they follow in the background.
    # The first page itself is read while Textual is being imported.
    path, today = ctx.safe_db_path(), ctx.today
    first_page = FirstPage(lambda: Reader(path), ListFilter(today=today), ListSort(),
                           limit=max(60, shutil.get_terminal_size().lines * 3))

    def readers() -> Reader:
        return first_page.reader() or Reader(path)

    from tuicrm.tui.app import TuiCrmApp

    return TuiCrmApp(ctx.app_store, user=ctx.user, today=today, reader_factory=readers,
                     first_page=first_page)
