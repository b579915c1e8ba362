"""The embedded database's files are the owner's alone: they hold every tenant's data."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Final

FILE_MODE: Final = 0o600
DIRECTORY_MODE: Final = 0o700
_COMPANIONS: Final = ("", "-wal", "-shm", "-journal")


def make_private(database: Path, data_dir: Path) -> None:
    """Create the file 0600 (and missing directories 0700) before SQLite opens it.

    SQLite creates a database with the process umask (0644 commonly) and gives its WAL and
    shared-memory files the database file's mode, so creating it 0600 first covers all three.
    Files an older version left readable are tightened, and so is the data directory
    (ours by definition); another existing directory a `sqlite:///` URL names is left as it
    is, since it may be shared (`/tmp`), and the 0600 files protect the data there too.
    """
    parent = database.parent
    parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    if parent.resolve() == data_dir.resolve():
        parent.chmod(DIRECTORY_MODE)
    os.close(os.open(database, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    for suffix in _COMPANIONS:
        with contextlib.suppress(FileNotFoundError):
            Path(f"{database}{suffix}").chmod(FILE_MODE)
