"""The database file on disk: group-shared creation for a team install, and the refusal
to open a file anyone on the machine could rewrite."""

from __future__ import annotations

import os
import stat
from pathlib import Path

SHARED_DIR_MODE = 0o2770
"""rwx for owner and group, setgid so new files (the -wal, -shm, backups) keep the group."""
SHARED_FILE_MODE = 0o660


class UnsafeFile(Exception):
    """The database file's permissions let anyone rewrite it."""


def refuse_world_writable(path: str | os.PathLike[str]) -> None:
    """Raise :class:`UnsafeFile` when ``path`` exists and is writable by everyone."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if mode & stat.S_IWOTH:
        raise UnsafeFile(
            f"{path} is world-writable (mode {stat.S_IMODE(mode):o}): anyone on this "
            f"machine could change or erase every customer; refusing to open it. "
            f"Fix it with: chmod o-w {path}"
        )


def create_shared(path: str | os.PathLike[str]) -> None:
    """Create the database's directory (2770) and an empty file (0660) for a team.

    Existing directories and files we own get the same modes; the umask is bypassed
    because a rep's usual 022 would leave the file read-only to the rest of the team.
    """
    db = Path(path)
    folder = db.parent
    if not folder.exists():
        folder.mkdir(parents=True)
        os.chmod(folder, SHARED_DIR_MODE)
    elif folder.stat().st_uid == os.geteuid():
        os.chmod(folder, SHARED_DIR_MODE)
    if not db.exists():
        fd = os.open(db, os.O_CREAT | os.O_EXCL | os.O_WRONLY, SHARED_FILE_MODE)
        os.close(fd)
    if db.stat().st_uid == os.geteuid():
        os.chmod(db, SHARED_FILE_MODE)
        for extra in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            if extra.exists() and extra.stat().st_uid == os.geteuid():
                os.chmod(extra, SHARED_FILE_MODE)
