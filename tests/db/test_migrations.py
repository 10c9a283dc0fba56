"""Migrations run unchanged on SQLite and PostgreSQL and leave the schema the models describe."""

from __future__ import annotations

from sqlalchemy import Connection, MetaData

from tollway.db import migrate
from tollway.db.models import Base
from tollway.services import Services


def _tables(conn: Connection) -> set[str]:
    meta = MetaData()
    meta.reflect(conn)
    return set(meta.tables)


async def test_the_database_is_at_head_with_every_table(services: Services, database_url: str) -> None:
    assert await migrate.current_revision(database_url) == migrate.head_revision()
    async with services.engine.connect() as conn:
        tables = await conn.run_sync(_tables)
    assert set(Base.metadata.tables) <= tables


async def test_upgrading_again_is_a_no_op(database_url: str) -> None:
    await migrate.upgrade(database_url)
    assert await migrate.current_revision(database_url) == migrate.head_revision()


async def test_sqlite_runs_in_wal_mode(services: Services, database_url: str) -> None:
    from sqlalchemy import text

    if not database_url.startswith("sqlite"):
        return
    async with services.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
