"""The customer edit form (``e`` on a profile): the facts of the customer-list table.

It validates on the screen (each message beside its field) and hands the fields that
changed back to the profile, which saves them over the version it showed: a save over
someone else's is refused with the conflict dialog, never lost.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Input, Label, Static

from tuicrm.core.models import Customer, InvalidInput
from tuicrm.tui.screens.base import CrmScreen
from tuicrm.tui.screens.dialogs import ConfirmScreen
from tuicrm.tui.widgets.footer import KeysFooter

# (field, label key): the facts a rep keeps up to date, amounts in whole yuan.
FIELDS = (
    ("name", "edit.name"),
    ("status", "fact.status"),
    ("stage", "fact.stage"),
    ("owner", "fact.owner"),
    ("industry", "fact.industry"),
    ("size", "fact.size"),
    ("region", "fact.region"),
    ("source", "fact.source"),
    ("contact", "edit.contact"),
    ("need_categories", "edit.needs"),
    ("pain_points", "fact.pain_points"),
    ("goals", "fact.goals"),
    ("relationship", "edit.relationship"),
    ("potential", "edit.potential"),
    ("total_amount", "edit.total"),
    ("annual_amount", "edit.annual"),
    ("first_deal_date", "edit.first_deal"),
    ("last_deal_date", "edit.last_deal"),
    ("next_due_manual", "fact.next_set"),
)
DATES = ("first_deal_date", "last_deal_date", "next_due_manual")


def shown(value: Any) -> str:
    """A field's value as the form shows it (``None`` as empty)."""
    return "" if value is None else str(value)


class EditCustomerScreen(CrmScreen):
    """Edit a customer's facts; dismisses with the changed fields, or None."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True, id="edit.save"),
        Binding("escape", "back", "Back", priority=True, id="edit.back"),
    ]

    def __init__(self, customer: Customer) -> None:
        super().__init__()
        self.customer = customer
        self.initial = {field: shown(getattr(customer, field)) for field, _ in FIELDS}

    def compose(self) -> ComposeResult:
        yield Static(Content(self.labels("edit.title", name=self.customer.name)),
                     id="form-title")
        with VerticalScroll(id="form"):
            for field, label in FIELDS:
                with Horizontal(classes="form-row"):
                    yield Label(Content(self.labels(label)), classes="form-label")
                    yield Input(self.initial[field], id=f"field-{field}", compact=True)
                yield Label("", id=f"error-{field}", classes="error form-error")
        yield Static(id="form-status", classes="error")
        yield KeysFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#field-status", Input).focus()  # the field changed most

    def values(self) -> dict[str, str]:
        """What the form holds now."""
        return {field: self.query_one(f"#field-{field}", Input).value.strip()
                for field, _ in FIELDS}

    def changes(self) -> dict[str, Any]:
        """The fields changed since the form opened, as the store takes them."""
        changed: dict[str, Any] = {}
        for field, value in self.values().items():
            if value == self.initial[field]:
                continue
            if not value and field == "total_amount":
                changed[field] = 0
            elif not value and (field == "annual_amount" or field in DATES):
                changed[field] = None
            else:
                changed[field] = value
        return changed

    def action_save(self) -> None:
        """Check the changed fields here; hand them to the profile to save."""
        for field, _ in FIELDS:
            label = self.query_one(f"#error-{field}", Label)
            label.update("")
            label.display = False
        changes = self.changes()
        if not changes:
            self.dismiss(None)
            return
        try:
            Customer.parse({**self.customer.model_dump(), **changes}, changed=changes)
        except InvalidInput as exc:
            for message in exc.messages:
                field = message.split(":", 1)[0].split(".", 1)[0].strip()
                for target in self.query(f"#error-{field}").results(Label):
                    target.update(Content(message))
                    target.display = True
            self.query_one("#form-status", Static).update(Content(self.labels("form.fix")))
            first = exc.messages[0].split(":", 1)[0].split(".", 1)[0].strip()
            for field_input in self.query(f"#field-{first}").results(Input):
                field_input.focus(scroll_visible=False)
                self.query_one("#form", VerticalScroll).scroll_to_widget(
                    field_input, animate=False)
            return
        self.dismiss(changes)

    def action_back(self) -> None:
        """Leave; asks first when something was changed."""
        if not self.changes():
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmScreen(self.labels("confirm.discard_edit")), answered)
