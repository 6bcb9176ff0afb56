"""The keys of the screen below, and the ones that work everywhere."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Label, Static

from tuicrm.tui.screens.base import CrmModal


def describe_keys(screen: Screen[object]) -> list[tuple[str, str]]:
    """(keys, description) of every described binding active on ``screen``."""
    seen: dict[str, list[str]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description:
            continue
        display = screen.app.get_key_display(binding)
        seen.setdefault(binding.description, [])
        if display not in seen[binding.description]:
            seen[binding.description].append(display)
        del key
    return [(" ".join(keys), description) for description, keys in seen.items()]


class HelpScreen(CrmModal):
    """A dialog listing the keys of the screen it was opened from."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Back", id="help.back")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Label(Content(self.labels("help.title")), classes="dialog-title")
            width = max((len(k) for k, _ in self.keys), default=4)
            lines = [f"{keys:<{width}}  {description}" for keys, description in self.keys]
            yield Static(Content("\n".join(lines)))
            yield Static(Content(self.labels("help.global")), classes="muted")

    async def action_dismiss(self, result: object = None) -> None:
        self.dismiss(None)
