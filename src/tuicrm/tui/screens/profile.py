"""A customer's tagged profile: tags, facts, decision chain, plans, follow-ups, to-dos."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from tuicrm.core.models import Contact, Customer, CustomerProfile, InvalidInput, Tag
from tuicrm.core.permissions import Actor, require_edit
from tuicrm.core.review import Lesson, find_lessons
from tuicrm.core.store import Conflict, Store, StoreError, team
from tuicrm.tui.labels import wan
from tuicrm.tui.screens.base import CrmScreen, show_text
from tuicrm.tui.screens.conflict import ConflictChoice, ConflictScreen, FieldClash
from tuicrm.tui.screens.dialogs import PromptScreen
from tuicrm.tui.screens.edit_customer import EditCustomerScreen
from tuicrm.tui.widgets.footer import KeysFooter
from tuicrm.tui.widgets.lessons import LessonsPanel
from tuicrm.tui.widgets.tag_chips import TagChips

if TYPE_CHECKING:
    from tuicrm.tui.stores import StoreLanes


# Follow-ups the profile lists, the latest first; m lists the rest. A customer followed
# up weekly for years has hundreds: each is a model read and two lines drawn (2,000 took
# over 100 ms to read alone).
LATEST_FOLLOWUPS = 30


class ProfileLoaded(Message):
    """A customer's profile was read, with who saved it last, its lessons and how many
    earlier follow-ups it leaves out."""

    def __init__(self, profile: CustomerProfile, editor: str, lessons: list[Lesson],
                 earlier: int = 0) -> None:
        super().__init__()
        self.profile = profile
        self.editor = editor
        self.lessons = lessons
        self.earlier = earlier


def read_profile(lanes: StoreLanes, customer_id: int, *,
                 followups: int | None = LATEST_FOLLOWUPS) -> ProfileLoaded:
    """Read what the profile shows of a customer (on a worker thread): its latest
    ``followups`` follow-ups (all with ``None``)."""
    with lanes["profile"].use() as store:
        profile = store.profile(customer_id, followups=followups, open_todos=True)
        earlier = 0
        if followups is not None and len(profile.followups) == followups:
            earlier = store.followup_count(customer_id) - followups
        return ProfileLoaded(profile, team.last_editor(store, customer_id),
                             find_lessons(store, customer_id=customer_id, limit=20), earlier)


class ProfileSaveFailed(Message):
    """A change was refused; ``message`` says why, naming the field."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class EditConflicted(Message):
    """An edit was refused because someone else saved the customer meanwhile."""

    def __init__(self, changes: dict[str, Any], theirs: Customer, who: str) -> None:
        super().__init__()
        self.changes = changes
        self.theirs = theirs
        self.who = who


# A change to save: given the store and who is saving, make it.
Change = Callable[[Store, Actor], Any]


class ProfileScreen(CrmScreen):
    """One customer, with everything hanging off it."""

    # The footer keeps ? (every key) in sight at 80 columns; the rest are in ?.
    BINDINGS = [
        Binding("escape", "back", "Back", id="profile.back"),
        Binding("l,f", "log", "Log follow-up", id="profile.log"),
        Binding("e", "edit", "Edit", id="profile.edit"),
        Binding("a", "add_tag", "Add tag", id="profile.add_tag"),
        Binding("minus", "remove_tag", "Remove tag", show=False, id="profile.remove_tag"),
        Binding("c", "add_contact", "Add contact", show=False, id="profile.contact"),
        Binding("t", "tick", "Tick to-do", id="profile.todo"),
        Binding("v", "override", "Override tier", show=False, id="profile.override"),
        Binding("w", "reasons", "Why (tags)", show=False, id="profile.reasons"),
        Binding("m", "all_followups", "All follow-ups", show=False, id="profile.more"),
    ]

    def __init__(self, customer_id: int = 0, read: ProfileLoaded | None = None) -> None:
        """``read``: the profile when it was read before the screen came, so that its
        first drawing shows it (one layout instead of an empty one and another). No
        ``customer_id``: the screen is built ahead, and :meth:`show` gives it one."""
        super().__init__()
        self.customer_id = customer_id
        self.profile: CustomerProfile | None = None
        self.show_reasons = False
        self.all_followups = False  # m: every follow-up, not only the latest
        self.earlier = 0  # follow-ups the profile leaves out
        self._read = read
        self._away = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="profile"):
            yield Static(id="profile-header")
            yield TagChips(id="profile-tags")
            yield Static(id="profile-body")
            yield LessonsPanel(id="profile-lessons")
        yield Static(id="profile-status")
        yield KeysFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#profile", VerticalScroll).focus()
        if self._read is not None:
            self._loaded(self._read)
            self._read = None
        elif self.customer_id:  # 0: built ahead, nobody to show yet
            self.load()

    def show(self, customer_id: int, read: ProfileLoaded | None) -> None:
        """Show another customer: the app keeps one profile screen and shows each
        customer on it, its widgets and keys built once (~20 ms a profile saved)."""
        self.customer_id = customer_id
        self.profile = None
        self.show_reasons = False
        self.all_followups = False
        self._away = False
        self.say("")
        self.query_one("#profile", VerticalScroll).scroll_home(animate=False)
        self._data_version = None
        self._poll_data_version()  # a new baseline: what changed meanwhile is read now
        if read is None:
            for part in ("#profile-header", "#profile-body"):
                self.query_one(part, Static).update("")
            self.query_one(TagChips).show([], reasons=False, rule_mark="", empty="")
            self.query_one(LessonsPanel).show([], "")
            self.load()
        else:
            self._loaded(read)

    def say(self, text: str) -> None:
        """Show a line of news (what was just saved) above the keys; none with ``""``.
        A toast would cover the profile's right half at 80 columns, and mounting one
        took a third of a save's time."""
        status = self.query_one("#profile-status", Static)
        show_text(status, text)
        status.display = bool(text)

    def take(self, read: ProfileLoaded) -> None:
        """Show a profile read elsewhere (by the form that saved a follow-up, before it
        goes), instead of reading it again when this screen comes back."""
        self._away = False
        self._loaded(read)

    def on_screen_suspend(self) -> None:
        self._away = True

    def on_screen_resume(self) -> None:
        if self._away:  # back from the form or a dialog: what they saved shows
            self._away = False
            self.load()

    def others_saved(self) -> None:
        """Someone saved something: read the profile again (the drawing tells who)."""
        self.load()

    def relabel(self) -> None:
        super().relabel()
        self._draw()

    # -- loading and saving ---------------------------------------------------------------

    @work(thread=True, group="profile", exclusive=True, exit_on_error=False)
    def load(self) -> None:
        """Read the profile again."""
        self.post_message(read_profile(
            self.lanes, self.customer_id,
            followups=None if self.all_followups else LATEST_FOLLOWUPS))

    @on(ProfileLoaded)
    def _loaded(self, event: ProfileLoaded) -> None:
        if event.profile.customer.id != self.customer_id:
            return  # read for the customer this screen showed before
        before = self.profile.customer if self.profile is not None else None
        after = event.profile.customer
        self.profile = event.profile
        self.earlier = event.earlier
        self._draw()
        self.query_one(LessonsPanel).show(event.lessons, self.labels("profile.lessons"))
        if before is not None and after.version != before.version:
            self.crm.warm_board()  # the customer changed: so may the board
        if before is not None and after.version != before.version \
                and event.editor not in ("", self.user):
            self.notify(self.labels("changed.by", name=after.name, who=event.editor),
                        markup=False)

    @work(thread=True, group="write", exit_on_error=False)
    def _save(self, change: Change) -> None:
        """Make a change as the current user, with the team's role rules."""
        try:
            with self.lanes["write"].use() as store:
                change(store, team.actor(store, self.user))
        except InvalidInput as exc:
            self.post_message(ProfileSaveFailed("; ".join(exc.messages)))
            return
        except StoreError as exc:  # PermissionDenied says who may do it.
            self.post_message(ProfileSaveFailed(str(exc)))
        self.load()

    def _edit(self, changes: dict[str, Any], version: int) -> None:
        """Change fields of the customer, unless someone saved it since ``version``."""
        self._save_edit(changes, version)

    @work(thread=True, group="write", exit_on_error=False)
    def _save_edit(self, changes: dict[str, Any], version: int) -> None:
        try:
            with self.lanes["write"].use() as store:
                team.edit_customer(store, team.actor(store, self.user), self.customer_id,
                                   changes, expected_version=version)
        except Conflict as exc:
            with self.lanes["write"].use() as store:
                who = team.last_editor(store, self.customer_id) or "?"
            self.post_message(EditConflicted(changes, exc.current, who))
            return
        except InvalidInput as exc:
            self.post_message(ProfileSaveFailed("; ".join(exc.messages)))
            return
        except StoreError as exc:
            self.post_message(ProfileSaveFailed(str(exc)))
        self.load()

    @on(EditConflicted)
    def _conflicted(self, event: EditConflicted) -> None:
        theirs = event.theirs
        clashes = [FieldClash(field, _shown(getattr(theirs, field, "")), _shown(value))
                   for field, value in event.changes.items()]

        def chosen(choice: ConflictChoice | None) -> None:
            if choice == "overwrite":
                # Over exactly the version just shown: a third save meanwhile clashes again.
                self._edit(event.changes, theirs.version)
            else:
                self.load()

        self.app.push_screen(ConflictScreen(theirs.name, event.who, clashes), chosen)

    @on(ProfileSaveFailed)
    def _save_failed(self, event: ProfileSaveFailed) -> None:
        self.notify(event.message, severity="error", markup=False)

    # -- drawing --------------------------------------------------------------------------

    def _draw(self) -> None:
        if self.profile is None:
            return
        t = self.labels
        p = self.profile
        c = p.customer
        tier = c.tier or t("tier.none")
        if c.tier_override:
            tier = f"{c.tier_override} ({t('profile.override')}: {c.tier_override_reason})"
        header = Content.assemble(
            (c.name, "bold"), "  ", (f"[{tier}]", "reverse"), "  ", c.status or "-",
            "  ", (f"{t('fact.owner')}: {c.owner or '-'}", "dim"),
        )
        self.query_one("#profile-header", Static).update(header)
        self.query_one(TagChips).show(p.tags, reasons=self.show_reasons,
                                      rule_mark=t("profile.rule"), empty=t("profile.none"))
        self.query_one("#profile-body", Static).update(self._body(p))

    def _body(self, p: CustomerProfile) -> Content:
        t = self.labels
        c = p.customer
        overdue = c.next_due is not None and c.next_due < self.today
        lines: list[Content | str] = []

        def section(key: str) -> None:
            lines.append("")
            lines.append(Content.styled(t(key), "bold underline"))

        def fact(key: str, value: object, style: str = "") -> None:
            if value not in (None, ""):
                lines.append(Content.assemble((f"{t(key)}: ", "dim"), (str(value), style)))

        section("profile.facts")
        fact("fact.lifecycle", c.lifecycle)
        fact("fact.strategy", c.strategy)
        fact("fact.stage", c.stage)
        fact("fact.industry", " / ".join(x for x in (c.industry, c.size, c.region) if x))
        fact("fact.source", c.source)
        fact("fact.total", wan(c.total_amount))
        fact("fact.last_contact", c.last_contact_date)
        if c.next_due is not None:
            fact("fact.next_due", f"{c.next_due}{' ' + t('due.overdue') if overdue else ''}",
                 "bold red" if overdue else "")
        fact("fact.next_set", c.next_due_manual)
        section("profile.contacts")
        for person in p.contacts or []:
            lines.append(" · ".join(x for x in (person.name, person.title, person.role,
                                                person.cares_about) if x))
        if not p.contacts:
            lines.append(t("profile.none"))
        section("profile.needs")
        fact("fact.pain_points", c.pain_points)
        fact("fact.goals", c.goals)
        section("profile.plans")
        for plan in p.plans:
            done = sum(a.done for a in plan.actions)
            lines.append(f"{plan.customer_type} {plan.goal} ({done}/{len(plan.actions)})")
            for action in plan.actions:
                box = "[x]" if action.done else "[ ]"
                lines.append(f"  {box} {action.action}  {action.owner}  "
                             f"{action.deadline or ''}".rstrip())
        if not p.plans:
            lines.append(t("profile.none"))
        section("profile.todos")
        open_todos = [todo for todo in p.todos if not todo.done]
        for number, todo in enumerate(open_todos, 1):
            late = todo.due is not None and todo.due < self.today
            lines.append(Content.assemble(
                f"{number}. [ ] {todo.text}  ",
                (str(todo.due or ""), "bold red" if late else ""), f"  {todo.owner}"))
        if not open_todos:
            lines.append(t("profile.none"))
        section("profile.followups")
        for f in p.followups:
            lines.append(Content.assemble((f"{f.date} {f.method}", "bold"), f"  {f.content}"))
            if f.feedback:
                lines.append(Content.styled(f"  » {f.feedback}", "italic"))
        if not p.followups:
            lines.append(t("profile.none"))
        if self.earlier:
            lines.append(Content.styled(t("profile.earlier", count=f"{self.earlier:,}"), "dim"))
        return Content("\n").join(lines)

    # -- actions --------------------------------------------------------------------------

    def action_back(self) -> None:
        """Back to the list."""
        self.dismiss()

    def action_log(self) -> None:
        """Log a follow-up with this customer."""
        self.crm.open_follow_up(self.customer_id)

    def action_all_followups(self) -> None:
        """List every follow-up, not only the latest."""
        if self.earlier and not self.all_followups:
            self.all_followups = True
            self.load()

    def action_reasons(self) -> None:
        """Show or hide why the rules gave each computed tag."""
        self.show_reasons = not self.show_reasons
        self._draw()

    def _prompt(self, key: str, then: Callable[[str], Change | None],
                value: str = "") -> None:
        def typed(text: str | None) -> None:
            if text is None or not text.strip():
                return
            try:
                change = then(text.strip())
            except InvalidInput as exc:
                self.notify("; ".join(exc.messages), severity="error", markup=False)
                return
            if change is not None:
                self._save(change)

        self.app.push_screen(PromptScreen(self.labels(key), value), typed)

    def action_add_tag(self) -> None:
        """Set a tag by hand (dimension:value)."""
        def change(text: str) -> Change:
            tag = Tag.from_text(text)

            def save(store: Store, who: Actor) -> None:
                require_edit(who, store.customer(self.customer_id))
                store.add_tag(self.customer_id, tag, user=who.name)

            return save

        self._prompt("prompt.tag", change)

    def action_remove_tag(self) -> None:
        """Remove a tag set by hand."""
        def change(text: str) -> Change:
            tag = Tag.from_text(text)

            def save(store: Store, who: Actor) -> None:
                require_edit(who, store.customer(self.customer_id))
                store.remove_tag(self.customer_id, tag, user=who.name)

            return save

        self._prompt("prompt.remove_tag", change)

    def action_add_contact(self) -> None:
        """Add a person of the decision chain: name, title, what they care about."""
        def change(text: str) -> Change:
            name, title, cares = ([*(part.strip() for part in text.split(",")), "", ""])[:3]
            contact = Contact.parse({"name": name, "title": title, "cares_about": cares})

            def save(store: Store, who: Actor) -> None:
                require_edit(who, store.customer(self.customer_id))
                store.add_contact(self.customer_id, contact, user=who.name)

            return save

        self._prompt("prompt.contact", change)

    def action_edit(self) -> None:
        """Edit the customer's facts in a form."""
        if self.profile is None:
            return
        # The version this screen shows: a save over anyone else's since is refused.
        version = self.profile.customer.version

        def edited(changes: dict[str, Any] | None) -> None:
            if changes:
                self._edit(changes, version)

        self.app.push_screen(EditCustomerScreen(self.profile.customer), edited)

    def action_override(self) -> None:
        """Override the tier with a reason; an empty tier clears the override."""
        if self.profile is None:
            return
        version = self.profile.customer.version

        def change(text: str) -> None:
            tier, _, reason = text.partition(",")
            if tier.strip() and not reason.strip():
                raise InvalidInput(["tier_override_reason: an override needs its reason"])
            self._edit({"tier_override": tier.strip(),
                        "tier_override_reason": reason.strip()}, version)

        self._prompt("prompt.override", change)

    def action_tick(self) -> None:
        """Tick an open to-do by its number."""
        if self.profile is None:
            return
        open_todos = [todo for todo in self.profile.todos if not todo.done]

        def change(text: str) -> Change:
            if not text.isdigit() or not 1 <= int(text) <= len(open_todos):
                raise InvalidInput([f"to-do: {text!r} is not a number from the list"])
            todo_id = open_todos[int(text) - 1].id or 0
            return lambda store, who: store.set_todo_done(todo_id, True, user=who.name)

        self._prompt("prompt.todo", change, "1" if open_todos else "")


def _shown(value: object) -> str:
    """A field's value as text for the conflict dialog."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)
