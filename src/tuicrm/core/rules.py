"""The segmentation rules: thresholds, cadences, tier schemes, the playbook and labels.

Read from a TOML file (``default_rules.toml`` beside this module holds the documented
defaults); every key missing from a user's file falls back to its default. A file that is
not valid TOML, or holds an unknown key or a bad value, is refused with the line or the key
path and the reason (:class:`RulesError`), and nothing is changed.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_RULES_PATH = Path(__file__).with_name("default_rules.toml")

TierScheme = Literal["value", "grade", "vip", "matrix"]
Segment = Literal["high", "mid", "potential", "churn_risk", "nurture"]
SEGMENTS: tuple[Segment, ...] = ("high", "mid", "potential", "churn_risk", "nurture")


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the file, the line or key,
    and the reason."""


class Section(BaseModel):
    """Base of every rules section: unknown keys are mistakes, not extensions."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Days = int


class ValueRules(Section):
    """Value tier by annual purchases (yuan)."""

    high_min: int = Field(ge=0)
    """高价值 from this many yuan a year."""
    mid_min: int = Field(ge=0)
    """中价值 from this many yuan a year; below it 潜力."""
    min_years: float = Field(gt=0)
    """Years of cooperation never count as fewer than this."""

    @model_validator(mode="after")
    def _ordered(self) -> ValueRules:
        if self.mid_min > self.high_min:
            raise ValueError(f"mid_min {self.mid_min} is above high_min {self.high_min}")
        return self


class ChurnRiskRules(Section):
    """When a customer is in the churn-risk lane."""

    statuses: list[str]
    no_deal_days: Days = Field(ge=1)
    no_contact_days: Days = Field(ge=1)


class NurtureRules(Section):
    """When a potential customer without a deal moves to long-term nurture."""

    months: int = Field(ge=1, le=120)


class LifecycleRules(Section):
    """Lifecycle stages by deal dates."""

    new_days: Days = Field(ge=1)
    dormant_days: Days = Field(ge=1)
    churned_days: Days = Field(ge=1)
    churned_statuses: list[str]

    @model_validator(mode="after")
    def _ordered(self) -> LifecycleRules:
        if self.churned_days < self.dormant_days:
            raise ValueError(
                f"churned_days {self.churned_days} is below dormant_days {self.dormant_days}"
            )
        return self


class StabilityRules(Section):
    """Cooperation stability."""

    stable_days: Days = Field(ge=1)


class PotentialRules(Section):
    """Growth potential when the profile does not say."""

    high_employees: int = Field(ge=0)
    mid_employees: int = Field(ge=0)
    high_values: list[str]


class FollowUpRules(Section):
    """The 24-hour rule and answer times."""

    late_after_hours: int = Field(ge=0)
    late_window_days: Days = Field(ge=1)
    answer_within_hours: int = Field(ge=1)


class GradeRules(Section):
    """Grades A/B/C/D by points for value, need, relationship and potential."""

    high_need_urgency: list[str]
    close_relationships: list[str]
    a_min_points: int = Field(ge=0, le=4)
    b_min_points: int = Field(ge=0, le=4)
    c_min_points: int = Field(ge=0, le=4)


class VipRules(Section):
    """VIP/A/B/C/D by a weighted score of 0–100."""

    amount_full: int = Field(gt=0)
    orders_full: int = Field(gt=0)
    categories_full: int = Field(gt=0)
    profit_full: int = Field(gt=0)
    weight_amount: float = Field(ge=0)
    weight_frequency: float = Field(ge=0)
    weight_categories: float = Field(ge=0)
    weight_profit: float = Field(ge=0)
    weight_potential: float = Field(ge=0)
    vip_min: float
    a_min: float
    b_min: float
    c_min: float


class MatrixRules(Section):
    """The value × potential matrix."""

    value_min: int = Field(ge=0)


class Play(Section):
    """How one segment is followed up."""

    strategy: str = Field(min_length=1)
    owner_role: str
    channel: str
    cadence_days: Days = Field(ge=1, le=3650)
    actions: list[str]


class Playbook(Section):
    """A play for each segment."""

    high: Play
    mid: Play
    potential: Play
    churn_risk: Play
    nurture: Play

    def play(self, segment: str) -> Play:
        """The play of a segment key (``high``, ``churn_risk`` …)."""
        play: Play = getattr(self, segment)
        return play


class NameList(Section):
    """An ordered list of names (statuses, stages)."""

    list: list[str]


class Labels(Section):
    """Every label a rule produces."""

    high: str
    mid: str
    potential: str
    churn_risk: str
    nurture: str
    prospect: str
    new: str
    repeat: str
    dormant: str
    churned: str
    stable: str
    intermittent: str
    potential_high: str
    potential_mid: str
    potential_low: str
    star: str
    cash_cow: str
    question: str
    long_tail: str
    late: str


class ReviewTargets(Section):
    """What the quarterly review measures each segment and owner against."""

    conversion_rate: float = Field(ge=0, le=1)
    """Share of potential customers with a first deal in the quarter."""
    repurchase_rate: float = Field(ge=0, le=1)
    """Share of customers with an earlier deal who bought again in the quarter."""
    upsell_amount: int = Field(ge=0)
    """Growth of existing customers' purchase totals in the quarter (yuan)."""
    satisfaction: float = Field(ge=1, le=5)
    """Mean satisfaction (1–5) recorded on the quarter's follow-ups."""
    strategy_completion_rate: float = Field(ge=0, le=1)
    """Share of strategy actions due in the quarter done by their deadline."""
    unresolved_feedback: int = Field(ge=0)
    """At most this many follow-ups with feedback and an open to-do."""


class ReviewRules(Section):
    """The weekly and quarterly review."""

    targets: ReviewTargets
    quarters: int = Field(ge=1, le=12)
    """How many quarters the trend shows (the current one included)."""


class Rules(Section):
    """Everything the segmentation needs, as read from a rules file."""

    tier_scheme: TierScheme
    value: ValueRules
    churn_risk: ChurnRiskRules
    nurture: NurtureRules
    lifecycle: LifecycleRules
    stability: StabilityRules
    potential: PotentialRules
    followup: FollowUpRules
    grade: GradeRules
    vip: VipRules
    matrix: MatrixRules
    playbook: Playbook
    statuses: NameList
    stages: NameList
    labels: Labels
    review: ReviewRules

    def fingerprint(self) -> str:
        """A short hash of the effective rules, to notice when they change."""
        # The review's targets move nobody, so changing them does not re-segment.
        text = json.dumps(self.model_dump(mode="json", exclude={"review"}), sort_keys=True,
                          ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def segment_label(self, segment: str) -> str:
        """The label of a segment key: ``high`` → 高价值."""
        label: str = getattr(self.labels, segment)
        return label


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{path}: cannot read the rules ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise RulesError(f"{path}: not UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The message ends with "(at line N, column M)".
        raise RulesError(f"{path}: {exc}") from None


def default_rules() -> Rules:
    """The documented defaults of ``default_rules.toml``."""
    return Rules.model_validate(_read_toml(DEFAULT_RULES_PATH))


def parse_rules(data: dict[str, Any], source: str = "rules") -> Rules:
    """Rules from TOML data, missing keys taken from the defaults."""
    merged = _merge(_read_toml(DEFAULT_RULES_PATH), data)
    try:
        return Rules.model_validate(merged)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "rules"
            reason = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                reason = "is not a rules key (misspelt?)"
            problems.append(f"{where}: {reason}")
        raise RulesError(f"{source}: " + "; ".join(problems)) from None


def load_rules(path: Path | None) -> Rules:
    """The rules in ``path`` over the defaults; the defaults alone when ``path`` is
    ``None`` or does not exist."""
    if path is None or not path.exists():
        return default_rules()
    return parse_rules(_read_toml(path), str(path))


def write_default_rules(path: Path) -> None:
    """Put a commented copy of the default rules at ``path`` (which must not exist)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as out:
        out.write(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))


def _toml_value(value: Any) -> str:
    # JSON scalars and arrays of them are valid TOML (basic strings share JSON's escapes).
    return json.dumps(value, ensure_ascii=False)


def rules_toml(rules: Rules) -> str:
    """The effective rules as TOML text (without the comments of the defaults file)."""
    lines: list[str] = []
    sections: list[tuple[str, dict[str, Any]]] = []

    def walk(prefix: str, table: dict[str, Any]) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        if scalars or not prefix:
            sections.append((prefix, scalars))
        for key, value in table.items():
            if isinstance(value, dict):
                walk(f"{prefix}.{key}" if prefix else key, value)

    walk("", rules.model_dump(mode="json"))
    for name, values in sections:
        if name:
            lines += ["", f"[{name}]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines).lstrip("\n") + "\n"
