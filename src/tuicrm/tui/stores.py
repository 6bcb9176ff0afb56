"""Store lanes: one database connection per kind of background work.

A SQLite connection is used by one thread at a time. Each lane opens its own
:class:`~tuicrm.core.store.Store` from the factory on first use and serialises the
workers that use it, so a slow count never holds up the next page, and a new search can
interrupt the count of the previous one.

The list's lanes (:data:`READ_LANES`) only read: given a reader factory, they open a
light :class:`~tuicrm.core.reader.Reader` instead, so the first page shows before the
store's imports and migrations are paid for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuicrm.core.reader import Reader
    from tuicrm.core.store import Store

StoreFactory = Callable[[], "Store"]
ReaderFactory = Callable[[], "Reader"]

# Lanes that only read what a reader offers: the list's pages, its count, its filter
# choices, and the poll for other users' saves.
READ_LANES = frozenset({"page", "count", "poll"})


class StoreLane:
    """A lazily opened store (or reader) guarded by a lock."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._store: Any = None
        self._lock = threading.Lock()

    @contextmanager
    def use(self) -> Iterator[Any]:
        """The lane's store, for the calling thread only, until the block ends."""
        with self._lock:
            if self._store is None:
                self._store = self._factory()
            yield self._store

    def interrupt(self) -> None:
        """Abort the statement running on this lane (a count raises ``Interrupted``)."""
        store = self._store
        if store is not None:
            store.conn.interrupt()

    def close(self) -> None:
        """Close the connection once no worker is using it."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


class StoreLanes:
    """The app's lanes by name: ``page``, ``count``, ``profile``, ``write`` …"""

    def __init__(self, factory: StoreFactory, reader: ReaderFactory | None = None) -> None:
        self.factory = factory
        self.reader = reader
        self._lanes: dict[str, StoreLane] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> StoreLane:
        with self._lock:
            if name not in self._lanes:
                self._lanes[name] = StoreLane(self._opener(name))
            return self._lanes[name]

    def _opener(self, name: str) -> Callable[[], Any]:
        if name not in READ_LANES or self.reader is None:
            return self.factory
        reader = self.reader

        def open_reader() -> Any:
            from tuicrm.core.reader import SchemaNotReady

            try:
                return reader()
            except SchemaNotReady:  # an older schema: the store applies the migrations
                self.factory().close()
                return reader()

        return open_reader

    def close(self) -> None:
        """Close every lane."""
        for lane in list(self._lanes.values()):
            lane.close()
