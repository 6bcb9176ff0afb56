"""The review board: customers by tier (columns) and status (rows), with counts and totals.

The figures come from one aggregate query; the cards of the selected cell from an index
walk, so the board opens at once on a million customers.
"""

from __future__ import annotations

import datetime as dt

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tuicrm.core import listing
from tuicrm.core.listing import Board
from tuicrm.core.models import InvalidInput
from tuicrm.core.rows import CustomerRow
from tuicrm.core.store import StoreError, team
from tuicrm.core.textcells import pad
from tuicrm.tui.labels import Labels, wan
from tuicrm.tui.screens.base import CrmScreen
from tuicrm.tui.screens.dialogs import PickScreen
from tuicrm.tui.widgets.footer import KeysFooter

STATUS_WIDTH = 11
REVIEW_DAYS = 7


class BoardFetched(Message):
    """The board's figures were read."""

    def __init__(self, board: Board, statuses: list[str]) -> None:
        super().__init__()
        self.board = board
        self.statuses = statuses


class CardsFetched(Message):
    """The cards of one cell were read."""

    def __init__(self, tier: str, status: str, cards: list[CustomerRow]) -> None:
        super().__init__()
        self.tier = tier
        self.status = status
        self.cards = cards


class ChangesFetched(Message):
    """What changed since the last review was read."""

    def __init__(self, changes: list[listing.Change]) -> None:
        super().__init__()
        self.changes = changes


class CardMoved(Message):
    """A card's status was changed (or refused, with a message)."""

    def __init__(self, error: str = "") -> None:
        super().__init__()
        self.error = error


class BoardGrid(Widget, can_focus=True):
    """Tier columns × status rows; the arrows move between cells."""

    DEFAULT_CSS = """
    BoardGrid {
        height: auto;
        max-height: 12;
        padding: 0 1;
    }
    """

    BINDINGS = [
        Binding("left,h", "move(-1, 0)", "Left", show=False, id="board.left"),
        Binding("right", "move(1, 0)", "Right", show=False, id="board.right"),
        Binding("up,k", "move(0, -1)", "Up", show=False, id="board.up"),
        Binding("down,j", "move(0, 1)", "Down", show=False, id="board.down"),
    ]

    class CellChosen(Message):
        """The cursor moved to a cell."""

        def __init__(self, tier: str, status: str) -> None:
            super().__init__()
            self.tier = tier
            self.status = status

    def __init__(self, labels: Labels, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.labels = labels
        self.board = Board()
        self.tiers: list[str] = []
        self.statuses: list[str] = []
        self.column = 0
        self.row = 0

    def show(self, board: Board, statuses: list[str]) -> None:
        """Draw these figures, keeping the cursor on the same cell if it is still there."""
        old = self.chosen
        self.board = board
        self.tiers = board.tiers or [""]
        self.statuses = sorted(set(statuses) | set(board.statuses))
        if old is not None and old[0] in self.tiers and old[1] in self.statuses:
            self.column = self.tiers.index(old[0])
            self.row = self.statuses.index(old[1])
        self.column = min(self.column, len(self.tiers) - 1)
        self.row = min(self.row, max(len(self.statuses) - 1, 0))
        self.refresh(layout=True)
        if self.chosen is not None:
            self.post_message(self.CellChosen(*self.chosen))

    @property
    def chosen(self) -> tuple[str, str] | None:
        """(tier, status) under the cursor."""
        if not self.tiers or not self.statuses:
            return None
        return self.tiers[self.column], self.statuses[self.row]

    def action_move(self, columns: int, rows: int) -> None:
        """Move the cursor."""
        if not self.statuses:
            return
        self.column = (self.column + columns) % len(self.tiers)
        self.row = (self.row + rows) % len(self.statuses)
        self.refresh()
        if self.chosen is not None:
            self.post_message(self.CellChosen(*self.chosen))

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return len(self.statuses) + 2

    def render(self) -> Content:
        t = self.labels
        width = max(10, (self.size.width - STATUS_WIDTH) // max(len(self.tiers), 1) - 1)
        header: list[Content | str | tuple[str, str]] = [pad("", STATUS_WIDTH)]
        for tier in self.tiers:
            header += [" ", (pad(tier or t("tier.none"), width), "bold underline")]
        lines = [Content.assemble(*header)]
        for r, status in enumerate(self.statuses):
            parts: list[Content | str | tuple[str, str]] = [
                (pad(status or "-", STATUS_WIDTH), "bold")]
            for c, tier in enumerate(self.tiers):
                cell = self.board.cell(tier, status)
                text = "·"
                if cell is not None:
                    text = f"{cell.count:,} Σ{wan(cell.amount)}"
                    if cell.overdue:
                        text += f" !{cell.overdue:,}"
                style = "reverse" if (r, c) == (self.row, self.column) else ""
                if cell is not None and cell.overdue and not style:
                    style = "red"
                parts += [" ", (pad(text, width), style)]
            lines.append(Content.assemble(*parts))
        count = sum(c.count for c in self.board.cells)
        amount = sum(c.amount for c in self.board.cells)
        overdue = sum(c.overdue for c in self.board.cells)
        lines.append(Content.styled(
            f"{t('board.total')}: {count:,} Σ{wan(amount)}万 !{overdue:,} "
            f"{t('due.overdue')}", "dim"))
        return Content("\n").join(lines)


class BoardScreen(CrmScreen):
    """The weekly review: who is where, how much, what is overdue; move cards."""

    POLL_SECONDS = 10.0  # the aggregate is the dearest query; a review can wait 10 s

    BINDINGS = [
        Binding("escape", "back", "Back", id="board.back"),
        Binding("tab", "cards", "Cards", id="board.cards"),
        Binding("s", "move_card", "Move status", id="board.move"),
        Binding("o", "owner", "Owner", id="board.owner"),
        Binding("m", "mine", "Mine", id="board.mine"),
        Binding("c", "changes", "Since last review", id="board.changes"),
        Binding("r", "review", "Review", id="board.review"),
        Binding("enter", "open", "Open", show=False, id="board.open"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.owner: str | None = None
        self.show_changes = False
        self.cards: list[CustomerRow] = []
        self.statuses: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(id="board-title")
        yield BoardGrid(self.labels, id="board-grid")
        yield OptionList(id="board-cards")
        yield KeysFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(BoardGrid).focus()
        self._show_title()
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    def others_saved(self) -> None:
        """Count again: someone moved or changed a customer."""
        self.load()

    def relabel(self) -> None:
        super().relabel()
        self._show_title()
        self.query_one(BoardGrid).refresh()

    def _show_title(self) -> None:
        t = self.labels
        owner = (t("board.owner_all") if self.owner is None
                 else t("filter.mine") if self.owner == self.user
                 else f"{t('filter.owner')}: {self.owner}")
        mode = t("board.changes", since=self.since.isoformat()) if self.show_changes else ""
        self.query_one("#board-title", Static).update(Content.assemble(
            (t("board.title"), "bold"), "  ", (owner, "reverse"), "  ", (mode, "bold")))

    @property
    def since(self) -> dt.date:
        """The last weekly review: a week before today."""
        return self.today - dt.timedelta(days=REVIEW_DAYS)

    # -- loading --------------------------------------------------------------------------

    @work(thread=True, group="board", exclusive=True, exit_on_error=False)
    def load(self) -> None:
        """Read the figures again."""
        with self.lanes["board"].use() as store:
            board = listing.board(store, owner=self.owner, today=self.today)
            statuses = listing.statuses(store)
        self.post_message(BoardFetched(board, statuses))

    @on(BoardFetched)
    def _board_fetched(self, event: BoardFetched) -> None:
        self.statuses = event.statuses
        self.query_one(BoardGrid).show(event.board, event.statuses)

    @on(BoardGrid.CellChosen)
    def _cell_chosen(self, event: BoardGrid.CellChosen) -> None:
        if self.show_changes:
            self._fetch_changes()
        else:
            self._fetch_cards(event.tier, event.status)

    @work(thread=True, group="cards", exclusive=True, exit_on_error=False)
    def _fetch_changes(self) -> None:
        with self.lanes["cards"].use() as store:
            changes = listing.changes_since(store, since=self.since, today=self.today,
                                            owner=self.owner)
        self.post_message(ChangesFetched(changes))

    @on(ChangesFetched)
    def _changes_fetched(self, event: ChangesFetched) -> None:
        t = self.labels
        self.cards = [change.row for change in event.changes]
        options = self.query_one("#board-cards", OptionList)
        options.clear_options()
        for change in event.changes:
            if change.kind == "tier":
                what = f"{change.old or '-'} → {change.new}"
                style = ""
            else:
                what = f"{t('due.overdue')} {change.new}"
                style = "bold red"
            options.add_option(Option(Content.assemble(
                (change.on, "dim"), " ", pad(change.row.name, 26), " ",
                pad(change.row.owner or "-", 8), " ", (what, style))))
        if event.changes:
            options.highlighted = 0

    def action_changes(self) -> None:
        """Switch the cards between the chosen cell and what changed since last review."""
        self.show_changes = not self.show_changes
        self._show_title()
        chosen = self.query_one(BoardGrid).chosen
        if self.show_changes:
            self._fetch_changes()
        elif chosen is not None:
            self._fetch_cards(*chosen)

    @work(thread=True, group="cards", exclusive=True, exit_on_error=False)
    def _fetch_cards(self, tier: str, status: str) -> None:
        with self.lanes["cards"].use() as store:
            cards = listing.board_cards(store, tier=tier, status=status, owner=self.owner,
                                        limit=100)
        self.post_message(CardsFetched(tier, status, cards))

    @on(CardsFetched)
    def _cards_fetched(self, event: CardsFetched) -> None:
        self.cards = event.cards
        options = self.query_one("#board-cards", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for card in event.cards:
            overdue = card.next_due is not None and card.next_due < self.today
            due = f"{card.next_due or '-'}" + (f" {self.labels('due.overdue')}!"
                                               if overdue else "")
            options.add_option(Option(Content.assemble(
                pad(card.name, 26), " ", pad(card.owner or "-", 8), " ",
                pad(wan(card.total_amount) + "万", 8), " ",
                (due, "bold red" if overdue else ""))))
        if event.cards:
            options.highlighted = min(highlighted or 0, len(event.cards) - 1)

    # -- actions --------------------------------------------------------------------------

    def action_review(self) -> None:
        """Open the weekly review."""
        self.crm.open_review()

    def action_back(self) -> None:
        """Back to where the board was opened from."""
        self.dismiss()

    def action_cards(self) -> None:
        """Switch between the grid and the cards of its cell."""
        grid = self.query_one(BoardGrid)
        if self.focused is grid:
            self.query_one("#board-cards", OptionList).focus()
        else:
            grid.focus()

    def _current_card(self) -> CustomerRow | None:
        options = self.query_one("#board-cards", OptionList)
        if options.highlighted is None or options.highlighted >= len(self.cards):
            return None
        return self.cards[options.highlighted]

    @on(OptionList.OptionSelected, "#board-cards")
    def _card_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        """Open the highlighted card's customer."""
        card = self._current_card()
        if card is not None and self.focused is self.query_one("#board-cards"):
            self.crm.open_profile(card.id)

    def action_move_card(self) -> None:
        """Give the highlighted card another status."""
        card = self._current_card()
        if card is None:
            return
        choices: list[tuple[str | None, str]] = [(s, s) for s in self.statuses
                                                 if s != card.status]

        def picked(choice: tuple[str | None] | None) -> None:
            if choice is not None and choice[0]:
                self._move(card, choice[0])

        self.app.push_screen(
            PickScreen(f"{card.name}: {self.labels('board.pick_status')}", choices), picked)

    @work(thread=True, group="write", exit_on_error=False)
    def _move(self, card: CustomerRow, status: str) -> None:
        try:
            with self.lanes["write"].use() as store:
                team.move_status(store, team.actor(store, self.user), card.id,
                                 seen=card.status, status=status)
        except (InvalidInput, StoreError) as exc:
            self.post_message(CardMoved(str(exc)))
            return
        self.post_message(CardMoved())
        self.app.call_from_thread(
            self.notify, self.labels("board.moved", name=card.name, old=card.status,
                                     new=status), markup=False)

    @on(CardMoved)
    def _card_moved(self, event: CardMoved) -> None:
        if event.error:
            self.notify(event.error, severity="error", markup=False)
        self.load()

    def _set_owner(self, owner: str | None) -> None:
        self.owner = owner
        self._show_title()
        self.load()

    def action_mine(self) -> None:
        """Only my customers, or everyone's again."""
        self._set_owner(None if self.owner == self.user else self.user)

    def action_owner(self) -> None:
        """Filter the board by an owner."""
        self._fetch_owners()

    @work(thread=True, group="choices", exclusive=True, exit_on_error=False)
    def _fetch_owners(self) -> None:
        with self.lanes["board"].use() as store:
            owners = listing.choices(store, "owner")
        self.app.call_from_thread(self._pick_owner, owners)

    def _pick_owner(self, owners: list[str]) -> None:
        choices: list[tuple[str | None, str]] = [(None, self.labels("board.owner_all")),
                                                 *((o, o or "-") for o in owners)]

        def picked(choice: tuple[str | None] | None) -> None:
            if choice is not None:
                self._set_owner(choice[0])

        self.app.push_screen(PickScreen(self.labels("filter.pick",
                                                    what=self.labels("filter.owner")),
                                        choices), picked)
