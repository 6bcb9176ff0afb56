"""Command-palette providers: jump to any customer, run any action of the app."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.markup import escape

from tuicrm.core.rows import CustomerRow

if TYPE_CHECKING:
    from tuicrm.tui.app import TuiCrmApp

# (name, action) pairs; ``screen.`` actions run on the screen the palette came from.
ACTIONS = (
    ("go: review board", "app.open_board"),
    ("go: weekly review", "app.open_review"),
    ("go: help (keys of this screen)", "app.help"),
    ("view: 中文/English", "app.language"),
    ("list: search", "screen.search"),
    ("list: mine", "screen.mine"),
    ("list: overdue", "screen.overdue"),
    ("list: clear filters", "screen.clear"),
    ("list: filter by tier", "screen.pick('tier')"),
    ("list: filter by status", "screen.pick('status')"),
    ("list: filter by owner", "screen.pick('owner')"),
    ("customer: log a follow-up", "screen.log"),
    ("customer: add a tag", "screen.add_tag"),
    ("customer: edit", "screen.edit"),
    ("board: move card to status", "screen.move_card"),
)


class CustomerCommands(Provider):
    """``open: <customer>`` for customers matching the query (name, pinyin, initials)."""

    @property
    def crm(self) -> TuiCrmApp:
        """The app, typed."""
        return cast("TuiCrmApp", self.app)

    def _find(self, query: str) -> list[CustomerRow]:
        with self.crm.lanes["palette"].use() as store:
            found: list[CustomerRow] = store.search(query, limit=12)
        return found

    async def discover(self) -> Hits:
        for name, action in ACTIONS:
            yield DiscoveryHit(name, partial(self.app.run_action, action))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action in ACTIONS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self.app.run_action, action))
        if not query.strip():
            return
        rows = await asyncio.to_thread(self._find, query)
        label = self.crm.labels("palette.open")
        for rank, row in enumerate(rows):
            # Customer names are data: plain text, never highlighted as markup.
            yield Hit(
                1.0 - rank / 100,
                Content(f"{label}: {row.name}"),
                partial(self.crm.open_profile, row.id),
                text=f"{label}: {row.name}",
                help=escape(" · ".join(x for x in (row.tier, row.status, row.owner) if x)),
            )
