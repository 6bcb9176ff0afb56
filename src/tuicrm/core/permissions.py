"""Who may do what: the rules of a team install, in one place and without SQL.

- Reps edit the customers they own, add follow-ups to any customer, and claim customers
  from the public pool (公海).
- Managers edit any customer, reassign owners, edit the rules, manage users, take and
  restore backups, and see everything.

Every ``require_*`` function raises :class:`PermissionDenied` with a sentence that says
what was refused and why; the ``can_*`` functions answer the same questions quietly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from tuicrm.core.models import Customer
from tuicrm.core.store import StoreError

Role = Literal["rep", "manager"]
ROLES: tuple[Role, ...] = ("rep", "manager")


class PermissionDenied(StoreError):
    """An action the current user's role does not allow."""


@dataclass(frozen=True)
class Actor:
    """A known user and their role."""

    name: str
    role: Role

    @property
    def is_manager(self) -> bool:
        """Managers may do everything."""
        return self.role == "manager"


def in_pool(customer: Customer) -> bool:
    """A customer nobody owns is in the public pool."""
    return customer.owner == ""


def can_view(actor: Actor, customer: Customer) -> bool:
    """Managers see everything; reps their own customers and the pool."""
    return actor.is_manager or customer.owner == actor.name or in_pool(customer)


def can_edit(actor: Actor, customer: Customer, fields: Iterable[str] = ()) -> bool:
    """Managers edit anything; reps the customers they own, but never the owner."""
    if actor.is_manager:
        return True
    return customer.owner == actor.name and "owner" not in set(fields)


def require_edit(actor: Actor, customer: Customer, fields: Iterable[str] = ()) -> None:
    """Refuse an edit of ``fields`` the actor may not make."""
    fields = set(fields)
    if can_edit(actor, customer, fields):
        return
    if "owner" in fields and customer.owner == actor.name:
        raise PermissionDenied(
            f"{actor.name} is a rep: only a manager can change who owns {customer.name}"
        )
    owner = f"owned by {customer.owner}" if customer.owner else "in the public pool (claim it)"
    raise PermissionDenied(
        f"{actor.name} cannot edit {customer.name}: it is {owner}; "
        "reps edit the customers they own"
    )


def require_followup(actor: Actor, customer: Customer) -> None:
    """Any user may add a follow-up to any customer; kept so the rule has one home."""


def require_view(actor: Actor, customer: Customer) -> None:
    """Refuse to show a customer the actor may not see."""
    if not can_view(actor, customer):
        raise PermissionDenied(
            f"{actor.name} cannot see {customer.name}: it is owned by {customer.owner}"
        )


def require_claim(actor: Actor, customer: Customer) -> None:
    """Only a customer in the pool can be claimed."""
    if not in_pool(customer):
        who = "you" if customer.owner == actor.name else customer.owner
        raise PermissionDenied(f"{customer.name} is not in the pool: it is owned by {who}")


def require_manager(actor: Actor, action: str) -> None:
    """Refuse ``action`` (``reassign owners``, ``edit the rules`` …) to a rep."""
    if not actor.is_manager:
        raise PermissionDenied(f"{actor.name} is a rep: only a manager can {action}")
