"""Store lanes: one database connection per kind of background work.

A SQLite connection is used by one thread at a time. Each lane opens its own
:class:`~tuicrm.core.store.Store` from the factory on first use and serialises the
workers that use it, so a slow count never holds up the next page, and a new search can
interrupt the count of the previous one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tuicrm.core.store import Store

StoreFactory = Callable[[], Store]


class StoreLane:
    """A lazily opened store guarded by a lock."""

    def __init__(self, factory: StoreFactory) -> None:
        self._factory = factory
        self._store: Store | None = None
        self._lock = threading.Lock()

    @contextmanager
    def use(self) -> Iterator[Store]:
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

    def __init__(self, factory: StoreFactory) -> None:
        self.factory = factory
        self._lanes: dict[str, StoreLane] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> StoreLane:
        with self._lock:
            if name not in self._lanes:
                self._lanes[name] = StoreLane(self.factory)
            return self._lanes[name]

    def close(self) -> None:
        """Close every lane."""
        for lane in list(self._lanes.values()):
            lane.close()
