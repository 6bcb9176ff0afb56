"""A generator run in a forked child process, beside the process that consumes it.

A big import spends about a third of its time in Python reading and checking cells and
working out each name's pinyin, and one process does that on one core whatever its
threads. A forked child can do it instead while the parent writes: the child runs the
generator and sends each item it yields, pickled, through a pipe. Items of plain
tuples, lists, dicts, text and numbers can travel marshalled instead (see :class:`Wire`).

Forking copies the parent's threads' locks as they stand, so only a process with no
other thread may fork a child (:func:`can_fork`); elsewhere the caller runs the generator
itself. The child ends with ``os._exit`` (multiprocessing's way): it never closes what it
inherited, such as the parent's database connection.
"""

from __future__ import annotations

import contextlib
import marshal
import multiprocessing
import pickle
import queue
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")

#: Items the child may work out ahead of the parent. An import's writer stops reading
#: for a second or two now and then (it segments what it wrote); with 4 chunks ahead the
#: child of a million-row import stood waiting 2.3 s in all, with 24 (about 25 MB of
#: planned rows) not at all.
_AHEAD = 24
#: How often, in seconds, a child waiting to hand an item over checks the parent still reads.
_WAIT = 0.5


class Wire(Protocol[T]):
    """How items travel marshalled: as values of the types :mod:`marshal` takes, which
    it writes and reads in about half pickle's time (a million planned import rows:
    2.2 + 2.0 s against 3.8 + 2.5 s)."""

    def to_wire(self, item: T) -> Any:
        """The item as marshal's types."""
        ...

    def from_wire(self, value: Any) -> T:
        """The item back."""
        ...


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

    def __init__(self, items: Iterator[T], wire: Wire[T] | None = None) -> None:
        context = multiprocessing.get_context("fork")
        self.receiver, sender = context.Pipe(duplex=False)
        self.wire = wire
        self.child = context.Process(target=_run, args=(items, sender, self.receiver, wire),
                                     name="tuicrm-aside", daemon=True)
        self.child.start()
        sender.close()

    def __iter__(self) -> Iterator[T]:
        while True:
            try:
                message = self.receiver.recv_bytes()
            except EOFError:
                self.child.join()
                raise RuntimeError(
                    f"the child process ended without a word (exit code "
                    f"{self.child.exitcode})") from None
            if message[:1] == _MARSHALLED:
                assert self.wire is not None
                yield self.wire.from_wire(marshal.loads(memoryview(message)[1:]))
                continue
            kind, payload = pickle.loads(message)
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


# The first byte of a marshalled item's message (a pickle starts with 0x80).
_MARSHALLED = b"m"


def _run(items: Iterator[Any], sender: Connection, receiver: Connection,
         wire: Wire[Any] | None) -> None:
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
            put(_message(item, wire))
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


def _message(item: Any, wire: Wire[Any] | None) -> bytes:
    """An item's message: marshalled through ``wire`` when it can be, else pickled."""
    if wire is not None:
        with contextlib.suppress(ValueError):  # a value marshal does not take
            return _MARSHALLED + marshal.dumps(wire.to_wire(item))
    return pickle.dumps(("item", item), protocol=pickle.HIGHEST_PROTOCOL)


class _ParentGone(Exception):
    """The parent stopped reading (it failed, or was stopped)."""
