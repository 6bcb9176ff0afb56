"""A line of a customer list: what the list, the board, the palette and ``find`` show.

A plain dataclass, not a pydantic model: the app's first frame and ``find`` build these
without importing pydantic, and a page of them is built on every keystroke.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tuicrm.core.textcells import printable

# The columns a row is read from, in this order.
ROW_COLUMNS = (
    "id, name, tier, status, owner, industry, annual_amount, total_amount, "
    "last_contact_date, next_due"
)


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """One customer as a list shows it."""

    id: int
    name: str
    tier: str
    status: str
    owner: str
    industry: str
    annual_amount: int | None
    total_amount: int
    last_contact_date: dt.date | None
    next_due: dt.date | None

    def as_json(self) -> dict[str, Any]:
        """The row with dates as ISO text."""
        data = asdict(self)
        for key in ("last_contact_date", "next_due"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        return data


def customer_row(r: Sequence[Any]) -> CustomerRow:
    """A row from the columns of :data:`ROW_COLUMNS` (and any after them).

    Text is read straight from the database: control characters an older tool let in
    are drawn as pictures, never sent to a terminal."""
    return CustomerRow(
        id=r[0], name=printable(r[1] or ""), tier=printable(r[2] or ""),
        status=printable(r[3] or ""), owner=printable(r[4] or ""),
        industry=printable(r[5] or ""), annual_amount=r[6], total_amount=r[7] or 0,
        last_contact_date=dt.date.fromisoformat(r[8]) if r[8] else None,
        next_due=dt.date.fromisoformat(r[9]) if r[9] else None,
    )
