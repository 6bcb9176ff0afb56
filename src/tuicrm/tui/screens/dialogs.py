"""Small dialogs: pick one value, type a line, confirm a choice."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from tuicrm.tui.screens.base import CrmModal


class PickScreen(CrmModal):
    """Pick one value from a list; dismisses with ``(value,)``, or None on escape.

    ``choices`` pairs a value with what to show for it; values are user data, shown as
    plain text.
    """

    def __init__(self, title: str, choices: list[tuple[str | None, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Content(self.title_text), classes="dialog-title")
            yield OptionList(*[
                Option(Content(shown), id=str(index))
                for index, (_, shown) in enumerate(self.choices)
            ])

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss((self.choices[int(event.option.id or 0)][0],))

    async def action_dismiss(self, result: object = None) -> None:
        self.dismiss(None)


class PromptScreen(CrmModal):
    """Type one line; dismisses with the text, or None on escape."""

    def __init__(self, title: str, value: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Content(self.title_text), classes="dialog-title")
            yield Input(self.value, id="prompt-input")
            yield Label("", id="prompt-error", classes="error")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def show_error(self, message: str) -> None:
        """Show why the text was refused, keeping the dialog open."""
        self.query_one("#prompt-error", Label).update(Content(message))

    async def action_dismiss(self, result: object = None) -> None:
        self.dismiss(None)


class ConfirmScreen(CrmModal):
    """Ask yes or no; dismisses with True (y) or False (n, escape)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Content(self.question), classes="dialog-title")
            yield Label(Content(f"[y] {self.labels('confirm.yes')}   "
                                f"[n] {self.labels('confirm.no')}"))

    def action_answer(self, answer: bool) -> None:
        """Close with the answer."""
        self.dismiss(answer)
