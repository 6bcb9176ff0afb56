"""Set-based segmentation: tiers, lanes, lifecycle, playbook and due dates in SQL.

One ``SELECT`` classifies customers from their facts (deal dates, amounts, status, the
latest follow-up …) as of a date, with every threshold and label bound as a parameter:
nothing from the rules file or the data is spliced into SQL text. The same query serves
three callers:

- :func:`segment` stores the outcome (tier, lifecycle, segment, strategy, cadence,
  next due) for a list of customers or for everyone, writes only the rows that changed,
  and keeps every change of tier or lifecycle in ``tier_history``;
- :func:`preview` compares the outcome of other rules with what is stored (the what-if);
- :func:`computed_tags` asks it, for one customer, for the tags with their reasons, so
  a tag always says why in terms of the rules in force.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tuicrm.core.models import Tag
from tuicrm.core.rules import SEGMENTS, Rules
from tuicrm.core.store.indexing import create_indexes

if TYPE_CHECKING:
    from tuicrm.core.store import Store

# Tier expressions of each scheme; the scheme name comes from a validated Literal, so
# choosing among these fixed texts splices nothing a user wrote.
_TIER_SQL = {
    "value": """CASE segment WHEN 'high' THEN :label_high WHEN 'mid' THEN :label_mid
        WHEN 'potential' THEN :label_potential WHEN 'churn_risk' THEN :label_churn_risk
        ELSE :label_nurture END""",
    "grade": """CASE WHEN grade_points >= :grade_a THEN 'A' WHEN grade_points >= :grade_b
        THEN 'B' WHEN grade_points >= :grade_c THEN 'C' ELSE 'D' END""",
    "vip": """CASE WHEN vip_score >= :vip_vip THEN 'VIP' WHEN vip_score >= :vip_a THEN 'A'
        WHEN vip_score >= :vip_b THEN 'B' WHEN vip_score >= :vip_c THEN 'C' ELSE 'D' END""",
    "matrix": """CASE WHEN matrix_value AND potential_key = 'high' THEN :label_star
        WHEN matrix_value THEN :label_cash_cow WHEN potential_key = 'high'
        THEN :label_question ELSE :label_long_tail END""",
}

_TIER_REASON_SQL = {
    "value": "segment_reason",
    "grade": """printf('%d of 4 points: high value %s, high need %s, close %s,
        high potential %s', grade_points, iif(value_key = 'high', 'yes', 'no'),
        iif(need_high, 'yes', 'no'), iif(close, 'yes', 'no'),
        iif(potential_key = 'high', 'yes', 'no'))""",
    "vip": """printf('score %.0f (amount %.0f, frequency %.0f, categories %.0f, profit %.0f,
        potential %.0f)', vip_score, vip_amount, vip_frequency, vip_categories, vip_profit,
        vip_potential)""",
    "matrix": """printf('annual purchases %,d %s %,d; potential %s', annual,
        iif(matrix_value, '≥', '<'), :matrix_value_min, potential_value)""",
}

# The classification, in two layers so that SQLite works out each key once per customer
# (it inlines CTEs, and a key used by many expressions would be recomputed for each):
# _FACTS_SQL gives the numbers and keys of each customer, _OUTCOME_SQL the decisions and
# their reasons from those. {scope} is one of two fixed filters below.
_FACTS_SQL = """
WITH base AS (
    SELECT c.id, c.status, c.urgency, c.relationship, c.potential, c.employees,
        c.total_amount, c.annual_amount, c.order_count, c.profit, c.need_categories,
        c.first_deal_date, c.last_deal_date, c.last_contact_date, c.next_due_manual,
        c.tier_override, c.tier_override_reason,
        c.tier AS old_tier, c.lifecycle AS old_lifecycle, c.segment AS old_segment,
        c.strategy AS old_strategy, c.cadence_days AS old_cadence, c.next_due AS old_next_due,
        coalesce(c.first_contact_date, c.first_deal_date, substr(c.created_at, 1, 10))
            AS first_contact,
        max(:min_years, coalesce(
            (julianday(:today) - julianday(c.first_deal_date)) / 365.25, 0)) AS years,
        CAST(julianday(:today) - julianday(c.last_deal_date) AS INTEGER) AS deal_age,
        CAST(julianday(:today) - julianday(c.first_deal_date) AS INTEGER) AS first_deal_age,
        CAST(julianday(:today) - julianday(c.last_contact_date) AS INTEGER) AS contact_age,
        c.status IN (SELECT value FROM json_each(:churn_statuses)) AS status_churn,
        c.status IN (SELECT value FROM json_each(:churned_statuses)) AS status_churned
    FROM customers c
    {scope}
),
valued AS (
    SELECT *,
        coalesce(annual_amount, CAST(round(total_amount / years) AS INTEGER)) AS annual,
        CASE WHEN potential IN (SELECT value FROM json_each(:potential_high_values))
                THEN 'high'
            WHEN potential = :label_potential_low THEN 'low'
            WHEN potential != '' THEN 'mid'
            WHEN employees >= :potential_high_employees THEN 'high'
            WHEN employees >= :potential_mid_employees THEN 'mid'
            ELSE 'low' END AS potential_key
    FROM base
),
classed AS (
    SELECT *,
        CASE WHEN annual >= :high_min THEN 'high' WHEN annual >= :mid_min THEN 'mid'
            ELSE 'potential' END AS value_key,
        (status_churn OR (deal_age >= :no_deal_days
            AND coalesce(contact_age >= :no_contact_days, 1))) AS churn,
        (last_deal_date IS NULL
            AND date(first_contact, printf('+%d months', :nurture_months)) <= :today)
            AS no_deal_too_long,
        (urgency IN (SELECT value FROM json_each(:high_need_urgency))) AS need_high,
        (relationship IN (SELECT value FROM json_each(:close_relationships))) AS close
    FROM valued
),
scored AS (
    SELECT *,
        min(100.0, annual * 100.0 / :vip_amount_full) AS vip_amount,
        min(100.0, coalesce(order_count, 0) / years * 100.0 / :vip_orders_full)
            AS vip_frequency,
        min(100.0, (need_categories != '') * (1 + length(need_categories) - length(
            replace(replace(replace(replace(need_categories, '/', ''), '、', ''), ',', ''),
                '，', ''))) * 100.0 / :vip_categories_full) AS vip_categories,
        max(0.0, min(100.0, coalesce(profit, 0) * 100.0 / :vip_profit_full)) AS vip_profit,
        CASE potential_key WHEN 'high' THEN 100.0 WHEN 'mid' THEN 50.0 ELSE 0.0 END
            AS vip_potential
    FROM classed
)
SELECT id, status, potential, employees, total_amount, annual_amount, first_deal_date,
    last_deal_date, last_contact_date, next_due_manual, tier_override, tier_override_reason,
    old_tier, old_lifecycle, old_segment, old_strategy, old_cadence, old_next_due,
    first_contact, years, deal_age, first_deal_age, contact_age, status_churn,
    status_churned, annual, potential_key, value_key, churn, need_high, close,
    CASE WHEN churn THEN 'churn_risk'
        WHEN value_key = 'potential' AND no_deal_too_long THEN 'nurture'
        ELSE value_key END AS segment,
    CASE WHEN status_churned THEN 'churned'
        WHEN last_deal_date IS NULL THEN 'prospect'
        WHEN deal_age >= :churned_days THEN 'churned'
        WHEN deal_age >= :dormant_days THEN 'dormant'
        WHEN coalesce(first_deal_age, deal_age) < :new_days THEN 'new'
        ELSE 'repeat' END AS lifecycle_key,
    (value_key = 'high') + need_high + close + (potential_key = 'high') AS grade_points,
    vip_amount, vip_frequency, vip_categories, vip_profit, vip_potential,
    vip_amount * :w_amount + vip_frequency * :w_frequency + vip_categories * :w_categories
        + vip_profit * :w_profit + vip_potential * :w_potential AS vip_score,
    annual >= :matrix_value_min AS matrix_value
FROM scored
"""

_OUTCOME_SQL = """
WITH explained AS (
    SELECT *,
        CASE WHEN potential != '' THEN potential ELSE CASE potential_key
            WHEN 'high' THEN :label_potential_high WHEN 'mid' THEN :label_potential_mid
            ELSE :label_potential_low END END AS potential_value,
        printf('annual purchases %,d', annual) || CASE WHEN annual_amount IS NULL
            THEN printf(' (total %,d over %.1f years)', total_amount, years) ELSE '' END
            || CASE value_key
                WHEN 'high' THEN printf(' ≥ %,d', :high_min)
                WHEN 'mid' THEN printf(' ≥ %,d and < %,d', :mid_min, :high_min)
                ELSE printf(' < %,d', :mid_min) END AS value_reason,
        CASE WHEN status_churn THEN printf('status %s', status)
            ELSE printf('no deal for %d days (≥ %d) and ', deal_age, :no_deal_days)
                || CASE WHEN contact_age IS NULL THEN 'no contact on record'
                    ELSE printf('no contact for %d days (≥ %d)', contact_age,
                        :no_contact_days) END
            END AS churn_reason,
        CASE segment {strategy_cases} END AS strategy,
        CASE segment {cadence_cases} END AS cadence_days
    FROM {facts}
),
decided AS (
    SELECT *,
        CASE segment WHEN 'churn_risk' THEN churn_reason
            WHEN 'nurture' THEN printf('no deal %d months after first contact on %s',
                :nurture_months, first_contact)
            ELSE value_reason END AS segment_reason
    FROM explained
)
SELECT *,
    CASE WHEN tier_override != '' THEN tier_override ELSE {tier} END AS tier,
    CASE WHEN tier_override != '' THEN 'set by hand: ' || tier_override_reason
        ELSE {tier_reason} END AS tier_reason,
    CASE lifecycle_key WHEN 'churned' THEN :label_churned WHEN 'prospect' THEN :label_prospect
        WHEN 'dormant' THEN :label_dormant WHEN 'new' THEN :label_new ELSE :label_repeat END
        AS lifecycle,
    CASE lifecycle_key
        WHEN 'churned' THEN CASE WHEN status_churned THEN printf('status %s', status)
            ELSE printf('no deal for %d days (≥ %d)', deal_age, :churned_days) END
        WHEN 'prospect' THEN 'no deal yet'
        WHEN 'dormant' THEN printf('no deal for %d days (≥ %d)', deal_age, :dormant_days)
        WHEN 'new' THEN printf('first deal on %s, %d days ago (< %d)',
            coalesce(first_deal_date, last_deal_date), coalesce(first_deal_age, deal_age),
            :new_days)
        ELSE printf('first deal on %s, %d days ago (≥ %d); last deal %d days ago',
            first_deal_date, first_deal_age, :new_days, deal_age) END AS lifecycle_reason,
    CASE WHEN next_due_manual IS NOT NULL
            AND (last_contact_date IS NULL OR next_due_manual > last_contact_date)
        THEN next_due_manual
        ELSE date(coalesce(last_contact_date, first_contact), printf('+%d days', cadence_days))
        END AS next_due
FROM decided
"""

_SCOPE_ALL = ""
_SCOPE_IDS = "WHERE c.id IN (SELECT value FROM json_each(:ids))"
# Customers whose tier or lifecycle moved from an earlier one (not a first assignment).
_SCOPE_MOVED = (
    "WHERE c.id IN (SELECT id FROM temp.seg WHERE (tier IS NOT old_tier AND old_tier != '') "
    "OR (lifecycle IS NOT old_lifecycle AND old_lifecycle != ''))"
)
FIRST_SEGMENTATION = "first segmentation"

# The 24-hour rule, for one customer's tags.
_LATE_SQL = """
SELECT count(*), max(date) FROM followups
WHERE customer_id = :id AND date > date(:today, printf('-%d days', :late_window))
  AND date <= :today AND julianday(entered_at) > julianday(date) + 1 + :late_hours / 24.0
"""


def _facts_sql(scope: str) -> str:
    return _FACTS_SQL.format(scope=scope)


def _outcome_sql(rules: Rules, facts: str) -> str:
    """The decisions over ``facts``: a temp table's name or a parenthesised query."""
    return _OUTCOME_SQL.format(
        facts=facts,
        strategy_cases=" ".join(f"WHEN '{key}' THEN :strategy_{key}" for key in SEGMENTS),
        cadence_cases=" ".join(f"WHEN '{key}' THEN :cadence_{key}" for key in SEGMENTS),
        tier=_TIER_SQL[rules.tier_scheme], tier_reason=_TIER_REASON_SQL[rules.tier_scheme],
    )


def _classify_sql(rules: Rules, scope: str) -> str:
    """Facts and decisions of customers in one query, for one of the fixed scopes:
    everyone, the customers in the JSON list ``:ids``, those whose tier moved."""
    return _outcome_sql(rules, f"({_facts_sql(scope)})")


def rule_params(rules: Rules, today: dt.date) -> dict[str, Any]:
    """Every threshold and label of ``rules`` as named SQL parameters."""
    labels = rules.labels.model_dump()
    plays = [rules.playbook.play(key) for key in SEGMENTS]
    params: dict[str, Any] = {f"label_{key}": value for key, value in labels.items()}
    params.update(
        today=today.isoformat(),
        min_years=rules.value.min_years,
        high_min=rules.value.high_min,
        mid_min=rules.value.mid_min,
        churn_statuses=json.dumps(rules.churn_risk.statuses),
        no_deal_days=rules.churn_risk.no_deal_days,
        no_contact_days=rules.churn_risk.no_contact_days,
        nurture_months=rules.nurture.months,
        churned_statuses=json.dumps(rules.lifecycle.churned_statuses),
        new_days=rules.lifecycle.new_days,
        dormant_days=rules.lifecycle.dormant_days,
        churned_days=rules.lifecycle.churned_days,
        stable_days=rules.stability.stable_days,
        potential_high_values=json.dumps(rules.potential.high_values),
        potential_high_employees=rules.potential.high_employees,
        potential_mid_employees=rules.potential.mid_employees,
        late_hours=rules.followup.late_after_hours,
        late_window=rules.followup.late_window_days,
        high_need_urgency=json.dumps(rules.grade.high_need_urgency),
        close_relationships=json.dumps(rules.grade.close_relationships),
        grade_a=rules.grade.a_min_points,
        grade_b=rules.grade.b_min_points,
        grade_c=rules.grade.c_min_points,
        vip_amount_full=rules.vip.amount_full,
        vip_orders_full=rules.vip.orders_full,
        vip_categories_full=rules.vip.categories_full,
        vip_profit_full=rules.vip.profit_full,
        w_amount=rules.vip.weight_amount,
        w_frequency=rules.vip.weight_frequency,
        w_categories=rules.vip.weight_categories,
        w_profit=rules.vip.weight_profit,
        w_potential=rules.vip.weight_potential,
        vip_vip=rules.vip.vip_min,
        vip_a=rules.vip.a_min,
        vip_b=rules.vip.b_min,
        vip_c=rules.vip.c_min,
        matrix_value_min=rules.matrix.value_min,
    )
    for key, play in zip(SEGMENTS, plays, strict=True):
        params[f"strategy_{key}"] = play.strategy
        params[f"cadence_{key}"] = play.cadence_days
    return params


_CHANGED = (
    "(tier IS NOT old_tier OR lifecycle IS NOT old_lifecycle OR segment IS NOT old_segment "
    "OR strategy IS NOT old_strategy OR cadence_days IS NOT old_cadence "
    "OR next_due IS NOT old_next_due)"
)


# The bulk path works in two passes, each key computed once per customer: the keys from
# the facts into a narrow temp table, then the outcome from the keys and the stored row.
# It must agree with _OUTCOME_SQL (test_bulk_agrees_with_the_single_query proves it).
_KEYS_SQL = """
SELECT id, segment, lifecycle_key, first_contact, {scheme_tier} AS scheme_tier
FROM ({facts})
"""

_STORED_OUTCOME_SQL = """
SELECT * FROM (
    SELECT k.id, c.tier AS old_tier, c.lifecycle AS old_lifecycle,
        c.segment AS old_segment, c.strategy AS old_strategy, c.cadence_days AS old_cadence,
        c.next_due AS old_next_due,
        CASE WHEN c.tier_override != '' THEN c.tier_override ELSE coalesce(k.scheme_tier,
            CASE k.segment WHEN 'high' THEN :label_high WHEN 'mid' THEN :label_mid
                WHEN 'potential' THEN :label_potential
                WHEN 'churn_risk' THEN :label_churn_risk ELSE :label_nurture END) END
            AS tier,
        CASE k.lifecycle_key WHEN 'churned' THEN :label_churned
            WHEN 'prospect' THEN :label_prospect WHEN 'dormant' THEN :label_dormant
            WHEN 'new' THEN :label_new ELSE :label_repeat END AS lifecycle,
        k.segment AS segment,
        CASE k.segment {strategy_cases} END AS strategy,
        CASE k.segment {cadence_cases} END AS cadence_days,
        CASE WHEN c.next_due_manual IS NOT NULL
                AND (c.last_contact_date IS NULL OR c.next_due_manual > c.last_contact_date)
            THEN c.next_due_manual
            ELSE date(coalesce(c.last_contact_date, k.first_contact),
                printf('+%d days', CASE k.segment {cadence_cases} END))
            END AS next_due
    FROM temp.seg_keys k JOIN customers c ON c.id = k.id
)
"""


def _classify_into(conn: sqlite3.Connection, table: str, rules: Rules, today: dt.date,
                   ids: Sequence[int] | None, *, changed_only: bool = False) -> None:
    """Fill the temp table ``table`` with the outcome for these customers (only those
    whose outcome differs from what is stored, with ``changed_only``)."""
    params = rule_params(rules, today)
    if ids is not None:
        params["ids"] = json.dumps(list(ids))
    scheme_tier = "NULL" if rules.tier_scheme == "value" else _TIER_SQL[rules.tier_scheme]
    keys = _KEYS_SQL.format(
        scheme_tier=scheme_tier,
        facts=_facts_sql(_SCOPE_IDS if ids is not None else _SCOPE_ALL),
    )
    conn.execute("DROP TABLE IF EXISTS temp.seg_keys")
    conn.execute(f"CREATE TEMP TABLE seg_keys AS {keys}", params)
    outcome = _STORED_OUTCOME_SQL.format(
        strategy_cases=" ".join(f"WHEN '{key}' THEN :strategy_{key}" for key in SEGMENTS),
        cadence_cases=" ".join(f"WHEN '{key}' THEN :cadence_{key}" for key in SEGMENTS),
    )
    conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
    conn.execute(
        f"CREATE TEMP TABLE {table} AS {outcome}"
        + (f" WHERE {_CHANGED}" if changed_only else ""),
        params,
    )
    conn.execute("DROP TABLE temp.seg_keys")


@dataclass
class SegmentReport:
    """What a segmentation run found and changed."""

    as_of: dt.date
    customers: int = 0
    changed: int = 0
    tiers: dict[str, int] = field(default_factory=dict)
    moves: dict[tuple[str, str], int] = field(default_factory=dict)
    lifecycle_moves: dict[tuple[str, str], int] = field(default_factory=dict)
    strategy_moves: dict[tuple[str, str], int] = field(default_factory=dict)
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""

        def pairs(moves: dict[tuple[str, str], int]) -> list[dict[str, Any]]:
            return [{"from": a, "to": b, "customers": n} for (a, b), n in moves.items()]

        return {
            "as_of": self.as_of.isoformat(), "customers": self.customers,
            "changed": self.changed, "tiers": self.tiers, "tier_moves": pairs(self.moves),
            "lifecycle_moves": pairs(self.lifecycle_moves),
            "strategy_moves": pairs(self.strategy_moves),
        }


def _report(conn: sqlite3.Connection, table: str, today: dt.date,
            examples: int = 0) -> SegmentReport:
    report = SegmentReport(as_of=today)
    report.customers = conn.execute(f"SELECT count(*) FROM temp.{table}").fetchone()[0]
    report.tiers = _tier_counts(conn, f"SELECT tier FROM temp.{table}")
    _fill_moves(conn, table, report, examples)
    return report


def _tier_counts(conn: sqlite3.Connection, tiers_sql: str,
                 params: Sequence[Any] = ()) -> dict[str, int]:
    return dict(conn.execute(
        f"SELECT tier, count(*) FROM ({tiers_sql}) GROUP BY tier ORDER BY count(*) DESC, tier",
        params,
    ).fetchall())


# Each stored column and its old value in the temp table.
_OLD_COLUMN = {"tier": "old_tier", "lifecycle": "old_lifecycle", "segment": "old_segment",
               "strategy": "old_strategy", "cadence_days": "old_cadence",
               "next_due": "old_next_due"}

# What moved and which stored columns change, in two passes over the outcome table (a
# pass per figure cost a second each for 1,000,000 customers): one scan for the changed
# count and columns, one sort of only the customers whose tier, lifecycle or strategy
# moved.
_CHANGES_SQL = (
    f"SELECT count(*) FILTER (WHERE {_CHANGED}), "
    + ", ".join(f"coalesce(max({column} IS NOT {old}), 0)" for column, old in _OLD_COLUMN.items())
    + " FROM temp.{table}"
)
_MOVES_SQL = """
SELECT old_tier, tier, old_lifecycle, lifecycle, old_strategy, strategy, count(*)
FROM temp.{table}
WHERE tier IS NOT old_tier OR lifecycle IS NOT old_lifecycle OR strategy IS NOT old_strategy
GROUP BY 1, 2, 3, 4, 5, 6
"""


def _sorted_moves(moves: dict[tuple[Any, Any], int]) -> dict[tuple[str, str], int]:
    """Most customers first, then by the old and new value (NULL before text, as SQL)."""
    order = sorted(moves.items(), key=lambda item: (
        -item[1], item[0][0] is not None, item[0][0] or "", item[0][1] is not None,
        item[0][1] or ""))
    return {(old or "", new or ""): count for (old, new), count in order}


def _fill_moves(conn: sqlite3.Connection, table: str, report: SegmentReport,
                examples: int) -> list[str]:
    """Fill the moves and the changed count of ``report``; returns the stored columns
    whose value changes for at least one customer of ``table``."""
    report.changed, *flags = conn.execute(_CHANGES_SQL.format(table=table)).fetchone()
    pairs: tuple[dict[tuple[Any, Any], int], ...] = ({}, {}, {})
    for *values, count in conn.execute(_MOVES_SQL.format(table=table)):
        for moves, old, new in zip(pairs, values[0::2], values[1::2], strict=True):
            if old != new:
                moves[(old, new)] = moves.get((old, new), 0) + count
    report.moves, report.lifecycle_moves, report.strategy_moves = map(_sorted_moves, pairs)
    if examples:
        for old, new in report.moves:
            report.examples[(old, new)] = [
                name for (name,) in conn.execute(
                    f"SELECT c.name FROM temp.{table} s JOIN customers c ON c.id = s.id "
                    "WHERE s.old_tier IS ? AND s.tier IS ? ORDER BY c.name_norm LIMIT ?",
                    [old, new, examples],
                )
            ]
    return [column for column, moved in zip(_OLD_COLUMN, flags, strict=True) if moved]


# From this many changed customers on, the indexes on the columns segmentation writes
# are dropped and built again after the update: sorting once beats a million scattered
# index updates (a first segmentation of 1,000,000 customers).
_REBUILD_INDEXES_FROM = 50_000
_SEGMENT_COLUMNS = ("tier", "lifecycle", "segment", "strategy", "cadence_days", "next_due")


@contextmanager
def _indexes_rebuilt_if(conn: sqlite3.Connection, rebuild: bool,
                        columns: Sequence[str] = _SEGMENT_COLUMNS) -> Iterator[None]:
    """Drop the customers' indexes on these segmentation columns for the block, then
    rebuild them from the schema's own text (inside the caller's transaction)."""
    if not rebuild or not columns:
        yield
        return
    # Read from the index's text, not pragma_index_info: that names no column for an
    # expression such as coalesce(next_due, ''), which must go too.
    named = re.compile(r"\b(?:" + "|".join(map(re.escape, columns)) + r")\b")
    indexes = [
        (name, sql) for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'customers' AND sql IS NOT NULL")
        if named.search(sql.partition("(")[2])
    ]
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    yield
    create_indexes(conn, [sql for _, sql in indexes])


# Re-segmenting everyone reads the customers table a dozen times (classifying, the
# update, each index rebuilt): read through a memory map, not a read() per page, which
# cut a fifth of its CPU time on 1,000,000 customers. SQLite caps the map (2 GiB here).
_MAP_BYTES = 8 << 30


@contextmanager
def _mapped_reads(conn: sqlite3.Connection, enabled: bool) -> Iterator[None]:
    """Map the database file into memory for reads while the block runs."""
    # A rollback journal (an import's, see Store.rollback_journal) leaves the freshly
    # written pages in the file, where the map would read them: they count towards the
    # process's resident memory (+490 MB at a million customers). In WAL they are read
    # from the log.
    if not enabled or conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        yield
        return
    before = conn.execute("PRAGMA mmap_size").fetchone()[0]
    conn.execute(f"PRAGMA mmap_size = {_MAP_BYTES}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA mmap_size = {int(before)}")


def segment(store: Store, rules: Rules, today: dt.date, ids: Sequence[int] | None = None,
            *, progress: Callable[[str], None] | None = None) -> SegmentReport:
    """Classify these customers (everyone with ``None``) as of ``today`` and store the
    outcome; returns the counts per tier and what changed.

    Only customers whose outcome changed are written; the reasons for tier history are
    worked out only for those whose tier or lifecycle moved.
    """
    step = progress or (lambda _label: None)
    with _mapped_reads(store.conn, ids is None), store.write() as conn:
        step("classifying")
        _classify_into(conn, "seg", rules, today, ids, changed_only=True)
        report = SegmentReport(as_of=today)
        columns = _fill_moves(conn, "seg", report, 0)
        step("recording history")
        if report.moves or report.lifecycle_moves:
            why = (
                "SELECT id, tier_reason, lifecycle_reason "
                f"FROM ({_classify_sql(rules, _SCOPE_MOVED)})"
            )
            conn.execute("DROP TABLE IF EXISTS temp.seg_why")
            conn.execute(f"CREATE TEMP TABLE seg_why AS {why}", rule_params(rules, today))
            # A first assignment is recorded too (so reviews know since when), with a
            # plain reason: working out a million reasons would double a first run.
            conn.execute(
                "INSERT INTO tier_history (customer_id, kind, old, new, at, reason) "
                "SELECT s.id, 'tier', coalesce(s.old_tier, ''), s.tier, :at, "
                "coalesce(w.tier_reason, :first) "
                "FROM temp.seg s LEFT JOIN temp.seg_why w ON w.id = s.id "
                "WHERE s.tier IS NOT s.old_tier "
                "UNION ALL SELECT s.id, 'lifecycle', coalesce(s.old_lifecycle, ''), "
                "s.lifecycle, :at, coalesce(w.lifecycle_reason, :first) "
                "FROM temp.seg s LEFT JOIN temp.seg_why w ON w.id = s.id "
                "WHERE s.lifecycle IS NOT s.old_lifecycle",
                {"at": today.isoformat(), "first": FIRST_SEGMENTATION},
            )
            conn.execute("DROP TABLE temp.seg_why")
        step("storing")
        # Only the columns that change somewhere are set, so SQLite leaves the indexes on
        # the others alone (it updates every index on a column named in SET).
        with _indexes_rebuilt_if(conn, report.changed >= _REBUILD_INDEXES_FROM, columns):
            if columns:
                conn.execute(
                    "UPDATE customers SET "
                    + ", ".join(f"{column} = s.{column}" for column in columns)
                    + " FROM temp.seg AS s WHERE customers.id = s.id"
                )
        step("counting")
        if ids is None:
            report.tiers = _tier_counts(conn, "SELECT tier FROM customers")
            report.customers = sum(report.tiers.values())
            _record_everyone(conn, rules, today, report.customers)
        else:
            report.tiers = _tier_counts(
                conn, "SELECT tier FROM customers WHERE id IN (SELECT value FROM json_each(?))",
                [json.dumps(list(ids))],
            )
            report.customers = sum(report.tiers.values())
        conn.execute("DROP TABLE temp.seg")
    return report


def _record_everyone(conn: sqlite3.Connection, rules: Rules, today: dt.date,
                     customers: int) -> None:
    """Record that everyone (``customers``) is segmented under ``rules`` as of ``today``."""
    conn.execute(
        "INSERT INTO segmentation_state (id, as_of, rules_fingerprint, at, customers) "
        "VALUES (1, ?, ?, datetime('now'), ?) ON CONFLICT (id) DO UPDATE SET "
        "as_of = excluded.as_of, rules_fingerprint = excluded.rules_fingerprint, "
        "at = excluded.at, customers = excluded.customers",
        [today.isoformat(), rules.fingerprint(), customers],
    )


def preview(store: Store, rules: Rules, today: dt.date, *, examples: int = 5
            ) -> SegmentReport:
    """What :func:`segment` would change under ``rules``, changing nothing."""
    conn = store.conn
    _classify_into(conn, "seg_preview", rules, today, None)
    try:
        return _report(conn, "seg_preview", today, examples=examples)
    finally:
        conn.execute("DROP TABLE temp.seg_preview")


def state(store: Store) -> dict[str, Any] | None:
    """When everyone was last segmented, as of which date, under which rules."""
    row = store.conn.execute(
        "SELECT as_of, rules_fingerprint, at, customers FROM segmentation_state"
    ).fetchone()
    if row is None:
        return None
    return {"as_of": row[0], "rules_fingerprint": row[1], "at": row[2], "customers": row[3]}


# Tags read straight from the profile: (dimension, column).
_PROFILE_TAGS = (
    ("need", "need_categories"), ("scenario", "usage_scenario"), ("urgency", "urgency"),
    ("preference", "preference"), ("response", "response_speed"),
    ("decision", "decision_style"), ("relationship", "relationship"), ("stage", "stage"),
    ("industry", "industry"), ("region", "region"), ("source", "source"),
    ("kind", "kind"), ("credit", "credit_rating"),
)


def computed_tags(store: Store, rules: Rules, today: dt.date, customer_id: int) -> list[Tag]:
    """The tags the rules give one customer as of ``today``, each with its reason."""
    sql = _classify_sql(rules, _SCOPE_IDS)
    query = (
        "SELECT value_key, value_reason, segment, segment_reason, lifecycle, "
        "lifecycle_reason, lifecycle_key, churn, churn_reason, deal_age, last_deal_date, "
        "potential_value, potential, employees, strategy, tier, "
        f"tier_reason FROM ({sql})"
    )
    params = rule_params(rules, today)
    params["ids"] = json.dumps([customer_id])
    row = store.conn.execute(query, params).fetchone()
    if row is None:
        return []
    (value_key, value_reason, segment_key, segment_reason, lifecycle, lifecycle_reason,
     _lifecycle_key, churn, churn_reason, deal_age, last_deal, potential_value, potential,
     employees, strategy, tier, tier_reason) = row
    late_count, late_latest = store.conn.execute(_LATE_SQL, {**params, "id": customer_id}
                                                 ).fetchone()
    labels = rules.labels
    tags: list[tuple[str, str, str]] = [
        ("value", rules.segment_label(value_key), value_reason),
        ("lifecycle", lifecycle, lifecycle_reason),
    ]
    if churn:
        tags.append(("lane", labels.churn_risk, churn_reason))
        tags.append(("stability", labels.churn_risk, churn_reason))
    elif last_deal is not None:
        stable = deal_age <= rules.stability.stable_days
        tags.append((
            "stability", labels.stable if stable else labels.intermittent,
            f"last deal {deal_age} days ago ({'≤' if stable else '>'} "
            f"{rules.stability.stable_days})",
        ))
    if segment_key == "nurture":
        tags.append(("lane", labels.nurture, segment_reason))
    if potential:
        tags.append(("potential", potential_value, "from the profile"))
    elif employees is not None:
        tags.append(("potential", potential_value, f"estimated from {employees} employees"))
    if late_count:
        tags.append((
            "record", labels.late,
            f"{late_count} follow-up(s) in the last {rules.followup.late_window_days} days "
            f"entered more than {rules.followup.late_after_hours} h after the day; "
            f"latest {late_latest}",
        ))
    play = rules.playbook.play(segment_key)
    tags.append((
        "strategy", strategy,
        f"playbook for {rules.segment_label(segment_key)}: {play.owner_role}, "
        f"{play.channel} every {play.cadence_days} days",
    ))
    if rules.tier_scheme != "value":
        tags.append((rules.tier_scheme, tier, tier_reason))
    customer = store.conn.execute(
        f"SELECT {', '.join(col for _, col in _PROFILE_TAGS)} FROM customers WHERE id = ?",
        [customer_id],
    ).fetchone()
    for (dimension, column), value in zip(_PROFILE_TAGS, customer, strict=True):
        if value:
            tags.append((dimension, str(value), f"{column} in the profile"))
    return [
        Tag.model_validate({"dimension": d, "value": v, "source": "rule", "reason": r or ""})
        for d, v, r in tags
    ]


class RulesSegmenter:
    """The store's segmenter: re-segments the customers a write touched, and tells the
    store the computed tags of a customer."""

    def __init__(self, rules: Rules, today: dt.date) -> None:
        self.rules = rules
        self.today = today
        self.last_report: SegmentReport | None = None

    def __call__(self, store: Store, ids: Sequence[int] | None) -> SegmentReport:
        self.last_report = segment(store, self.rules, self.today, ids)
        return self.last_report

    def tags(self, store: Store, customer_id: int) -> list[Tag]:
        """The computed tags of one customer, with their reasons."""
        return computed_tags(store, self.rules, self.today, customer_id)

    def segmented_everyone(self, store: Store) -> None:
        """Record that everyone is segmented, by a load that segmented each of its
        customers as it wrote them (into a database that held none)."""
        with store.write() as conn:
            customers = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
            _record_everyone(conn, self.rules, self.today, customers)


def make_segmenter(rules: Rules, today: dt.date) -> RulesSegmenter:
    """A segmenter applying ``rules`` as of ``today``, to pass to ``Store(segmenter=…)``."""
    return RulesSegmenter(rules, today)


def compare(store: Store, current: Rules, new: Rules, today: dt.date, *,
            examples: int = 5) -> SegmentReport:
    """Who would move between tiers, lifecycles and strategies if ``new`` replaced
    ``current`` (both as of ``today``); changes nothing."""
    conn = store.conn
    try:
        _classify_into(conn, "seg_current", current, today, None)
        _classify_into(conn, "seg_new", new, today, None)
        conn.execute("DROP TABLE IF EXISTS temp.seg_compare")
        conn.execute(
            "CREATE TEMP TABLE seg_compare AS SELECT n.id, b.tier AS old_tier, n.tier, "
            "b.lifecycle AS old_lifecycle, n.lifecycle, b.segment AS old_segment, n.segment, "
            "b.strategy AS old_strategy, n.strategy, b.cadence_days AS old_cadence, "
            "n.cadence_days, b.next_due AS old_next_due, n.next_due "
            "FROM temp.seg_new n JOIN temp.seg_current b ON b.id = n.id"
        )
        return _report(conn, "seg_compare", today, examples=examples)
    finally:
        for table in ("seg_current", "seg_new", "seg_compare"):
            conn.execute(f"DROP TABLE IF EXISTS temp.{table}")


@dataclass
class DueCustomer:
    """A customer whose next follow-up is due."""

    id: int
    name: str
    owner: str
    tier: str
    segment: str
    strategy: str
    last_contact_date: str | None
    next_due: str
    overdue_days: int


def due(store: Store, today: dt.date, *, within_days: int = 0, owner: str | None = None,
        limit: int | None = None) -> tuple[int, int, list[DueCustomer]]:
    """Customers due by ``today + within_days``, most overdue first: (how many are due,
    how many of them are overdue, the first ``limit`` of them)."""
    where = "next_due IS NOT NULL AND next_due <= date(:today, printf('+%d days', :within))"
    params: dict[str, Any] = {"today": today.isoformat(), "within": within_days}
    if owner is not None:
        where += " AND owner = :owner"
        params["owner"] = owner
    total, overdue = store.conn.execute(
        f"SELECT count(*), coalesce(sum(next_due < :today), 0) FROM customers WHERE {where}",
        params,
    ).fetchone()
    sql = (
        "SELECT id, name, owner, tier, segment, strategy, last_contact_date, next_due, "
        "CAST(julianday(:today) - julianday(next_due) AS INTEGER) "
        f"FROM customers WHERE {where} ORDER BY next_due, id"
    )
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = limit
    rows = [DueCustomer(*row) for row in store.conn.execute(sql, params)]
    return int(total), int(overdue), rows


def outcomes(store: Store, limit: int) -> list[dict[str, Any]]:
    """The stored outcome of the first ``limit`` customers by name."""
    keys = ("id", "name", "tier", "lifecycle", "segment", "strategy", "cadence_days",
            "last_contact_date", "next_due", "owner")
    rows = store.conn.execute(
        f"SELECT {', '.join(keys)} FROM customers ORDER BY name_norm, id LIMIT ?", [limit]
    ).fetchall()
    return [dict(zip(keys, row, strict=True)) for row in rows]
