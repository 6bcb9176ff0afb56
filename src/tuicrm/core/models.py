"""Domain models: customers, their contacts, follow-ups, to-dos, strategy plans and tags.

Every text field is cleaned of control characters before anything else sees it, and a
bad value raises a message that names the field and the value
(``first_deal_date: '2023-13-45' is not a date``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from tuicrm.core.text import clean_line, clean_text

MAX_LINE = 200
MAX_NOTE = 10_000
STORED = {"stored": True}


class InvalidInput(ValueError):
    """Input that cannot be stored; ``messages`` name each field and value."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def _parse_date(value: Any) -> Any:
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    if isinstance(value, str):
        text = clean_line(value)
        if text in ("", "-", "–", "—"):
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a date (use YYYY-MM-DD)") from None
    raise ValueError(f"{value!r} is not a date (use YYYY-MM-DD)")


def _parse_money(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(clean_line(value).replace(",", ""))
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not an amount in whole yuan")


def _not_negative(value: int | None) -> int | None:
    if value is not None and value < 0:
        raise ValueError(f"{value!r} is negative")
    return value


def _line(value: Any) -> Any:
    return clean_line(value) if isinstance(value, str) else value


def _note(value: Any) -> Any:
    return clean_text(value) if isinstance(value, str) else value


def _at_most(limit: int) -> Callable[[str, ValidationInfo], str]:
    """A length limit for input; rows read back from the database are taken as they are
    (an old database or a ``sqlite3`` shell may hold longer text, and it must still open)."""

    def check(value: str, info: ValidationInfo) -> str:
        context = info.context or {}
        as_stored = context.get("stored") and info.field_name not in context.get("changed", ())
        if len(value) > limit and not as_stored:
            raise ValueError(f"is {len(value)} characters long; at most {limit}")
        return value

    return check


Line = Annotated[str, BeforeValidator(_line), AfterValidator(_at_most(MAX_LINE))]
Note = Annotated[str, BeforeValidator(_note), AfterValidator(_at_most(MAX_NOTE))]
Date = Annotated[dt.date | None, BeforeValidator(_parse_date)]
Yuan = Annotated[int | None, BeforeValidator(_parse_money), AfterValidator(_not_negative)]


class Model(BaseModel):
    """Base of every domain model: strict about unknown fields, cleans text."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @classmethod
    def parse(cls, data: dict[str, Any], *, changed: Iterable[str] | None = None) -> Self:
        """Validate ``data``, raising :class:`InvalidInput` with one message per field.

        With ``changed``, ``data`` is a stored model with those fields changed: only they
        must meet the input limits (an over-long name from an old database must not stop
        an edit of the status)."""
        context = None if changed is None else {**STORED, "changed": frozenset(changed)}
        try:
            return cls.model_validate(data, context=context)
        except ValidationError as exc:
            raise InvalidInput(error_messages(exc)) from None

    @classmethod
    def stored(cls, data: dict[str, Any]) -> Self:
        """Rebuild a model from a row the store wrote (or an older tool wrote): input
        limits are not applied again, so nothing already saved becomes unreadable."""
        return cls.model_validate(data, context=STORED)


def error_messages(exc: ValidationError) -> list[str]:
    """Turn pydantic's errors into ``field: 'value' reason`` lines."""
    messages = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "value"
        reason = error["msg"].removeprefix("Value error, ")
        value = error.get("input")
        if isinstance(value, dict | list) or value is None or reason.startswith(repr(value)):
            messages.append(f"{field}: {reason}")
        else:
            shown = repr(value) if len(str(value)) <= 40 else f"{str(value)[:40]!r}…"
            messages.append(f"{field}: {shown} {reason[:1].lower()}{reason[1:]}")
    return messages


ContactRole = Literal["decision-maker", "influencer", "user", ""]


class Contact(Model):
    """A person at the customer: the decision chain of the needs analysis."""

    id: int | None = None
    name: Line = Field(min_length=1)
    title: Line = ""
    role: ContactRole = ""
    cares_about: Line = ""
    phone: Line = ""
    email: Line = ""


class Todo(Model):
    """A to-do agreed in a follow-up, with its due date and owner."""

    id: int | None = None
    text: Line = Field(min_length=1)
    due: Date = None
    owner: Line = ""
    done: bool = False


class FollowUp(Model):
    """One contact with a customer, recorded within 24 hours (客户维护跟进记录)."""

    id: int | None = None
    customer_id: int | None = None
    date: Date
    method: Line = Field(min_length=1)
    participants: Line = ""
    content: Note = Field(min_length=1)
    feedback: Note = ""
    owner: Line = ""
    next_date: Date = None
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    entered_at: dt.datetime | None = None
    todos: list[Todo] = []

    @field_validator("date")
    @classmethod
    def _date_required(cls, value: dt.date | None) -> dt.date | None:
        if value is None:
            raise ValueError("a follow-up needs its date")
        return value


class StrategyAction(Model):
    """One planned action of a strategy plan (核心策略动作)."""

    id: int | None = None
    action: Line = Field(min_length=1)
    owner: Line = ""
    deadline: Date = None
    expected_effect: Line = ""
    done: bool = False
    done_on: Date = None


class StrategyPlan(Model):
    """The strategy plan of a customer (销售策略制定表)."""

    id: int | None = None
    customer_id: int | None = None
    customer_type: Line = ""
    goal: Line = ""
    owner: Line = ""
    deadline: Date = None
    expected_effect: Line = ""
    actions: list[StrategyAction] = []


TagSource = Literal["rule", "manual"]


class Tag(Model):
    """A ``dimension:value`` tag, computed by the rules (with why) or set by hand."""

    dimension: Line = Field(min_length=1, max_length=40)
    value: Line = Field(min_length=1, max_length=80)
    source: TagSource = "manual"
    reason: Line = ""

    @classmethod
    def from_text(cls, text: str, source: TagSource = "manual", reason: str = "") -> Tag:
        """Parse ``dimension:value``; a bare value becomes a ``tag`` dimension."""
        dimension, sep, value = clean_line(text).partition(":")
        if not sep:
            dimension, value = "tag", dimension
        return cls.parse(
            {"dimension": dimension.strip(), "value": value.strip(), "source": source,
             "reason": reason}
        )

    def __str__(self) -> str:
        return f"{self.dimension}:{self.value}"


CustomerKind = Literal["enterprise", "individual"]


class Customer(Model):
    """A customer with every field of the four working tables.

    Money is integer yuan. The segmentation fields at the end (``tier`` …) are
    computed by the rules and are read-only here.
    """

    id: int | None = None
    name: Line = Field(min_length=1)
    kind: CustomerKind = "enterprise"
    contact: Line = ""
    industry: Line = ""
    size: Line = ""
    employees: int | None = Field(default=None, ge=0)
    revenue: Yuan = None
    region: Line = ""
    source: Line = ""
    credit_rating: Line = ""
    first_contact_date: Date = None
    first_deal_date: Date = None
    last_deal_date: Date = None
    total_amount: Yuan = 0
    annual_amount: Yuan = None
    order_count: int | None = Field(default=None, ge=0)
    profit: int | None = None
    status: Line = ""
    stage: Line = ""
    owner: Line = ""
    need_categories: Line = ""
    usage_scenario: Line = ""
    urgency: Line = ""
    preference: Line = ""
    response_speed: Line = ""
    decision_style: Line = ""
    relationship: Line = ""
    potential: Line = ""
    pain_points: Note = ""
    goals: Note = ""
    next_due_manual: Date = None
    tier_override: Line = ""
    tier_override_reason: Line = ""
    custom: dict[str, str] = {}
    # Computed by the segmentation rules; stored so lists can sort and filter on them.
    tier: str = ""
    lifecycle: str = ""
    strategy: str = ""
    cadence_days: int | None = None
    last_contact_date: Date = None
    next_due: Date = None
    version: int = 0

    @field_validator("total_amount", mode="after")
    @classmethod
    def _total_not_none(cls, value: int | None) -> int:
        return value or 0

    @field_validator("custom", mode="before")
    @classmethod
    def _clean_custom(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {clean_line(str(k)): clean_text(str(v)) for k, v in value.items()}
        return value


EDITABLE_FIELDS: tuple[str, ...] = tuple(
    name
    for name in Customer.model_fields
    if name
    not in {
        "id", "tier", "lifecycle", "strategy", "cadence_days", "last_contact_date",
        "next_due", "version",
    }
)


class AuditEntry(Model):
    """Who changed what, when: one field of one customer."""

    id: int | None = None
    customer_id: int | None = None
    user: str
    at: dt.datetime
    action: str
    field: str = ""
    old: str | None = None
    new: str | None = None


class CustomerProfile(BaseModel):
    """A customer with everything hanging off it, for ``show`` and the profile."""

    customer: Customer
    contacts: list[Contact]
    tags: list[Tag]
    followups: list[FollowUp]
    todos: list[Todo]
    plans: list[StrategyPlan]
