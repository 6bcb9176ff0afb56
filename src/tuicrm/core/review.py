"""The weekly and quarterly review (method step 6): what changed, what is late, and
whether each segment works — every figure with its count and first customers, the rest
paged on demand (:func:`customers_behind`).

Definitions (the store's queries in :mod:`tuicrm.core.store.review` implement them):

Period figures (a week by default, any range; ``today`` is the as-of date):

- *new customers*: first contacted in the period (the day added when no date is known);
- *deals*: customers whose last deal date is in the period;
- *tier / lifecycle moves*: ``tier_history`` rows dated in the period with an old value
  (a first assignment is not a move), as a from → to matrix;
- *follow-ups done vs due per owner*: done = customers followed up in the period, by the
  follow-up's owner; due = those plus the customers of that owner whose next follow-up
  falls on or before the period's end and is still not done;
- *late entries*: follow-ups dated in the period entered more than
  ``followup.late_after_hours`` after the end of their day (the 24-hour rule);
- *overdue*: customers whose next follow-up was due before ``today``;
- *to-dos past due*: open to-dos due before ``today``;
- *complex problems not answered*: a follow-up in the period that left a to-do is a
  problem raised; it counts when a to-do of it was done more than
  ``followup.answer_within_hours`` after the follow-up was entered, or is still open
  past that time.

Quarterly metrics, per segment and per owner (the customer's current ones):

- *conversion rate*: of the potential customers of the quarter (known by its end, no deal
  before it began), the share with a first deal in it;
- *repurchase rate*: of the customers with a deal before the quarter, the share whose last
  deal is in it (only the last deal date is kept, so an older quarter's rate counts the
  customers whose *latest* deal fell in it: a lower bound);
- *upsell amount*: the growth of existing customers' purchase totals in the quarter, from
  the audit of ``total_amount``;
- *satisfaction*: the mean of the 1–5 scores on the quarter's follow-ups;
- *strategy completion rate*: strategy actions with a deadline in the quarter done on or
  before it;
- *unresolved feedback*: the quarter's follow-ups with feedback and a to-do still open.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from tuicrm.core.models import Line, Model, Note
from tuicrm.core.rules import ReviewTargets, Rules

if TYPE_CHECKING:
    from tuicrm.core.store import Store

FigureKey = Literal["new_customers", "deals", "tier_moves", "lifecycle_moves",
                    "late_entries", "overdue", "todos_past_due", "unanswered_problems"]

FIGURE_LABELS: dict[str, str] = {
    "new_customers": "New customers",
    "deals": "Deals",
    "tier_moves": "Tier moves",
    "lifecycle_moves": "Lifecycle moves",
    "late_entries": "Late entries (24-hour rule)",
    "overdue": "Overdue follow-ups",
    "todos_past_due": "Open to-dos past due",
    "unanswered_problems": "Problems not answered in time",
}

METRICS: dict[str, str] = {
    "conversion_rate": "Conversion of potential customers",
    "repurchase_rate": "Repurchase rate",
    "upsell_amount": "Upsell amount",
    "satisfaction": "Satisfaction (1–5)",
    "strategy_completion_rate": "Strategy actions done on time",
    "unresolved_feedback": "Unresolved feedback",
}
# Higher is better for every metric but this one, which has a ceiling.
AT_MOST = {"unresolved_feedback"}


# A figure carries its count and the ids of its first customers, lowest first; the rest
# are paged from the store by :func:`customers_behind` when a person opens the figure.
FIRST_IDS = 50


class Figure(BaseModel):
    """One number of the review and the first customers behind it."""

    key: str
    label: str
    count: int
    customer_ids: list[int]
    """The first :data:`FIRST_IDS` customers, lowest id first."""


class Move(BaseModel):
    """One cell of the from → to matrix of tier or lifecycle moves."""

    kind: Literal["tier", "lifecycle"]
    old: str
    new: str
    count: int
    customer_ids: list[int]
    """The first :data:`FIRST_IDS` customers, lowest id first."""


class OwnerFollowUps(BaseModel):
    """Follow-ups one owner did in the period against those due: customers followed up,
    and customers that were due (followed up or still open)."""

    owner: str
    done: int
    due: int


class PeriodReview(BaseModel):
    """The figures of one period."""

    start: dt.date
    end: dt.date
    today: dt.date
    figures: list[Figure]
    moves: list[Move]
    owners: list[OwnerFollowUps]
    tier_distribution: list[tuple[str, int]]
    weekly_followups: list[tuple[str, str, int]]
    """(week start, owner, follow-ups) over the last weeks."""

    def figure(self, key: str) -> Figure:
        """The figure of a key (``overdue`` …)."""
        return next(f for f in self.figures if f.key == key)


class QuarterFigures(BaseModel):
    """The quarterly metrics of one group (a segment, an owner, everyone) and quarter,
    with the counts behind the rates."""

    pool: int = 0
    converted: int = 0
    base: int = 0
    repurchased: int = 0
    upsell_amount: int = 0
    satisfaction_sum: int = 0
    rated: int = 0
    planned: int = 0
    on_time: int = 0
    unresolved_feedback: int = 0

    @property
    def conversion_rate(self) -> float | None:
        """Converted share of the potential customers."""
        return self.converted / self.pool if self.pool else None

    @property
    def repurchase_rate(self) -> float | None:
        """Share of earlier buyers who bought again."""
        return self.repurchased / self.base if self.base else None

    @property
    def satisfaction(self) -> float | None:
        """Mean satisfaction score."""
        return self.satisfaction_sum / self.rated if self.rated else None

    @property
    def strategy_completion_rate(self) -> float | None:
        """Share of planned actions done on time."""
        return self.on_time / self.planned if self.planned else None

    def value(self, metric: str) -> float | None:
        """A metric by name."""
        value: float | int | None = getattr(self, metric)
        return None if value is None else float(value)

    def add(self, row: dict[str, Any]) -> None:
        """Add the counts of a row."""
        for name in type(self).model_fields:
            if row.get(name) is not None:
                setattr(self, name, getattr(self, name) + int(row[name]))


def meets(metric: str, value: float | None, targets: ReviewTargets) -> bool | None:
    """Whether a value meets its target (``None`` when there is nothing to measure)."""
    if value is None:
        return None
    target = float(getattr(targets, metric))
    return value <= target if metric in AT_MOST else value >= target


class Quarter(BaseModel):
    """One quarter's metrics: overall, per segment, per owner."""

    start: dt.date
    end: dt.date
    overall: QuarterFigures
    by_segment: dict[str, QuarterFigures]
    by_owner: dict[str, QuarterFigures]

    @property
    def name(self) -> str:
        """``2024Q1``."""
        return f"{self.start.year}Q{(self.start.month - 1) // 3 + 1}"


class QuarterReview(BaseModel):
    """The last quarters, oldest first; the last one is the quarter under review."""

    quarters: list[Quarter]
    targets: ReviewTargets

    @property
    def current(self) -> Quarter:
        """The quarter under review."""
        return self.quarters[-1]


class Review(BaseModel):
    """The whole review: the period's figures and the quarterly metrics."""

    period: PeriodReview
    quarterly: QuarterReview
    problems: list[str]
    plan: list[str]


# -- periods ---------------------------------------------------------------------------


def week_of(today: dt.date) -> tuple[dt.date, dt.date]:
    """Monday of ``today``'s week to ``today``."""
    return today - dt.timedelta(days=today.weekday()), today


def quarter_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of ``day``'s quarter."""
    start = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    month = start.month + 3
    following = dt.date(start.year + (month > 12), (month - 1) % 12 + 1, 1)
    return start, following - dt.timedelta(days=1)


def last_quarters(day: dt.date, count: int) -> list[tuple[dt.date, dt.date]]:
    """``count`` quarters ending with ``day``'s, oldest first."""
    quarters = [quarter_of(day)]
    while len(quarters) < count:
        quarters.insert(0, quarter_of(quarters[0][0] - dt.timedelta(days=1)))
    return quarters


# -- building the review -----------------------------------------------------------------


def _period_params(period: PeriodReview | tuple[dt.date, dt.date, dt.date],
                   rules: Rules) -> dict[str, Any]:
    start, end, today = ((period.start, period.end, period.today)
                         if isinstance(period, PeriodReview) else period)
    return {"start": start.isoformat(), "end": end.isoformat(), "today": today.isoformat(),
            "late_hours": rules.followup.late_after_hours,
            "hours": rules.followup.answer_within_hours}


def _behind(key: str) -> tuple[str, dict[str, str]]:
    """The store's query and extra parameters of a figure key: the eight figures, a
    moves cell ``move:<kind>:<old>:<new>``, an owner's ``done:<owner>``, ``due:<owner>``."""
    if key in ("tier_moves", "lifecycle_moves"):
        return key, {"kind": key.removesuffix("_moves")}
    if key.startswith("move:"):
        kind, old, new = key.split(":", 3)[1:]
        return "move", {"kind": kind, "old": old, "new": new}
    if key.startswith(("done:", "due:")):
        name, owner = key.split(":", 1)
        return name, {"owner": owner}
    return key, {}


def count_behind(store: Store, rules: Rules,
                 period: PeriodReview | tuple[dt.date, dt.date, dt.date], key: str) -> int:
    """How many customers are behind a figure of the period (start, end, today)."""
    from tuicrm.core.store import review as sql

    name, extra = _behind(key)
    return sql.customers_count(store, name, {**_period_params(period, rules), **extra})


def customers_behind(store: Store, rules: Rules,
                     period: PeriodReview | tuple[dt.date, dt.date, dt.date], key: str, *,
                     count: int | None = None, after: int = 0,
                     limit: int = FIRST_IDS) -> list[int]:
    """A page of the customers behind a figure of the period (its key as in the review's
    figures, ``move:<kind>:<old>:<new>``, ``done:<owner>`` or ``due:<owner>``): ids above
    ``after``, lowest first, at most ``limit``. ``count``, when known, spares counting."""
    from tuicrm.core.store import review as sql

    name, extra = _behind(key)
    params = {**_period_params(period, rules), **extra}
    if count is None:
        count = sql.customers_count(store, name, params)
    return sql.customers_behind(store, name, params, count=count, after=after, limit=limit)


def period_review(store: Store, rules: Rules, *, start: dt.date, end: dt.date,
                  today: dt.date) -> PeriodReview:
    """The figures of ``start``–``end`` as of ``today``: counts, the first customers of
    each; :func:`customers_behind` pages the rest."""
    from tuicrm.core.store import review as sql

    period = (start, end, today)
    figures = []
    for key, label in FIGURE_LABELS.items():
        count = count_behind(store, rules, period, key)
        figures.append(Figure(key=key, label=label, count=count, customer_ids=customers_behind(
            store, rules, period, key, count=count)))
    weeks_start = week_of(end)[0] - dt.timedelta(weeks=7)
    return PeriodReview(
        start=start, end=end, today=today, figures=figures,
        moves=[Move.model_validate({"kind": k, "old": o, "new": n, "count": count,
                                    "customer_ids": ids})
               for k, o, n, count, ids in sql.move_cells(store, start, end, FIRST_IDS)],
        owners=[OwnerFollowUps(owner=owner, done=done, due=due)
                for owner, done, due in sql.owner_followups(store, start, end)],
        tier_distribution=sql.tier_distribution(store),
        weekly_followups=sql.weekly_followups(store, weeks_start, end),
    )


def quarter_review(store: Store, rules: Rules, *, day: dt.date) -> QuarterReview:
    """The metrics of the last ``review.quarters`` quarters up to ``day``'s."""
    from tuicrm.core.store import review as sql

    spans = last_quarters(day, rules.review.quarters)
    quarters = [Quarter(start=s, end=e, overall=QuarterFigures(), by_segment={}, by_owner={})
                for s, e in spans]
    by_start = {q.start.isoformat(): q for q in quarters}

    def add(quarter: Quarter, segment: str | None, owner: str | None,
            row: dict[str, Any]) -> None:
        quarter.overall.add(row)
        if segment is None or owner is None:  # a trend row: the quarter's total only
            return
        quarter.by_segment.setdefault(segment or "-", QuarterFigures()).add(row)
        quarter.by_owner.setdefault(owner or "-", QuarterFigures()).add(row)

    for row in sql.quarter_customer_counts(store, spans):
        for i, quarter in enumerate(quarters):
            add(quarter, row["segment"], row["owner"],
                {name: row[f"{name}_{i}"] for name in ("pool", "converted", "base",
                                                       "repurchased")})
    first, last = spans[0][0], spans[-1][1]
    for rows in (sql.quarter_followup_counts(store, first, last, spans[-1][0]),
                 sql.quarter_action_counts(store, first, last),
                 sql.quarter_upsell(store, first, last)):
        for row in rows:
            found = by_start.get(row["quarter"])
            if found is not None:
                data = dict(row)
                if "unresolved" in data:
                    data["unresolved_feedback"] = data.pop("unresolved")
                if "upsell" in data:
                    data["upsell_amount"] = data.pop("upsell")
                add(found, row["segment"], row["owner"], data)
    return QuarterReview(quarters=quarters, targets=rules.review.targets)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def format_metric(metric: str, value: float | None) -> str:
    """A metric's value as people read it: a percentage, a score or a number."""
    if value is None:
        return "–"
    if metric.endswith("_rate"):
        return _percent(value)
    if metric == "satisfaction":
        return f"{value:.1f}"
    return f"{value:,.0f}"


def analyse(rules: Rules, period: PeriodReview,
            quarterly: QuarterReview) -> tuple[list[str], list[str]]:
    """The problems the figures show and an improvement plan, as sentences."""
    targets = quarterly.targets
    problems: list[str] = []
    plan: list[str] = []
    current = quarterly.current
    for group, figures in [("all", current.overall), *sorted(current.by_segment.items())]:
        for metric in METRICS:
            value = figures.value(metric)
            if meets(metric, value, targets) is False:
                target = format_metric(metric, float(getattr(targets, metric)))
                word = "above" if metric in AT_MOST else "below"
                where = "overall" if group == "all" else f"segment {group}"
                problems.append(f"{METRICS[metric]} {where}: {format_metric(metric, value)}, "
                                f"{word} the target {target}.")
                if group != "all":
                    try:
                        play = rules.playbook.play(group)
                        plan.append(f"Segment {rules.segment_label(group)} ({play.strategy}): "
                                    f"revisit the play for {METRICS[metric].lower()} "
                                    f"(now every {play.cadence_days} days by {play.channel}).")
                    except AttributeError:
                        pass
    for key, advice in (
        ("overdue", "Clear the overdue follow-ups: each owner books the oldest first."),
        ("late_entries", "Record follow-ups the same day (24-hour rule)."),
        ("todos_past_due", "Close or re-date the to-dos past due."),
        ("unanswered_problems",
         f"Answer complex problems within {rules.followup.answer_within_hours} hours: "
         "assign an owner at the meeting."),
    ):
        figure = period.figure(key)
        if figure.count:
            problems.append(f"{figure.label}: {figure.count} customer(s).")
            plan.append(advice)
    return problems, list(dict.fromkeys(plan))


def build_review(store: Store, rules: Rules, *, start: dt.date, end: dt.date,
                 today: dt.date) -> Review:
    """The period's figures, the quarterly metrics of ``end``'s quarter and before, the
    problems they show and an improvement plan."""
    period = period_review(store, rules, start=start, end=end, today=today)
    quarterly = quarter_review(store, rules, day=end)
    problems, plan = analyse(rules, period, quarterly)
    return Review(period=period, quarterly=quarterly, problems=problems, plan=plan)


# -- lessons -----------------------------------------------------------------------------


class Lesson(Model):
    """A success or failure case the team keeps: what happened, what to repeat or avoid."""

    id: int | None = None
    title: Line = Field(min_length=1)
    kind: Literal["success", "failure"]
    happened: Note = ""
    advice: Note = ""
    """What to repeat (a success) or avoid (a failure)."""
    customer_ids: list[int] = Field(default_factory=list)
    tags: list[Line] = Field(default_factory=list)
    created_at: str = ""
    created_by: str = ""


def add_lesson(store: Store, lesson: Lesson, *, user: str, at: dt.date) -> int:
    """Keep a lesson; every linked customer must exist."""
    from tuicrm.core.store import review as sql

    return sql.add_lesson(store, title=lesson.title, kind=lesson.kind,
                          happened=lesson.happened, advice=lesson.advice,
                          customer_ids=lesson.customer_ids, tags=lesson.tags,
                          at=at.isoformat(), user=user)


def find_lessons(store: Store, *, query: str = "", customer_id: int | None = None,
                 limit: int = 100) -> list[Lesson]:
    """Lessons, newest first, matching ``query`` or linked to ``customer_id``."""
    from tuicrm.core.store import review as sql

    return [Lesson.stored(row)
            for row in sql.lessons(store, query=query, customer_id=customer_id, limit=limit)]


# -- meeting ------------------------------------------------------------------------------

MEETING_OVERDUE_AT_MOST = 50


def discussion_ids(period: PeriodReview) -> list[int]:
    """The customers the meeting walks through: tier moved, lifecycle moved, then the
    overdue ones (at most :data:`MEETING_OVERDUE_AT_MOST` of them, lowest id first)."""
    ids: list[int] = []
    for key in ("tier_moves", "lifecycle_moves"):
        ids += period.figure(key).customer_ids
    ids += period.figure("overdue").customer_ids[:MEETING_OVERDUE_AT_MOST]
    return list(dict.fromkeys(ids))


class Decision(BaseModel):
    """What the meeting decided about one customer (kept as a to-do)."""

    customer_id: int
    customer: str
    text: str
    owner: str
    due: dt.date


def minutes_markdown(start: dt.date, end: dt.date, decisions: list[Decision]) -> str:
    """The meeting's minutes: one line per decision."""
    lines = [f"# Review meeting {start} – {end}", ""]
    lines += [f"- **{d.customer}** (#{d.customer_id}): {d.text} — {d.owner or '-'}, "
              f"by {d.due}" for d in decisions] or ["- No decision recorded."]
    return "\n".join(lines) + "\n"
