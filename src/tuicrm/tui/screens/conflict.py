"""The conflict dialog: someone else saved a customer since you opened it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Label, Static

from tuicrm.core.textcells import cell_width, pad
from tuicrm.tui.screens.base import CrmModal

ConflictChoice = Literal["reload", "overwrite"]
COLUMN_WIDTH = 20


@dataclass(frozen=True)
class FieldClash:
    """One field both sides changed: what is saved now, and what you typed."""

    field: str
    theirs: str
    yours: str


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells, with an ellipsis when cut."""
    if cell_width(text) <= width:
        return pad(text, width)
    out = ""
    for char in text:
        if cell_width(out + char) > width - 1:
            break
        out += char
    return pad(out + "…", width)


class ConflictScreen(CrmModal):
    """Both versions of the changed fields; dismisses with ``"reload"``,
    ``"overwrite"``, or ``"reload"`` on escape (nothing is lost silently: theirs is
    saved, yours is still on screen until you choose)."""

    BINDINGS = [
        Binding("r", "choose('reload')", "Reload", id="conflict.reload"),
        Binding("o", "choose('overwrite')", "Overwrite", id="conflict.overwrite"),
    ]

    def __init__(self, name: str, who: str, clashes: list[FieldClash]) -> None:
        super().__init__()
        self.customer_name = name
        self.who = who
        self.clashes = clashes

    def compose(self) -> ComposeResult:
        t = self.labels
        with Vertical(classes="dialog", id="conflict"):
            yield Label(Content(t("conflict.title", name=self.customer_name, who=self.who)),
                        classes="dialog-title")
            yield Static(self._table(), id="conflict-fields")
            yield Label(Content(t("conflict.hint")), classes="muted")

    def _table(self) -> Content:
        t = self.labels
        field_width = max([cell_width(t("conflict.field"))]
                          + [cell_width(c.field) for c in self.clashes]) + 1
        header = Content.styled(
            pad(t("conflict.field"), field_width) + clip(t("conflict.theirs"), COLUMN_WIDTH)
            + " " + t("conflict.yours"), "bold")
        lines = [header]
        for clash in self.clashes:
            # User data goes in as plain strings: Content never parses markup.
            lines.append(Content.assemble(
                pad(clash.field, field_width),
                (clip(clash.theirs or "-", COLUMN_WIDTH), "red"), " ",
                (clip(clash.yours or "-", COLUMN_WIDTH), "green")))
        return Content("\n").join(lines)

    def action_choose(self, choice: ConflictChoice) -> None:
        """Close with the choice."""
        self.dismiss(choice)

    async def action_dismiss(self, result: object = None) -> None:
        self.dismiss("reload")
