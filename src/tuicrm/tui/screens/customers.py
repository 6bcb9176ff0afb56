"""The customer list: search as you type, filters, sort, and a virtual table."""

from __future__ import annotations

from typing import get_args

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static

from tuicrm.core import listing
from tuicrm.core.listing import ListedRow, ListFilter, ListSort, SortColumn
from tuicrm.tui.screens.base import CrmScreen
from tuicrm.tui.screens.dialogs import PickScreen, PromptScreen
from tuicrm.tui.widgets.customer_table import CustomerTable
from tuicrm.tui.widgets.footer import KeysFooter

COUNT_DELAY = 0.12
# Longest a typed character waits to be drawn with the rows it brings (see _hold_frames).
HOLD_AT_MOST = 0.04
SORT_COLUMNS: tuple[SortColumn, ...] = get_args(SortColumn)


class PageFetched(Message):
    """A page of list rows was read."""

    def __init__(self, request: CustomerTable.RowsWanted, rows: list[ListedRow]) -> None:
        super().__init__()
        self.request = request
        self.rows = rows


class CountFetched(Message):
    """The match count of a filter was read."""

    def __init__(self, generation: int, total: int) -> None:
        super().__init__()
        self.generation = generation
        self.total = total


class RowsRefreshed(Message):
    """Rows on screen were read again after a change elsewhere."""

    def __init__(self, rows: list[ListedRow]) -> None:
        super().__init__()
        self.rows = rows


class ChoicesFetched(Message):
    """The values of a column were read, for a filter picker."""

    def __init__(self, column: str, values: list[str]) -> None:
        super().__init__()
        self.column = column
        self.values = values


class CustomersScreen(CrmScreen):
    """The start screen: every customer, filtered and sorted, a page at a time."""

    # The footer shows what fits in 80 columns with ? (every key) in sight; the rest
    # are in ? and the palette. Fewer footer keys also make each focus change cheaper.
    BINDINGS = [
        # A priority binding runs as the app reads the key, before it hands the next keys
        # on: keys typed in the same burst as / then go to the search box, not to the
        # list (where j and k move the cursor).
        Binding("slash", "search", "Search", id="customers.search", priority=True),
        Binding("enter", "open", "Open", show=False, id="customers.open"),
        Binding("l", "log", "Log follow-up", id="customers.log"),
        Binding("m", "mine", "Mine", id="customers.mine"),
        Binding("d", "overdue", "Overdue", id="customers.overdue"),
        Binding("t", "pick('tier')", "Tier", show=False, id="customers.tier"),
        Binding("s", "pick('status')", "Status", show=False, id="customers.status"),
        Binding("o", "pick('owner')", "Owner", show=False, id="customers.owner"),
        Binding("g", "tag", "Tag", show=False, id="customers.tag"),
        Binding("x", "clear", "Clear filters", show=False, id="customers.clear"),
        Binding("greater_than_sign", "sort(1)", "Sort", show=False, id="customers.sort"),
        Binding("less_than_sign", "sort(-1)", "Sort", show=False, id="customers.sort_back"),
        Binding("r", "reverse", "Reverse", show=False, id="customers.reverse"),
        Binding("b", "board", "Board", id="customers.board"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = ListFilter()
        self.sort = ListSort()
        self.total: int | None = None
        self._generation = 0
        self._count_timer: Timer | None = None
        self._warming = False
        self._holding = False
        self._hold_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="filter-bar")
        yield Input(placeholder="", id="search", compact=True)
        yield CustomerTable(self.labels, today=self.today, id="customers")
        yield KeysFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.filter = ListFilter(today=self.today)
        self.query_one("#search", Input).placeholder = self.labels("list.search_placeholder")
        self.query_one(CustomerTable).focus()
        self._reload()

    def relabel(self) -> None:
        super().relabel()
        self.query_one("#search", Input).placeholder = self.labels("list.search_placeholder")
        self.query_one(CustomerTable).refresh()
        self._show_filter()

    @property
    def table(self) -> CustomerTable:
        """The list."""
        return self.query_one(CustomerTable)

    # -- loading ------------------------------------------------------------------------

    def _reload(self) -> None:
        """Start over with the current filter and sort: first page and count."""
        self.total = None
        self.lanes["count"].interrupt()
        self._generation = self.table.reset(sort_column=self.sort.column,
                                            descending=self.sort.descending)
        if self._count_timer is not None:
            self._count_timer.stop()
        generation, flt = self._generation, self.filter
        if generation == 1:
            self._count(generation, flt)
        else:
            # Counting waits for a pause in typing: on a million customers a count can
            # take longer than a keystroke, and would compete with the next page.
            self._count_timer = self.set_timer(
                COUNT_DELAY, lambda: self._count(generation, flt))
        self._show_filter()

    @on(CustomerTable.RowsWanted)
    def _rows_wanted(self, event: CustomerTable.RowsWanted) -> None:
        event.stop()
        rows = self._read_ahead(event, wait=False)
        if rows is not None:  # read while the app started: drawn in the first frame
            self._page_fetched(PageFetched(event, rows))
        else:
            self._fetch_page(event, self.filter, self.sort)

    def _read_ahead(self, request: CustomerTable.RowsWanted, *,
                    wait: bool) -> list[ListedRow] | None:
        first_page = self.crm.first_page
        if first_page is None or request.generation != 1 or request.start != 0 \
                or request.after is not None or request.before is not None \
                or request.from_end:
            return None
        return first_page.rows(self.filter, self.sort, request.limit, wait=wait)

    @work(thread=True, group="page", exit_on_error=False)
    def _fetch_page(self, request: CustomerTable.RowsWanted, flt: ListFilter,
                    sort: ListSort) -> None:
        if request.generation != self._generation:
            self.post_message(PageFetched(request, []))
            return
        rows = self._read_ahead(request, wait=True)
        if rows is not None:
            self.post_message(PageFetched(request, rows))
            return
        with self.lanes["page"].use() as store:
            rows = listing.page(store, flt, sort, after=request.after, before=request.before,
                                from_end=request.from_end, limit=request.limit)
        self.post_message(PageFetched(request, rows))

    @on(PageFetched)
    def _page_fetched(self, event: PageFetched) -> None:
        request = event.request
        self.table.add_rows(request.generation, request.start, event.rows,
                            limit=request.limit, from_end=request.from_end,
                            backwards=request.before is not None)
        if self.table.total is not None and self.total is None \
                and request.generation == self._generation:
            self.total = self.table.total
            self._show_filter()
        if request.generation == self._generation:
            self._release_frames()
        if event.rows and not self._warming:
            self.call_after_refresh(self._warm_up)

    @work(thread=True, group="count", exclusive=True, exit_on_error=False)
    def _count(self, generation: int, flt: ListFilter) -> None:
        try:
            with self.lanes["count"].use() as store:
                total = listing.count(store, flt)
        except listing.Interrupted:
            return  # Interrupted by a newer search.
        self.post_message(CountFetched(generation, total))

    @on(CountFetched)
    def _count_fetched(self, event: CountFetched) -> None:
        if event.generation != self._generation:
            return
        self.total = event.total
        self.table.set_total(event.generation, event.total)
        self._show_filter()
        if event.total == 0:
            self._warm_up()

    def _warm_up(self) -> None:
        # Once the first rows are on screen (or there are none): the store's imports
        # would otherwise hold the interpreter while the first frame is drawn.
        if not self._warming:
            self._warming = True
            self.crm.warm_up()

    def on_screen_resume(self) -> None:
        self.others_saved()

    def others_saved(self) -> None:
        """Show the rows on screen as saved now (others may have changed them)."""
        ids = [listed.row.id for listed in self.table.rows.values()]
        if ids:
            self._refresh_rows(ids)

    @work(thread=True, group="refresh", exclusive=True, exit_on_error=False)
    def _refresh_rows(self, ids: list[int]) -> None:
        with self.lanes["page"].use() as store:
            rows = store.rows_by_id(ids)
        self.post_message(RowsRefreshed([ListedRow(row, (None, row.id)) for row in rows]))

    @on(RowsRefreshed)
    def _rows_refreshed(self, event: RowsRefreshed) -> None:
        for listed in event.rows:
            self.table.update_row(listed)

    # -- the filter bar -----------------------------------------------------------------

    def _show_filter(self) -> None:
        t = self.labels
        parts: list[str] = []
        f = self.filter
        if f.text:
            parts.append(f"{t('list.search')}: {f.text}")
        if f.tier is not None:
            parts.append(f"{t('filter.tier')}: {f.tier or t('tier.none')}")
        if f.status is not None:
            parts.append(f"{t('filter.status')}: {f.status}")
        if f.owner is not None:
            parts.append(t("filter.mine") if f.owner == self.user
                         else f"{t('filter.owner')}: {f.owner}")
        if f.tag:
            parts.append(f"{t('filter.tag')}: {f.tag}")
        if f.overdue:
            parts.append(t("filter.overdue"))
        described = " · ".join(parts) if parts else t("list.all")
        count = (t("list.count", count=f"{self.total:,}") if self.total is not None
                 else t("list.counting"))
        arrow = "▼" if self.sort.descending else "▲"
        sort = f"{t('list.sort')}: {t('col.' + self.sort.column)}{arrow}"
        # Plain Content: search text and filter values are user data, never markup.
        bar = Content.assemble(
            (described, "bold"), "  ", (count, "reverse"), "  ", (sort, "dim"))
        self.query_one("#filter-bar", Static).update(bar, layout=False)  # one line, always

    def _set_filter(self, flt: ListFilter) -> None:
        if flt != self.filter:
            self.filter = flt
            self._reload()

    # -- actions --------------------------------------------------------------------------

    def action_search(self) -> None:
        """Type to search; the list follows every keystroke."""
        # At once: Widget.focus() waits for the messages already queued.
        self.set_focus(self.query_one("#search", Input))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # In the search box a / is text: the key goes on to the box, after the keys
        # typed before it.
        return not (action == "search" and isinstance(self.focused, Input))

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        flt = self.filter.with_(text=event.value.strip())
        if flt != self.filter:
            self._hold_frames()
        self._set_filter(flt)

    def _hold_frames(self) -> None:
        """Draw the typed character and the rows it brings in one frame.

        The rows come a few milliseconds after the key; drawn apart, the second frame
        waits for the frame clock and then redraws the screen again. The hold ends when
        the rows arrive, or after :data:`HOLD_AT_MOST` at the latest.
        """
        if not self._holding:
            self._holding = True
            self.app._begin_batch()
            self._hold_timer = self.set_timer(HOLD_AT_MOST, self._release_frames)

    def _release_frames(self) -> None:
        if self._holding:
            self._holding = False
            if self._hold_timer is not None:
                self._hold_timer.stop()
                self._hold_timer = None
            self.app._end_batch()

    def on_screen_suspend(self) -> None:
        self._release_frames()

    def on_unmount(self) -> None:
        self._release_frames()

    @on(Input.Submitted, "#search")
    def _search_submitted(self) -> None:
        self.table.focus()

    def key_escape(self) -> None:
        """Leave the search box for the list."""
        if self.focused is self.query_one("#search", Input):
            self.table.focus()

    def key_down(self) -> None:
        if self.focused is self.query_one("#search", Input):
            self.table.focus()

    @on(CustomerTable.Opened)
    def _opened(self, event: CustomerTable.Opened) -> None:
        if event.then == "log":
            self.crm.open_follow_up(event.customer_id)
        else:
            self.crm.open_profile(event.customer_id)

    def action_open(self) -> None:
        """Open the customer under the cursor."""
        self.table.action_open()

    def action_log(self) -> None:
        """Log a follow-up with the customer under the cursor (as soon as its row is
        here)."""
        self.table.action_open(then="log")

    def action_mine(self) -> None:
        """Only my customers, or everyone's again."""
        mine = self.filter.owner == self.user
        self._set_filter(self.filter.with_(owner=None if mine else self.user))

    def action_overdue(self) -> None:
        """Only customers whose follow-up is overdue, or all again."""
        self._set_filter(self.filter.with_(overdue=not self.filter.overdue))

    def action_clear(self) -> None:
        """No search and no filters."""
        self.query_one("#search", Input).value = ""
        self._set_filter(self.filter.clear())

    def action_sort(self, step: int) -> None:
        """Sort by the next (or previous) column."""
        index = SORT_COLUMNS.index(self.sort.column)
        self.sort = ListSort(SORT_COLUMNS[(index + step) % len(SORT_COLUMNS)],
                             self.sort.descending)
        self._reload()

    def action_reverse(self) -> None:
        """Reverse the order."""
        self.sort = ListSort(self.sort.column, not self.sort.descending)
        self._reload()

    def action_board(self) -> None:
        """The review board."""
        self.crm.open_board()

    def action_pick(self, column: str) -> None:
        """Filter by a tier, status or owner picked from the values in use."""
        self._fetch_choices(column)

    @work(thread=True, group="choices", exclusive=True, exit_on_error=False)
    def _fetch_choices(self, column: str) -> None:
        with self.lanes["page"].use() as store:
            values = listing.choices(store, column)  # type: ignore[arg-type]
        self.post_message(ChoicesFetched(column, values))

    @on(ChoicesFetched)
    def _choices_fetched(self, event: ChoicesFetched) -> None:
        t = self.labels
        column = event.column
        shown = [(v, v or (t("tier.none") if column == "tier" else "-")) for v in event.values]
        choices: list[tuple[str | None, str]] = [(None, t("filter.any")), *shown]

        def picked(choice: tuple[str | None] | None) -> None:
            if choice is not None:
                self._set_filter(self.filter.with_(**{column: choice[0]}))

        self.app.push_screen(
            PickScreen(t("filter.pick", what=t("filter." + column)), choices), picked)

    def action_tag(self) -> None:
        """Filter by a tag typed as dimension:value."""

        def typed(text: str | None) -> None:
            if text is not None:
                self._set_filter(self.filter.with_(tag=text.strip() or None))

        self.app.push_screen(PromptScreen(self.labels("filter.tag_prompt"),
                                          self.filter.tag or ""), typed)
