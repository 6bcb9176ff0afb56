"""Command-palette provider: find the team's lessons by title, text or tag."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import Hit, Hits, Provider
from textual.content import Content
from textual.markup import escape

from tuicrm.core.review import Lesson, find_lessons

if TYPE_CHECKING:
    from tuicrm.tui.app import TuiCrmApp


class LessonCommands(Provider):
    """``lesson: <title>`` for lessons matching the query; choosing one opens the profile
    of its first linked customer."""

    @property
    def crm(self) -> TuiCrmApp:
        """The app, typed."""
        return cast("TuiCrmApp", self.app)

    def _find(self, query: str) -> list[Lesson]:
        with self.crm.lanes["palette"].use() as store:
            return find_lessons(store, query=query, limit=10)

    def _open(self, lesson: Lesson) -> None:
        if lesson.customer_ids:
            self.crm.open_profile(lesson.customer_ids[0])
        else:
            self.app.notify(f"{lesson.title}: {lesson.advice or lesson.happened}",
                            markup=False)

    async def search(self, query: str) -> Hits:
        if not query.strip():
            return
        lessons = await asyncio.to_thread(self._find, query.strip())
        for rank, lesson in enumerate(lessons):
            text = f"lesson: {lesson.title}"
            # Lessons are user text: plain Content, never markup.
            yield Hit(0.9 - rank / 100, Content(text), partial(self._open, lesson), text=text,
                      help=escape(lesson.advice or lesson.happened))
