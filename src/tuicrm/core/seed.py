"""The demo data: the seven customers of the team's templates, plus generated ones."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from tuicrm.core.gen import generate
from tuicrm.core.models import Contact, Customer, FollowUp, StrategyPlan
from tuicrm.core.store import Store
from tuicrm.paths import seed_dir

GENERATED_DEMO_CUSTOMERS = 200
# The templates' follow-ups are from February 2024; the demo is seen as of then.
DEMO_TODAY = dt.date(2024, 3, 1)


def demo_records() -> list[dict[str, Any]]:
    """The example customers as stored in ``seed/demo.json``."""
    data = json.loads((seed_dir() / "demo.json").read_text(encoding="utf-8"))
    records: list[dict[str, Any]] = data["customers"]
    return records


def load_demo(store: Store, *, user: str = "demo", generated: int = GENERATED_DEMO_CUSTOMERS,
              end: dt.date | None = None) -> int:
    """Load the example customers (and ``generated`` more); returns how many were added."""
    with store.write():
        for record in demo_records():
            customer_id = store.add_customer(Customer.parse(record["customer"]), user=user)
            for contact in record.get("contacts", []):
                store.add_contact(customer_id, Contact.parse(contact), user=user)
            for followup in record.get("followups", []):
                store.add_followup(customer_id, FollowUp.parse(followup), user=user)
            for plan in record.get("plans", []):
                store.add_plan(customer_id, StrategyPlan.parse(plan), user=user)
        if generated:
            generate(store, generated, seed=7, end=end)
    return len(demo_records()) + generated
