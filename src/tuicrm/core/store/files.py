"""The database file on disk; kept here for the store's importers, the code lives in
:mod:`tuicrm.core.dbfile` so that look-ups can check the file without importing the
store."""

from tuicrm.core.dbfile import (
    SHARED_DIR_MODE,
    SHARED_FILE_MODE,
    UnsafeFile,
    create_shared,
    refuse_world_writable,
)

__all__ = [
    "SHARED_DIR_MODE", "SHARED_FILE_MODE", "UnsafeFile", "create_shared",
    "refuse_world_writable",
]
