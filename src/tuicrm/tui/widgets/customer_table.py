"""The customer list: a virtual table over keyset pages.

The table's virtual height is the match count; it draws only the visible lines, from
rows it holds by position. It never queries anything: when lines it must draw are
missing it posts :class:`CustomerTable.RowsWanted` with an anchor (the key of a
neighbouring row it holds, the start, or the end), and the screen answers with
:meth:`CustomerTable.add_rows`. Every move is relative to a row on screen, Home or End,
so an anchor always exists and no query ever needs an OFFSET.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tuicrm.core.listing import ListedRow, SortKey
from tuicrm.core.textcells import cell_width, pad
from tuicrm.tui.labels import Labels, wan

# How many rows to keep around the viewport before the farthest are dropped.
CACHE_ROWS = 2000


@dataclass(frozen=True)
class Column:
    """A column of the list: its sort name, label key and width (0: takes the rest)."""

    name: str
    label: str
    width: int


COLUMNS = (
    Column("name", "col.name", 0),
    Column("tier", "col.tier", 8),  # 流失风险, 长期培育: four characters
    Column("status", "col.status", 10),
    Column("owner", "col.owner", 6),
    Column("industry", "col.industry", 6),
    Column("amount", "col.amount", 8),
    Column("last_contact", "col.last_contact", 8),
    Column("next_due", "col.next_due", 9),
)
NAME_MIN = 14

TIER_STYLES = {
    "高价值": Style(color="green", bold=True), "A": Style(color="green", bold=True),
    "VIP": Style(color="green", bold=True), "明星": Style(color="green", bold=True),
    "中价值": Style(color="cyan"), "B": Style(color="cyan"), "现金牛": Style(color="cyan"),
    "潜力": Style(color="yellow"), "C": Style(color="yellow"),
    "流失风险": Style(color="red", bold=True), "D": Style(color="magenta"),
}
OVERDUE = Style(color="red", bold=True)
HEADER = Style(bold=True, underline=True)
PLACEHOLDER = Style(dim=True)


def short_date(value: dt.date | None) -> str:
    """``24-01-10``: a date in eight cells."""
    return value.strftime("%y-%m-%d") if value else "-"


class CustomerTable(ScrollView, can_focus=True):
    """A keyboard-driven virtual list of customers."""

    DEFAULT_CSS = """
    CustomerTable {
        height: 1fr;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    CustomerTable > .customer-table--cursor {
        background: $block-cursor-blurred-background;
        text-style: bold;
    }
    CustomerTable:focus > .customer-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    """

    COMPONENT_CLASSES = {"customer-table--cursor"}

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="table.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="table.page_down"),
        Binding("home", "home", "First", show=False, id="table.home"),
        Binding("end", "end", "Last", show=False, id="table.end"),
        Binding("enter", "open", "Open", show=False, id="table.open"),
    ]

    class RowsWanted(Message):
        """The table needs rows: ``limit`` of them from ``start`` (or ending at ``end``)."""

        def __init__(self, generation: int, start: int, limit: int, *,
                     after: SortKey | None = None, before: SortKey | None = None,
                     from_end: bool = False) -> None:
            super().__init__()
            self.generation = generation
            self.start = start
            self.limit = limit
            self.after = after
            self.before = before
            self.from_end = from_end

    class Opened(Message):
        """Enter on a row: open that customer (``then`` "log": log a follow-up)."""

        def __init__(self, customer_id: int, then: str = "open") -> None:
            super().__init__()
            self.customer_id = customer_id
            self.then = then

    def __init__(self, labels: Labels, *, today: dt.date, name: str | None = None,
                 id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.labels = labels
        self.today = today
        self.generation = 0
        self.total: int | None = None
        self.rows: dict[int, ListedRow] = {}
        self.cursor = 0
        self.sort_column = "name"
        self.descending = False
        self._pending: set[tuple[int, int]] = set()
        self._end_wanted = False
        # Enter (or l) pressed before its row came (a key typed ahead, say End then
        # Enter): the generation it was pressed in; the row opens when it arrives, and
        # the keys typed after it wait for that (_hold_keys).
        self._open_wanted: int | None = None
        self._then = "open"
        self._holding_keys = False

    # -- state changes from the screen -------------------------------------------------

    def reset(self, *, sort_column: str, descending: bool) -> int:
        """Forget every row (a new search, filter or sort); returns the new generation.

        The rows on screen stay drawn until the new ones arrive, a few milliseconds
        later, unless the header or the cursor's place changes: a frame of blank rows in
        between would cost a keystroke as much drawing as the rows themselves.
        """
        moved = (self.cursor, int(self.scroll_y), self.sort_column, self.descending) \
            != (0, 0, sort_column, descending)
        self.generation += 1
        self.total = None
        self.rows.clear()
        self._pending.clear()
        self._end_wanted = False
        self._forget_open()
        self.cursor = 0
        self.sort_column = sort_column
        self.descending = descending
        self.scroll_to(y=0, animate=False, immediate=True)
        self._update_virtual_size()
        self.post_message(self.RowsWanted(self.generation, 0, self._want_size()))
        self._pending.add((0, self._want_size()))
        if moved:
            self.refresh()
        return self.generation

    def set_total(self, generation: int, total: int) -> None:
        """The match count arrived."""
        if generation != self.generation:
            return
        self.total = total
        self._update_virtual_size()
        if self._end_wanted:
            self._end_wanted = False
            self.action_end()
        self._open_if_wanted()
        if total < int(self.scroll_y) + self.page_height:
            self.refresh()  # lines past the end were waiting for rows: now blank

    def add_rows(self, generation: int, start: int, listed: list[ListedRow], *,
                 limit: int, from_end: bool = False, backwards: bool = False) -> None:
        """Rows arrived for positions ``start`` on (or ending just before ``start``)."""
        self._pending.discard((start, limit))
        if generation != self.generation:
            return
        if from_end:
            if self.total is None:
                return
            start = self.total - len(listed)
        elif backwards:
            start = start - len(listed)
        for offset, row in enumerate(listed):
            self.rows[start + offset] = row
        if not from_end and not backwards and len(listed) < limit and self.total is None:
            # A short forward page from a known position tells the count exactly.
            self.total = start + len(listed)
            self._update_virtual_size()
        self._evict()
        self.refresh()
        self._want_rows()
        self._open_if_wanted()

    def update_row(self, listed: ListedRow) -> None:
        """A customer changed: show its new values where it is on screen."""
        for index, old in self.rows.items():
            if old.row.id == listed.row.id:
                self.rows[index] = ListedRow(listed.row, old.key)
                self.refresh()
                return

    @property
    def current(self) -> ListedRow | None:
        """The row under the cursor, when it is loaded."""
        return self.rows.get(self.cursor)

    # -- geometry -------------------------------------------------------------------------

    @property
    def page_height(self) -> int:
        """Rows visible at once (the header takes a line)."""
        return max(1, self.scrollable_content_region.height - 1)

    def _want_size(self) -> int:
        return max(60, self.page_height * 3)

    def _update_virtual_size(self) -> None:
        if self.total is not None:
            rows = self.total
        else:
            # Until the count comes, the height stands and only grows to hold the rows
            # read: a new virtual size lays the whole screen out again, and a search
            # would otherwise do that three times a keystroke.
            rows = max(self.virtual_size.height - 1, max(self.rows, default=0) + 1)
        size = Size(self.scrollable_content_region.width, rows + 1)
        if size != self.virtual_size:
            self.virtual_size = size

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        self._update_virtual_size()
        self._want_rows()

    # -- keys -----------------------------------------------------------------------------

    def _move_to(self, index: int) -> None:
        last = (self.total - 1) if self.total is not None else max(self.rows, default=0)
        self.cursor = max(0, min(index, max(last, 0)))
        top = int(self.scroll_y)
        height = self.page_height
        if self.cursor < top:
            top = self.cursor
        elif self.cursor >= top + height:
            top = self.cursor - height + 1
        self.scroll_to(y=top, animate=False, immediate=True)
        self.refresh()
        self._want_rows()

    def action_cursor(self, delta: int) -> None:
        """Move the cursor by ``delta`` rows."""
        self._forget_open()
        self._move_to(self.cursor + delta)

    def action_page(self, pages: int) -> None:
        """Move a page down (or up), keeping the cursor at the same place on screen."""
        self._forget_open()
        height = self.page_height
        offset = self.cursor - int(self.scroll_y)
        last = (self.total - 1) if self.total is not None else self.cursor + height
        top = max(0, min(int(self.scroll_y) + pages * height, max(0, last - height + 1)))
        self.cursor = max(0, min(top + offset, max(last, 0)))
        self.scroll_to(y=top, animate=False, immediate=True)
        self.refresh()
        self._want_rows()

    def action_home(self) -> None:
        """The first row."""
        self._forget_open()
        self._end_wanted = False
        self._move_to(0)

    def action_end(self) -> None:
        """The last row: fetched from the end of the order, whatever the count."""
        if self.total is None:
            self._end_wanted = True
            return
        self._move_to(self.total - 1)

    def action_open(self, then: str = "open") -> None:
        """Open the customer under the cursor, now or as soon as its row is here (after
        an End still waiting for the count, too); ``then`` "log" to log a follow-up."""
        self._open_wanted = self.generation
        self._then = then
        self._open_if_wanted()
        if self._open_wanted is not None:
            self._hold_keys(True)

    def _open_if_wanted(self) -> None:
        if self._open_wanted != self.generation or self._end_wanted:
            return
        if self.total is not None and self.cursor >= self.total:
            self._forget_open()  # nothing there to open: an empty list
            return
        current = self.current
        if current is not None:
            self._open_wanted = None
            self.post_message(self.Opened(current.row.id, self._then))
            self._hold_keys(False)

    def _forget_open(self) -> None:
        self._open_wanted = None
        self._hold_keys(False)

    def _hold_keys(self, hold: bool) -> None:
        """Keys typed after an Enter still waiting for its row are for where it leads:
        the app holds them until the row has come and what it opens is showing."""
        if hold == self._holding_keys:
            return
        self._holding_keys = hold
        if hold:
            getattr(self.app, "hold_keys", lambda: None)()
        else:
            getattr(self.app, "release_keys", lambda **_: None)(when_quiet=True)

    def on_unmount(self) -> None:
        self._forget_open()

    # -- fetching -------------------------------------------------------------------------

    def _want_rows(self) -> None:
        """Ask for the missing rows on screen and a page either side of it."""
        height = self.page_height
        top = int(self.scroll_y)
        first = max(0, top - height)
        last = top + 2 * height
        if self.total is not None:
            last = min(last, self.total - 1)
        if last < first:
            return
        missing = [i for i in range(first, last + 1) if i not in self.rows]
        if not missing:
            return
        for run_start, run_end in _runs(missing):
            self._request(run_start, run_end)

    def _request(self, start: int, end: int) -> None:
        limit = min(max(end - start + 1, self.page_height * 2), 500)
        if start == 0:
            key = (0, limit)
            message = self.RowsWanted(self.generation, 0, limit)
        elif start - 1 in self.rows:
            key = (start, limit)
            message = self.RowsWanted(self.generation, start, limit,
                                      after=self.rows[start - 1].key)
        elif self.total is not None and end == self.total - 1:
            key = (-1, limit)
            message = self.RowsWanted(self.generation, -1, limit, from_end=True)
        elif end + 1 in self.rows:
            key = (end + 1, limit)
            message = self.RowsWanted(self.generation, end + 1, limit,
                                      before=self.rows[end + 1].key)
        else:
            return  # The neighbouring request will make an anchor; retried on arrival.
        if key in self._pending:
            return
        self._pending.add(key)
        self.post_message(message)

    def _evict(self) -> None:
        if len(self.rows) <= CACHE_ROWS:
            return
        centre = self.cursor
        far = sorted(self.rows, key=lambda i: abs(i - centre), reverse=True)
        for index in far[: len(self.rows) - CACHE_ROWS]:
            del self.rows[index]

    # -- drawing --------------------------------------------------------------------------

    def _widths(self, width: int) -> list[int]:
        fixed = sum(c.width for c in COLUMNS if c.width) + len(COLUMNS) - 1
        columns = list(COLUMNS)
        name_width = width - fixed
        widths = [c.width or max(NAME_MIN, name_width) for c in columns]
        return widths

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        widths = self._widths(width)
        if y == 0:
            return self._header(widths, width)
        index = int(self.scroll_y) + y - 1
        if self.total is not None and index >= self.total:
            if self.total == 0 and y == 1:
                return Strip([Segment(pad(self.labels("list.empty"), width), PLACEHOLDER)])
            return Strip.blank(width)
        listed = self.rows.get(index)
        if listed is None:
            strip = Strip([Segment(pad("…", width), PLACEHOLDER)])
        else:
            strip = Strip(self._row_segments(listed, widths)).adjust_cell_length(width)
        if index == self.cursor:
            strip = strip.apply_style(self.get_component_rich_style("customer-table--cursor"))
        return strip

    def _header(self, widths: list[int], width: int) -> Strip:
        segments: list[Segment] = []
        for column, cells in zip(COLUMNS, widths, strict=True):
            label = self.labels(column.label)
            if column.name == self.sort_column:
                label += "▼" if self.descending else "▲"
            segments.append(Segment(pad(label, cells), HEADER))
            segments.append(Segment(" "))
        return Strip(segments[:-1]).adjust_cell_length(width)

    def _row_segments(self, listed: ListedRow, widths: list[int]) -> list[Segment]:
        row = listed.row
        overdue = row.next_due is not None and row.next_due < self.today
        tier = row.tier or "-"
        due = short_date(row.next_due) + ("!" if overdue else "")
        cells: list[tuple[str, Style | None]] = [
            (row.name, None),
            (tier, TIER_STYLES.get(row.tier)),
            (row.status or "-", None),
            (row.owner or "-", None),
            (row.industry or "-", None),
            (_right(wan(row.total_amount), widths[5]), None),
            (short_date(row.last_contact_date), None),
            (due, OVERDUE if overdue else None),
        ]
        segments: list[Segment] = []
        for (text, style), cells_wide in zip(cells, widths, strict=True):
            segments.append(Segment(pad(text, cells_wide), style))
            segments.append(Segment(" "))
        return segments[:-1]


def _right(text: str, width: int) -> str:
    return " " * max(0, width - cell_width(text)) + text


def _runs(indexes: list[int]) -> list[tuple[int, int]]:
    """Contiguous runs of sorted indexes: [1, 2, 3, 7, 8] → [(1, 3), (7, 8)]."""
    runs: list[tuple[int, int]] = []
    for i in indexes:
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs
