"""The lessons linked to a customer, as a short section of the profile."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual.widgets import Static

from tuicrm.core.review import Lesson

KIND_MARK = {"success": "+", "failure": "-"}


class LessonsPanel(Static):
    """Each lesson on a line: +/- (success/failure), title, what to repeat or avoid."""

    DEFAULT_CSS = """
    LessonsPanel { height: auto; padding: 0 1; display: none; }
    """

    def show(self, lessons: Sequence[Lesson], title: str) -> None:
        """Show ``lessons`` under ``title``; nothing at all when there are none."""
        self.display = bool(lessons)
        if not lessons:
            return
        # Lessons are user text: Content pieces, never markup.
        lines = [Content.styled(title, "bold")]
        for lesson in lessons:
            tags = f"  [{', '.join(lesson.tags)}]" if lesson.tags else ""
            lines.append(Content.assemble(f"{KIND_MARK[lesson.kind]} ", (lesson.title, "bold"),
                                          f": {lesson.advice or lesson.happened}",
                                          (tags, "dim")))
        self.update(Content("\n").join(lines))
