"""Sessions: ordinary ones are transactions; ``single()`` ones (and ``statements()`` connections)
run each statement on its own on PostgreSQL (no BEGIN, nothing to commit) and are ordinary
transactions on SQLite; ``transaction()`` connections are one transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select, text

from tollway.db.models import SandboxIdempotency
from tollway.services import Services


def _row(key: str) -> SandboxIdempotency:
    return SandboxIdempotency(key_hash=key, state="processing", created_at=datetime.now(UTC))


async def _visible_elsewhere(services: Services, key: str) -> bool:
    async with services.engine.connect() as other:
        found = await other.scalar(
            select(func.count()).select_from(SandboxIdempotency).where(SandboxIdempotency.key_hash == key)
        )
        return bool(found)


async def test_a_single_session_writes_at_once_on_postgresql_and_in_a_transaction_on_sqlite(
    services: Services, database_url: str
) -> None:
    async with services.sessions.single() as session:
        session.add(_row("single"))
        await session.flush()
        if database_url.startswith("sqlite"):
            # SQLite keeps BEGIN IMMEDIATE: the flushed row is this session's until it commits.
            await session.commit()
        else:
            # Seen by another connection before any commit: the INSERT was its own transaction.
            assert await _visible_elsewhere(services, "single")
    assert await _visible_elsewhere(services, "single")


async def test_an_ordinary_session_is_one_transaction(services: Services, database_url: str) -> None:
    async with services.sessions() as session:
        session.add(_row("txn"))
        await session.flush()
        if not database_url.startswith("sqlite"):  # on SQLite a reader would wait for this lock
            assert not await _visible_elsewhere(services, "txn")
        await session.rollback()
    assert not await _visible_elsewhere(services, "txn")  # the flushed INSERT was rolled back with it


async def test_a_failed_statement_in_a_single_session_leaves_it_usable(services: Services) -> None:
    async with services.sessions.single() as session:
        session.add(_row("dup"))
        await session.commit()
    async with services.sessions.single() as session:
        session.add(_row("dup"))
        try:
            await session.commit()
        except Exception:
            await session.rollback()
        else:  # pragma: no cover - the key is taken
            raise AssertionError("a duplicate key was accepted")
        assert await session.get(SandboxIdempotency, "dup") is not None


async def test_statements_run_each_on_its_own_on_postgresql(services: Services, database_url: str) -> None:
    async with services.sessions.single() as session:
        session.add(_row("read-me"))
        await session.commit()
    async with services.sessions.statements() as reader:
        found = await reader.scalar(select(SandboxIdempotency.state).where(SandboxIdempotency.key_hash == "read-me"))
        assert found == "processing"
        if not database_url.startswith("sqlite"):
            # now() is the start of the current transaction: a new one for every statement
            first = await reader.scalar(text("SELECT now()"))
            await asyncio.sleep(0.01)
            second = await reader.scalar(text("SELECT now()"))
            assert second > first


async def test_statements_write_at_once_on_postgresql_and_at_the_end_on_sqlite(
    services: Services, database_url: str
) -> None:
    table = SandboxIdempotency.__table__
    async with services.sessions.statements() as conn:
        await conn.execute(table.insert().values(key_hash="stmt", state="processing", created_at=datetime.now(UTC)))
        if not database_url.startswith("sqlite"):
            assert await _visible_elsewhere(services, "stmt")  # no transaction around it
    assert await _visible_elsewhere(services, "stmt")  # and on SQLite, committed at the end


async def test_a_transaction_connection_commits_at_the_end_or_not_at_all(services: Services, database_url: str) -> None:
    table = SandboxIdempotency.__table__
    try:
        async with services.sessions.transaction() as conn:
            await conn.execute(
                table.insert().values(key_hash="undone", state="processing", created_at=datetime.now(UTC))
            )
            if not database_url.startswith("sqlite"):  # on SQLite a reader would wait for this lock
                assert not await _visible_elsewhere(services, "undone")
            raise RuntimeError("the block fails")
    except RuntimeError:
        pass
    assert not await _visible_elsewhere(services, "undone")
    async with services.sessions.transaction() as conn:
        await conn.execute(table.insert().values(key_hash="done", state="processing", created_at=datetime.now(UTC)))
    assert await _visible_elsewhere(services, "done")
