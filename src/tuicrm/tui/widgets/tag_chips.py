"""Tag chips: a customer's tags grouped by dimension, computed ones marked."""

from __future__ import annotations

from itertools import groupby

from textual.content import Content
from textual.widgets import Static

from tuicrm.core.models import Tag


def chips(tags: list[Tag], *, reasons: bool = False, rule_mark: str = "rule") -> Content:
    """Tags as ``dimension: [value] [value*]`` lines; ``*`` marks a rule's tag.

    With ``reasons`` each computed tag is followed by why the rules gave it. Tag text is
    data and goes into plain :class:`Content`, never markup.
    """
    lines: list[Content] = []
    for dimension, group in groupby(tags, key=lambda t: t.dimension):
        parts: list[Content | str | tuple[str, str]] = [(f"{dimension}: ", "bold")]
        for tag in group:
            computed = tag.source == "rule"
            parts.append((f"[{tag.value}{'*' if computed else ''}]",
                          "italic" if computed else "reverse"))
            if reasons and tag.reason:
                parts.append((f" ({rule_mark}: {tag.reason})", "dim"))
            parts.append(" ")
        lines.append(Content.assemble(*parts))
    return Content("\n").join(lines)


class TagChips(Static):
    """A customer's tags as chips."""

    DEFAULT_CSS = """
    TagChips {
        height: auto;
        padding: 0 1;
    }
    """

    def show(self, tags: list[Tag], *, reasons: bool = False, rule_mark: str = "rule",
             empty: str = "-") -> None:
        """Draw these tags."""
        self.update(chips(tags, reasons=reasons, rule_mark=rule_mark) if tags
                    else Content(empty))
