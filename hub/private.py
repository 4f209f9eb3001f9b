"""The data directory holds webhook signing secrets, token hashes, the home's address and the
activity history: it is created 0700 and the database files 0600 whatever the umask, and a
directory other users can read gets a warning at start (the resident may have a reason)."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
#: SQLite's companions of a database file (it gives them the database file's mode when it creates them)
COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) 0700; warn when an existing one is open to others."""
    if path.is_dir():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning(
                "data directory %s is readable by other users (mode %o); it holds secrets: chmod 700 %s",
                path, mode, path,
            )  # fmt: skip
        return
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    path.chmod(DIR_MODE)  # mkdir's mode is filtered by the umask


def private_file(path: Path) -> None:
    """The database file and its companions exist 0600 before SQLite opens them."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    os.close(fd)
    for p in (path, *(path.with_name(path.name + s) for s in COMPANIONS)):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(p.stat().st_mode) != FILE_MODE:
                p.chmod(FILE_MODE)
