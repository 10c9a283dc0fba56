"""Backups of the embedded SQLite database (``tollway db backup | restore``).

SQLite's online backup API copies the database page by page while the gateway keeps running
(it restarts a step when a writer changes a page it already copied), so a backup is one consistent
snapshot, WAL included. PostgreSQL has its own tools: ``pg_dump`` and ``pg_restore``.

A backup holds secrets sealed under the master key, never the key itself: keep the key apart.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

#: pages copied per step: small enough that a writer is never held up for long
PAGES_PER_STEP = 256

Progress = Callable[[int, int], None]  # (pages copied, pages in all)


class BackupError(Exception):
    pass


def sqlite_path(url: str) -> Path:
    path = url.split(":///", 1)[-1]
    if not path or path == ":memory:":
        raise BackupError("an in-memory database has nothing to back up")
    return Path(path)


def _copy(source: sqlite3.Connection, target: sqlite3.Connection, progress: Progress) -> None:
    def step(_status: int, remaining: int, total: int) -> None:
        progress(total - remaining, total)

    source.backup(target, pages=PAGES_PER_STEP, progress=step)


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return str(row[0]) if row else None


def backup(database: Path, target: Path, progress: Progress = lambda _done, _total: None) -> str | None:
    """Copies ``database`` to ``target`` (a new file) while it may be in use; returns its revision."""
    if not database.exists():
        raise BackupError(f"no database at {database}")
    if target.exists():
        raise BackupError(f"{target} exists: choose a new file")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(database, timeout=30)
    try:
        copy = sqlite3.connect(partial)
        try:
            _copy(source, copy, progress)
            if copy.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise BackupError("the copy failed its integrity check")
            revision = _revision(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            copy.close()
    finally:
        source.close()
    partial.rename(target)  # a backup file is complete or absent
    return revision


def restore(backup_file: Path, database: Path, progress: Progress = lambda _done, _total: None) -> str | None:
    """Replaces ``database``'s content with ``backup_file``'s; returns the restored revision. Every
    process using ``database`` must be stopped first (the caller checks that the user said so)."""
    if not backup_file.exists():
        raise BackupError(f"no backup at {backup_file}")
    source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    try:
        if source.execute("PRAGMA quick_check").fetchone() != ("ok",):
            raise BackupError(f"{backup_file} is damaged (integrity check failed)")
        revision = _revision(source)
        if revision is None:
            raise BackupError(f"{backup_file} is not a Tollway database")
        database.parent.mkdir(parents=True, exist_ok=True)
        target = sqlite3.connect(database, timeout=30)
        try:
            _copy(source, target, progress)  # through SQLite, so its WAL and locks stay consistent
        finally:
            target.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{backup_file}: {exc}") from None
    finally:
        source.close()
    return revision
