"""Running Alembic migrations from code (``tollway serve`` on the embedded default, ``tollway db upgrade``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from tollway.db.engine import create_engine, is_sqlite
from tollway.files import private_file, sqlite_path

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK = 7_404_202_611  # an arbitrary advisory-lock number: one migrator at a time


def _config(connection: Connection | None = None, applied: Callable[[str], None] | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    if applied is not None:
        cfg.attributes["on_version_apply"] = lambda *, step, **_: applied(step.up_revision_id or "")
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def _upgrade(connection: Connection, applied: Callable[[str], None] | None = None) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_PG_LOCK})"))
    command.upgrade(_config(connection, applied), "head")


def current_of(connection: Connection) -> str | None:
    """The revision of the database behind ``connection`` (for ``AsyncConnection.run_sync``)."""
    return MigrationContext.configure(connection).get_current_revision()


_current = current_of


async def upgrade(url: str, applied: Callable[[str], None] | None = None) -> None:
    """Applies every missing revision; ``applied(revision)`` hears of each one (progress)."""
    if is_sqlite(url):
        _ensure_sqlite_dir(url)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, applied)
    finally:
        await engine.dispose()


async def current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current)
    finally:
        await engine.dispose()


def _ensure_sqlite_dir(url: str) -> None:
    path = sqlite_path(url)
    if path is not None:
        private_file(path)
