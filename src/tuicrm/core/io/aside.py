"""A generator run in a forked child process, beside the process that consumes it.

A big import spends about a third of its time in Python reading and checking cells and
working out each name's pinyin, and one process does that on one core whatever its
threads. A forked child can do it instead while the parent writes: the child runs the
generator and sends each item it yields, pickled, through a pipe.

Forking copies the parent's threads' locks as they stand, so only a process with no
other thread may fork a child (:func:`can_fork`); elsewhere the caller runs the generator
itself. The child ends with ``os._exit`` (multiprocessing's way): it never closes what it
inherited, such as the parent's database connection.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import queue
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Generic, TypeVar

T = TypeVar("T")

#: Items the child may work out ahead of the parent.
_AHEAD = 4
#: How often, in seconds, a child waiting to hand an item over checks the parent still reads.
_WAIT = 0.5


def can_fork() -> bool:
    """Whether this process may fork a child: only this thread runs, and ``fork``
    exists here."""
    return (threading.active_count() == 1
            and "fork" in multiprocessing.get_all_start_methods())


class Aside(Generic[T]):
    """The items of ``items`` (a generator not started yet), worked out by a child
    process forked on creation.

    An error in the child is raised where its item would have come. :meth:`close` (also
    when the parent fails or stops early) stops the child.
    """

    def __init__(self, items: Iterator[T]) -> None:
        context = multiprocessing.get_context("fork")
        self.receiver, sender = context.Pipe(duplex=False)
        self.child = context.Process(target=_run, args=(items, sender, self.receiver),
                                     name="tuicrm-aside", daemon=True)
        self.child.start()
        sender.close()

    def __iter__(self) -> Iterator[T]:
        while True:
            try:
                kind, payload = pickle.loads(self.receiver.recv_bytes())
            except EOFError:
                self.child.join()
                raise RuntimeError(
                    f"the child process ended without a word (exit code "
                    f"{self.child.exitcode})") from None
            if kind == "end":
                self.child.join()  # it has sent everything and is ending
                return
            if kind == "error":
                raise payload
            yield payload

    def close(self) -> None:
        """Stop the child (if still working) and wait for it."""
        self.receiver.close()
        if self.child.is_alive():
            self.child.terminate()
        self.child.join()


def _run(items: Iterator[object], sender: Connection, receiver: Connection) -> None:
    """The child: work the items out and send them from a thread of their own, so the
    next item is worked out while one is written to the pipe."""
    # Only the parent reads: if it dies (killed, say), writing fails and the child ends.
    receiver.close()
    ready: queue.Queue[bytes | None] = queue.Queue(maxsize=_AHEAD)

    def send() -> None:
        with contextlib.suppress(OSError):  # the parent stopped listening
            while (message := ready.get()) is not None:
                sender.send_bytes(message)
        sender.close()

    thread = threading.Thread(target=send, daemon=True)
    thread.start()

    def put(message: bytes | None) -> None:
        while thread.is_alive():
            with contextlib.suppress(queue.Full):
                ready.put(message, timeout=_WAIT)
                return
        raise _ParentGone

    try:
        for item in items:
            put(pickle.dumps(("item", item), protocol=pickle.HIGHEST_PROTOCOL))
        put(pickle.dumps(("end", None)))
        put(None)
    except _ParentGone:
        return
    except BaseException as exc:  # handed to the parent, raised there
        try:
            message = pickle.dumps(("error", exc))
        except Exception:
            message = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        with contextlib.suppress(_ParentGone):
            put(message)
            put(None)
    thread.join()


class _ParentGone(Exception):
    """The parent stopped reading (it failed, or was stopped)."""
