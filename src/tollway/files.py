"""Files holding secrets or payments (the SQLite database, the master key, the demo's key pair) are
readable by their owner only: directories Tollway creates are 0700, such files 0600."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def private_dir(path: Path) -> None:
    """Creates ``path`` (and missing parents) as 0700; an existing data directory is made 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # not ours to change (e.g. a mount point): leave it
        path.chmod(0o700)


def private_file(path: Path) -> None:
    """Creates ``path`` empty as 0600 when missing (before SQLite opens it, so its WAL and shared
    memory files, which SQLite gives the database's mode, are 0600 too); makes it 0600 otherwise."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            name.chmod(0o600)


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///…`` URL (None for another database or ``:memory:``)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[-1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None
