"""The review screen: the week's figures, each opening the customers behind it, and the
charts the meeting looks at (tier distribution, follow-ups per owner per week)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option
from textual_plotext import PlotextPlot

from tuicrm.core.models import Todo
from tuicrm.core.review import (
    Decision,
    PeriodReview,
    customers_behind,
    discussion_ids,
    minutes_markdown,
    period_review,
    week_of,
)
from tuicrm.core.rows import CustomerRow
from tuicrm.core.rules import Rules
from tuicrm.tui.screens.base import CrmScreen
from tuicrm.tui.screens.dialogs import PromptScreen
from tuicrm.tui.widgets.footer import KeysFooter

if TYPE_CHECKING:
    from tuicrm.core.store import Store

DECISION_DUE_DAYS = 7

# The customers a figure opens are paged from the store, lowest id first, this many at a
# time: the next page is read when the cursor reaches the last customer listed.
LISTED_AT_MOST = 500


class ReviewFetched(Message):
    """The period's figures were worked out."""

    def __init__(self, review: PeriodReview) -> None:
        super().__init__()
        self.review = review


class CustomersFetched(Message):
    """The rows of the customers behind a figure were read."""

    def __init__(self, key: str, title: str, rows: list[CustomerRow], total: int) -> None:
        super().__init__()
        self.key = key
        self.title = title
        self.rows = rows
        self.total = total


class MoreCustomersFetched(Message):
    """The next page of the customers behind a figure was read."""

    def __init__(self, rows: list[CustomerRow]) -> None:
        super().__init__()
        self.rows = rows


class CurrentFetched(Message):
    """The customer under discussion was read."""

    def __init__(self, row: CustomerRow) -> None:
        super().__init__()
        self.row = row


class FigureCustomersScreen(CrmScreen):
    """The customers behind one figure, a page at a time (the next one is read when the
    cursor reaches the last); enter opens a profile."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="review.back"),
        Binding("enter", "open", "Open", show=False, id="review.open"),
    ]

    DEFAULT_CSS = """
    FigureCustomersScreen #figure-title { height: 1; padding: 0 1; text-style: bold; }
    FigureCustomersScreen OptionList { height: 1fr; }
    """

    def __init__(self, title: str, rows: list[CustomerRow], total: int,
                 next_page: Callable[[Store, int], list[int]] | None = None) -> None:
        """``next_page(store, after)``: the ids of the next customers after an id."""
        super().__init__()
        self.title_text = title
        self.rows = rows
        self.total = total
        self.next_page = next_page
        self.reading = False

    def compose(self) -> ComposeResult:
        yield Static(id="figure-title")
        yield OptionList(*map(self._option, self.rows), id="figure-customers")
        yield KeysFooter()

    @staticmethod
    def _option(row: CustomerRow) -> Option:
        # Names are data: plain Text, never markup.
        return Option(Text(" · ".join(x for x in (row.name, row.tier, row.status, row.owner)
                                      if x)), id=str(row.id))

    def _show_title(self) -> None:
        shown = f" ({len(self.rows)} of {self.total})" if self.total > len(self.rows) else ""
        self.query_one("#figure-title", Static).update(
            Text(f"{self.title_text}: {self.total}{shown}"))

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        options = event.option_list
        if (event.option_index == options.option_count - 1 and len(self.rows) < self.total
                and self.next_page is not None and self.rows and not self.reading):
            self.reading = True
            self._read_next(self.rows[-1].id)

    @work(thread=True, group="review-customers", exit_on_error=False)
    def _read_next(self, after: int) -> None:
        assert self.next_page is not None
        with self.lanes["review"].use() as store:
            rows = store.rows_by_id(self.next_page(store, after))
        self.post_message(MoreCustomersFetched(rows))

    @on(MoreCustomersFetched)
    def _more_fetched(self, event: MoreCustomersFetched) -> None:
        self.reading = False
        if not event.rows:  # the figure shrank since it was counted
            self.total = len(self.rows)
        self.rows += event.rows
        self.query_one(OptionList).add_options(map(self._option, event.rows))
        self._show_title()

    def on_mount(self) -> None:
        super().on_mount()
        self._show_title()
        self.query_one(OptionList).focus()

    def action_back(self) -> None:
        """Back to the review."""
        self.dismiss()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.crm.open_profile(int(event.option.id))

    def action_open(self) -> None:
        """Open the highlighted customer."""
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            option = options.get_option_at_index(options.highlighted)
            if option.id:
                self.crm.open_profile(int(option.id))


class ReviewScreen(CrmScreen):
    """The weekly review: what changed, what is late, who followed up whom."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="review.back"),
        Binding("enter", "open", "Customers", id="review.customers"),
        Binding("left_square_bracket", "week(-1)", "Week before", id="review.previous"),
        Binding("right_square_bracket", "week(1)", "Week after", id="review.next"),
        Binding("n", "step(1)", "Next to discuss", id="review.meeting_next"),
        Binding("p", "step(-1)", "Previous", show=False, id="review.meeting_previous"),
        Binding("d", "decide", "Decide", id="review.decide"),
        Binding("w", "minutes", "Minutes", id="review.minutes"),
    ]

    DEFAULT_CSS = """
    ReviewScreen #review-title { height: 1; padding: 0 1; text-style: bold; }
    ReviewScreen #review-meeting { height: auto; padding: 0 1; display: none; }
    ReviewScreen #review-body { height: 1fr; }
    ReviewScreen #review-figures { width: 42; height: 1fr; }
    ReviewScreen #review-charts { width: 1fr; height: 1fr; }
    ReviewScreen PlotextPlot { height: 1fr; }
    """

    def __init__(self, start: dt.date | None = None, end: dt.date | None = None) -> None:
        super().__init__()
        self.start = start
        self.end = end
        self.review: PeriodReview | None = None
        self.rules: Rules | None = None
        # Row key of the figures table (the figure's key) → (title, customers).
        self.behind: dict[str, tuple[str, int]] = {}
        # Meeting mode: the customers to discuss, where we are, what was decided.
        self.agenda: list[int] = []
        self.at = -1
        self.current: CustomerRow | None = None
        self.decisions: list[Decision] = []

    def compose(self) -> ComposeResult:
        yield Static(id="review-title")
        yield Static(id="review-meeting")
        with Horizontal(id="review-body"):
            yield DataTable(id="review-figures", cursor_type="row", zebra_stripes=True)
            with Vertical(id="review-charts"):
                yield PlotextPlot(id="chart-tiers")
                yield PlotextPlot(id="chart-followups")
        yield KeysFooter()

    def on_mount(self) -> None:
        super().on_mount()
        if self.start is None or self.end is None:
            self.start, self.end = week_of(self.today)
        table = self.query_one(DataTable)
        table.add_columns(self.labels("review.figure"), self.labels("review.count"))
        table.focus()
        self._show_title()
        self.load()

    def _show_title(self) -> None:
        self.query_one("#review-title", Static).update(Text(
            self.labels("review.title", start=self.start, end=self.end)))

    def relabel(self) -> None:
        super().relabel()
        self._show_title()

    @work(thread=True, exclusive=True, group="review", exit_on_error=False)
    def load(self) -> None:
        """Work out the period's figures off the UI thread."""
        from tuicrm.core.rules import load_rules

        assert self.start is not None and self.end is not None
        with self.lanes["review"].use() as store:
            rules = getattr(store.segmenter, "rules", None) or load_rules(None)
            review = period_review(store, rules, start=self.start, end=self.end,
                                   today=self.today)
        self.rules = rules
        self.post_message(ReviewFetched(review))

    @on(ReviewFetched)
    def _fetched(self, event: ReviewFetched) -> None:
        self.review = review = event.review
        table = self.query_one(DataTable)
        table.clear()
        self.behind = {}
        for figure in review.figures:
            self.behind[figure.key] = (figure.label, figure.count)
            table.add_row(Text(figure.label), Text(str(figure.count), justify="right"),
                          key=figure.key)
        for owner in review.owners:
            key = f"due:{owner.owner}"
            label = f"{owner.owner or '-'}: {self.labels('review.done_due')}"
            self.behind[key] = (label, owner.due)
            table.add_row(Text(label), Text(f"{owner.done}/{owner.due}", justify="right"),
                          key=key)
        for move in review.moves:
            key = f"move:{move.kind}:{move.old}:{move.new}"
            label = f"{move.old} → {move.new}"
            self.behind[key] = (label, move.count)
            table.add_row(Text(label), Text(str(move.count), justify="right"),
                          key=key)
        self._draw_charts(review)
        self.agenda, self.at = discussion_ids(review), -1

    def _draw_charts(self, review: PeriodReview) -> None:
        tiers = self.query_one("#chart-tiers", PlotextPlot)
        plt = tiers.plt
        plt.clear_data()
        plt.clear_figure()
        names = [t or "-" for t, _ in review.tier_distribution]
        plt.bar(names, [n for _, n in review.tier_distribution], orientation="horizontal")
        plt.title(self.labels("review.chart_tiers"))
        tiers.refresh()
        weekly = self.query_one("#chart-followups", PlotextPlot)
        plt = weekly.plt
        plt.clear_data()
        plt.clear_figure()
        weeks = sorted({week for week, _, _ in review.weekly_followups})
        per_owner: dict[str, dict[str, int]] = defaultdict(dict)
        for week, owner, count in review.weekly_followups:
            per_owner[owner or "-"][week] = count
        busiest = sorted(per_owner, key=lambda o: -sum(per_owner[o].values()))[:4]
        for owner in busiest:
            plt.plot(list(range(len(weeks))), [per_owner[owner].get(w, 0) for w in weeks],
                     label=owner)
        if weeks:
            plt.xticks(list(range(len(weeks))), [w[5:] for w in weeks])
        plt.title(self.labels("review.chart_followups"))
        weekly.refresh()

    def action_open(self) -> None:
        """Open the customers behind the highlighted figure."""
        table = self.query_one(DataTable)
        if not table.row_count:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key in self.behind:
            title, count = self.behind[key]
            self._fetch_customers(key, title, count)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    @work(thread=True, group="review-customers", exit_on_error=False)
    def _fetch_customers(self, key: str, title: str, count: int) -> None:
        review, rules = self.review, self.rules
        if review is None or rules is None:
            return
        with self.lanes["review"].use() as store:
            ids = customers_behind(store, rules, review, key, count=count,
                                   limit=LISTED_AT_MOST)
            rows = store.rows_by_id(ids)
        self.post_message(CustomersFetched(key, title, rows, count))

    @on(CustomersFetched)
    def _customers_fetched(self, event: CustomersFetched) -> None:
        review, rules, key, count = self.review, self.rules, event.key, event.total
        if review is None or rules is None:
            return

        def next_page(store: Store, after: int) -> list[int]:
            return customers_behind(store, rules, review, key, count=count, after=after,
                                    limit=LISTED_AT_MOST)

        self.app.push_screen(FigureCustomersScreen(event.title, event.rows, count, next_page))

    def action_week(self, step: int) -> None:
        """Show the week before or after."""
        assert self.start is not None
        self.start = week_of(self.start)[0] + dt.timedelta(weeks=step)
        self.end = self.start + dt.timedelta(days=6)
        self._show_title()
        self.load()

    def action_back(self) -> None:
        """Back to where the review was opened."""
        self.dismiss()

    # -- meeting mode ---------------------------------------------------------------------

    def action_step(self, step: int) -> None:
        """The next (or previous) customer to discuss."""
        if not self.agenda:
            return
        self.at = max(0, min(len(self.agenda) - 1, self.at + step))
        self._fetch_current(self.agenda[self.at])

    @work(thread=True, group="review-customers", exit_on_error=False)
    def _fetch_current(self, customer_id: int) -> None:
        with self.lanes["review"].use() as store:
            rows = store.rows_by_id([customer_id])
        if rows:
            self.post_message(CurrentFetched(rows[0]))

    @on(CurrentFetched)
    def _current_fetched(self, event: CurrentFetched) -> None:
        self.current = row = event.row
        meeting = self.query_one("#review-meeting", Static)
        meeting.display = True
        due = row.next_due.isoformat() if row.next_due else "-"
        meeting.update(Text(f"{self.at + 1}/{len(self.agenda)}  {row.name} · {row.tier} · "
                            f"{row.status} · {row.owner} · due {due}"))

    def action_decide(self) -> None:
        """Record a decision on the customer under discussion as a to-do."""
        row = self.current
        if row is None:
            return

        def typed(text: str | None) -> None:
            if text and text.strip():
                decision = Decision(customer_id=row.id, customer=row.name, text=text.strip(),
                                    owner=row.owner,
                                    due=self.today + dt.timedelta(days=DECISION_DUE_DAYS))
                self._save_decision(decision)

        self.app.push_screen(PromptScreen(f"{row.name}: decision"), typed)

    @work(thread=True, group="write", exit_on_error=False)
    def _save_decision(self, decision: Decision) -> None:
        with self.lanes["write"].use() as store:
            store.add_todo(decision.customer_id, Todo(text=decision.text, due=decision.due,
                                                      owner=decision.owner), user=self.user)
        self.decisions.append(decision)

    def minutes(self) -> str:
        """The minutes of the meeting so far (Markdown)."""
        assert self.start is not None and self.end is not None
        return minutes_markdown(self.start, self.end, self.decisions)

    def action_minutes(self) -> None:
        """Write the minutes beside the database and say where."""
        self._write_minutes(self.minutes())

    @work(thread=True, group="write", exit_on_error=False)
    def _write_minutes(self, text: str) -> None:
        from pathlib import Path

        with self.lanes["write"].use() as store:
            folder = Path(store.path).parent if isinstance(store.path, Path) else Path.cwd()
        path = folder / f"minutes-{self.today.isoformat()}.md"
        path.write_text(text, encoding="utf-8")
        self.app.call_from_thread(self.notify, f"minutes: {path}", markup=False)
