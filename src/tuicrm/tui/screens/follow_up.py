"""The follow-up entry form (客户维护跟进记录): one contact with a customer, with to-dos."""

from __future__ import annotations

import datetime as dt
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, Static, TextArea

from tuicrm.core.models import Customer, FollowUp, InvalidInput
from tuicrm.core.store import StoreError, team
from tuicrm.tui.screens.base import CrmScreen, show_text
from tuicrm.tui.screens.dialogs import ConfirmScreen
from tuicrm.tui.screens.profile import ProfileLoaded, ProfileScreen, read_profile
from tuicrm.tui.widgets.footer import KeysFooter

METHODS = ["上门拜访", "电话", "线上会议", "邮件", "微信", "visit", "phone", "online meeting",
           "email", "WeChat"]
# Form fields in order: (model field, label key, multi-line).
FIELDS = (
    ("date", "form.date", False),
    ("method", "form.method", False),
    ("participants", "form.participants", False),
    ("content", "form.content", True),
    ("feedback", "form.feedback", True),
    ("todos", "form.todos", True),
    ("owner", "form.owner", False),
    ("next_date", "form.next", False),
)


class CustomerLoaded(Message):
    """The customer the follow-up is for was read."""

    def __init__(self, customer: Customer) -> None:
        super().__init__()
        self.customer = customer


class FollowUpSaved(Message):
    """The follow-up was stored, with its to-dos, in one transaction; ``read`` is the
    customer's profile as it is now (None when it could not be read)."""

    def __init__(self, read: ProfileLoaded | None) -> None:
        super().__init__()
        self.read = read


class FollowUpRefused(Message):
    """The store refused the follow-up."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__()
        self.messages = messages


def parse_todos(text: str, owner: str) -> list[dict[str, Any]]:
    """To-dos typed one a line as ``text @YYYY-MM-DD`` (the date is optional)."""
    todos = []
    for line in text.splitlines():
        if not line.strip():
            continue
        body, sep, due = line.rpartition("@")
        if sep and body.strip():
            todos.append({"text": body.strip(), "due": due.strip(), "owner": owner})
        else:
            todos.append({"text": line.strip(), "owner": owner})
    return todos


def field_of(message: str) -> str:
    """The form field an error message names: ``todos.0.due: …`` → ``todos``."""
    return message.split(":", 1)[0].split(".", 1)[0].strip()


class FollowUpScreen(CrmScreen):
    """Record a follow-up; validates inline and asks before dropping unsaved input."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True, id="form.save"),
        Binding("escape", "back", "Back", priority=True, id="form.back"),
    ]

    def __init__(self, customer_id: int = 0) -> None:
        """No ``customer_id``: the form is built ahead, and :meth:`show` gives it one."""
        super().__init__()
        self.customer_id = customer_id
        self.customer: Customer | None = None
        self.initial: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="form-title")
        with VerticalScroll(id="form"):
            for field, label, multi_line in FIELDS:
                with Horizontal(classes="form-row"):
                    yield Label(Content(self.labels(label)), classes="form-label",
                                id=f"label-{field}")
                    if multi_line:
                        yield TextArea(id=f"field-{field}", compact=True,
                                       show_line_numbers=False, classes="form-area",
                                       placeholder=self.labels("form.todos_hint")
                                       if field == "todos" else "")
                    else:
                        yield Input(id=f"field-{field}", compact=True,
                                    suggester=SuggestFromList(METHODS, case_sensitive=False)
                                    if field == "method" else None)
                yield Label("", id=f"error-{field}", classes="error form-error")
        yield Static(id="form-status", classes="error")
        yield KeysFooter()

    def on_mount(self) -> None:
        super().on_mount()
        if self.customer_id:  # 0: built ahead, for nobody yet
            self._start()

    def relabel(self) -> None:
        super().relabel()
        for field, label, _ in FIELDS:
            self.query_one(f"#label-{field}", Label).update(Content(self.labels(label)))
        self.query_one("#field-todos", TextArea).placeholder = self.labels("form.todos_hint")
        if self.customer is not None:
            self.query_one("#form-title", Static).update(Content.styled(
                self.labels("form.title", name=self.customer.name), "bold"))

    def show(self, customer_id: int) -> None:
        """Start over for another customer: the app keeps one form and shows it for
        each follow-up (its forty-odd widgets are built once, not per follow-up)."""
        self.customer_id = customer_id
        self.customer = None
        for field, _, _ in FIELDS:
            self._set(field, "")
        self.show_errors([])
        self.query_one("#form", VerticalScroll).scroll_home(animate=False)
        self._start()

    def _start(self) -> None:
        self.query_one("#form-title", Static).update(
            Content(self.labels("form.title", name="…")))
        self._set("date", self.today.isoformat())
        self._set("owner", self.user)
        self.initial = self.values()
        self.query_one("#field-method", Input).focus()
        self._load()

    @work(thread=True, group="form", exclusive=True, exit_on_error=False)
    def _load(self) -> None:
        try:
            with self.lanes["profile"].use() as store:
                customer = store.customer(self.customer_id)
        except StoreError as exc:  # removed meanwhile, say: the form says so
            self.post_message(FollowUpRefused([str(exc)]))
            return
        self.post_message(CustomerLoaded(customer))

    @on(CustomerLoaded)
    def _loaded(self, event: CustomerLoaded) -> None:
        if event.customer.id != self.customer_id:
            return  # read for the customer this form was for before
        self.customer = event.customer
        self.query_one("#form-title", Static).update(
            Content.styled(self.labels("form.title", name=event.customer.name), "bold"))
        if event.customer.cadence_days and not self._get("next_date"):
            proposed = self.today + dt.timedelta(days=event.customer.cadence_days)
            self._set("next_date", proposed.isoformat())
            self.initial["next_date"] = proposed.isoformat()

    # -- values -------------------------------------------------------------------------

    def _get(self, field: str) -> str:
        widget = self.query_one(f"#field-{field}")
        if isinstance(widget, TextArea):
            return widget.text
        return self.query_one(f"#field-{field}", Input).value

    def _set(self, field: str, value: str) -> None:
        widget = self.query_one(f"#field-{field}")
        if isinstance(widget, TextArea):
            widget.text = value
        elif isinstance(widget, Input):
            widget.value = value

    def values(self) -> dict[str, str]:
        """What the form holds, field by field."""
        return {field: self._get(field) for field, _, _ in FIELDS}

    @property
    def dirty(self) -> bool:
        """True when something was typed that is not saved."""
        return self.values() != self.initial

    def followup(self) -> FollowUp:
        """The form as a follow-up; raises :class:`InvalidInput` naming each bad field."""
        v = self.values()
        owner = v["owner"].strip() or self.user
        followup: FollowUp = FollowUp.parse({
            "date": v["date"], "method": v["method"], "participants": v["participants"],
            "content": v["content"], "feedback": v["feedback"], "owner": owner,
            "next_date": v["next_date"], "todos": parse_todos(v["todos"], owner),
        })
        return followup

    def show_errors(self, messages: list[str]) -> None:
        """Put each message under its field, and a summary at the bottom."""
        by_field: dict[str, list[str]] = {}
        for message in messages:
            by_field.setdefault(field_of(message), []).append(message)
        for field, _, _ in FIELDS:
            label = self.query_one(f"#error-{field}", Label)
            text = "; ".join(by_field.pop(field, []))
            show_text(label, text)
            label.display = bool(text)
        rest = [m for ms in by_field.values() for m in ms]
        summary = self.labels("form.fix") if messages else ""
        show_text(self.query_one("#form-status", Static), " ".join([summary, *rest]).strip())
        if messages:
            first = field_of(messages[0])
            if any(first == f for f, _, _ in FIELDS):
                self.query_one(f"#field-{first}").focus()

    # -- actions --------------------------------------------------------------------------

    def action_save(self) -> None:
        """Validate and store the follow-up with its to-dos."""
        try:
            followup = self.followup()
        except InvalidInput as exc:
            self.show_errors(exc.messages)
            return
        self.show_errors([])
        self._store(followup)

    @work(thread=True, group="write", exit_on_error=False)
    def _store(self, followup: FollowUp) -> None:
        try:
            with self.lanes["write"].use() as store:
                team.add_followup(store, team.actor(store, self.user), self.customer_id,
                                  followup)
        except InvalidInput as exc:
            self.post_message(FollowUpRefused(exc.messages))
            return
        except StoreError as exc:
            self.post_message(FollowUpRefused([str(exc)]))
            return
        # The profile the form goes back to, read here: it shows the follow-up, its
        # tags, tier and due date in its first frame instead of reading them after.
        try:
            read: ProfileLoaded | None = read_profile(self.lanes, self.customer_id)
        except Exception:  # the profile reads it itself, and says what went wrong
            read = None
        self.post_message(FollowUpSaved(read))

    @on(FollowUpSaved)
    def _saved(self, event: FollowUpSaved) -> None:
        self.crm.warm_board()
        self.initial = self.values()
        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else None
        if isinstance(below, ProfileScreen) and below.customer_id == self.customer_id:
            if event.read is not None:
                below.take(event.read)
            below.say(self.labels("form.saved"))
        else:
            self.notify(self.labels("form.saved"), markup=False)
        self.dismiss(True)

    @on(FollowUpRefused)
    def _refused(self, event: FollowUpRefused) -> None:
        self.show_errors(event.messages)

    def action_back(self) -> None:
        """Leave; asks first when there is unsaved input."""
        if not self.dirty:
            self.dismiss(False)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(False)

        self.app.push_screen(ConfirmScreen(self.labels("confirm.discard")), answered)
