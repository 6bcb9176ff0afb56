"""Python's cyclic garbage collector, run while nobody types.

Left to itself, the collector runs whenever enough objects were made, which in the app
is in the middle of a keystroke or a screen being drawn. Measured on a million-customer
database over one benchmark session: 20 pauses of 5–13 ms (the young objects) and 6 of
30–110 ms (everything), each one a frame late. The app turns its automatic runs off
and runs it here instead: the young objects once input has been quiet for a moment,
everything now and then when quiet, and the young ones anyway should a burst of input
make too many of them.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

# Seconds without a key or a click before the collector may run: often enough that each
# run has little to do (a keystroke makes ~1,200 objects, a profile or form shown up to
# 30,000; a run takes ~0.4 µs an object), rarely enough to fall between keys.
QUIET = 0.1
# Objects made since the last run past which the young ones are collected even while
# keys come (about forty keystrokes' worth; a run of them takes ~20 ms).
AT_MOST = 50_000
# Fewest objects made since the last run worth a run at a quiet moment.
AT_LEAST = 2_000
# Seconds between runs over everything, at quiet moments.
EVERYTHING_EVERY = 60.0


class IdleCollector:
    """Runs the garbage collector at quiet moments: call :meth:`heard` on each input
    event and :meth:`tick` a few times a second; :meth:`start` once start-up's objects
    are frozen, :meth:`stop` when the app ends (automatic runs come back)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.started = False
        self.last_input = self._clock()
        self.last_everything = self.last_input
        self.runs: list[int] = []  # the generation of each run (for the tests)

    def start(self) -> None:
        """Take over from the automatic runs."""
        gc.disable()
        self.started = True
        self.last_everything = self._clock()

    def stop(self) -> None:
        """Give the collector its automatic runs back."""
        if self.started:
            self.started = False
            gc.enable()

    def heard(self) -> None:
        """A key or a click came."""
        self.last_input = self._clock()

    def tick(self) -> None:
        """Collect, if now is a good moment and there is something to collect."""
        if not self.started:
            return
        made = gc.get_count()[0]
        now = self._clock()
        if now - self.last_input < QUIET:
            if made > AT_MOST:
                self._run(1)
            return
        if now - self.last_everything >= EVERYTHING_EVERY:
            self.last_everything = now
            self._run(2)
        elif made > AT_LEAST:
            self._run(1)

    def _run(self, generation: int) -> None:
        gc.collect(generation)
        self.runs.append(generation)
