"""What every screen of the app shares: the labels, the store lanes, the user and day."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on, work
from textual.binding import Binding
from textual.content import Content
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from tuicrm.core.reader import data_version
from tuicrm.tui.labels import Labels
from tuicrm.tui.stores import StoreLanes

if TYPE_CHECKING:
    from tuicrm.tui.app import TuiCrmApp


def show_text(widget: Static, text: str) -> None:
    """Show ``text`` in ``widget`` unless it shows it already: each change lays the
    screen out again (the follow-up form did so for every save, clearing errors that
    were not there, before the save's worker could start)."""
    if str(widget.content) != text:
        widget.update(Content(text))


def translate_bindings(node: DOMNode, labels: Labels) -> None:
    """Give the node's bindings descriptions in the current language.

    A binding's ``id`` ends with the name of its label (``customers.search`` →
    ``key.search``). Bindings are frozen, so each is replaced by a copy; the Footer and
    the help screen then show the translated words.
    """
    for key, bindings in node._bindings.key_to_bindings.items():
        node._bindings.key_to_bindings[key] = [_translated(b, labels) for b in bindings]


def _translated(binding: Binding, labels: Labels) -> Binding:
    label = "key." + (binding.id or "").rsplit(".", 1)[-1]
    if not binding.id or not labels.has(label):
        return binding
    return dataclasses.replace(binding, description=labels(label))


class CrmMixin:
    """Shortcuts to the app's shared state."""

    @property
    def crm(self) -> TuiCrmApp:
        """The app, typed."""
        return cast("TuiCrmApp", cast(DOMNode, self).app)

    @property
    def labels(self) -> Labels:
        """UI text in the current language."""
        return self.crm.labels

    @property
    def lanes(self) -> StoreLanes:
        """Database connections for workers."""
        return self.crm.lanes

    @property
    def user(self) -> str:
        """Who is working."""
        return self.crm.user

    @property
    def today(self) -> dt.date:
        """The day rules are evaluated as of."""
        return self.crm.today

    def relabel(self) -> None:
        """Show the UI text again after the language changed."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Say so when background work failed, instead of leaving the screen stale."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            cast(DOMNode, self).app.notify(
                f"{type(error).__name__}: {error}", severity="error", markup=False)


class DatabaseChanged(Message):
    """Another connection committed to the database since the screen last looked."""


class CrmScreen(CrmMixin, Screen[Any]):
    """A full screen of the app.

    While it is the current screen it asks every :attr:`POLL_SECONDS` whether anyone
    else saved anything (``PRAGMA data_version``: shared memory, not a file read) and
    calls :meth:`others_saved` when so.
    """

    POLL_SECONDS: ClassVar[float] = 3.0
    _data_version: int | None = None
    _polling = False

    def on_mount(self) -> None:
        translate_bindings(self, self.labels)
        self.refresh_bindings()
        self.set_interval(self.POLL_SECONDS, self.look_for_changes)
        self._poll_data_version()  # the baseline

    def look_for_changes(self) -> None:
        """Ask (in a worker) whether the database changed; quiet when it did not."""
        if self.is_current and not self._polling:
            self._poll_data_version()

    @work(thread=True, group="poll", exit_on_error=False)
    def _poll_data_version(self) -> None:
        self._polling = True
        try:
            with self.lanes["poll"].use() as store:
                version = data_version(store)
        finally:
            self._polling = False
        seen, self._data_version = self._data_version, version
        if seen is not None and version != seen:
            self.post_message(DatabaseChanged())

    @on(DatabaseChanged)
    def _database_changed(self, event: DatabaseChanged) -> None:
        event.stop()
        self.others_saved()

    def others_saved(self) -> None:
        """Show what others saved; screens that show data read it again."""

    def relabel(self) -> None:
        translate_bindings(self, self.labels)
        self.refresh_bindings()


class CrmModal(CrmMixin, ModalScreen[Any]):
    """A dialog over a screen."""

    BINDINGS = [Binding("escape", "dismiss", "Back", id="modal.back")]

    def on_mount(self) -> None:
        translate_bindings(self, self.labels)
        self.refresh_bindings()
