"""The driver's PostgreSQL pool: never more connections than its size, none lost to a cancelled
waiter, and no connection reused that an interrupted statement may have left mid-exchange."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tollway.db import pgpool
from tollway.db.pgpool import PgPool, clean_after


@pytest.fixture
async def pool(postgres_url: str) -> AsyncIterator[PgPool]:
    made = PgPool(postgres_url, 2, statement_cache_size=16)
    yield made
    await made.close()


async def _pid(conn: asyncpg.Connection) -> int:
    pid: int = await conn.fetchval("SELECT pg_backend_pid()")
    return pid


async def test_connections_are_reused_and_never_more_than_its_size(pool: PgPool) -> None:
    first = await pool.acquire()
    pid = await _pid(first)
    pool.release(first, clean=True)
    again = await pool.acquire()
    assert await _pid(again) == pid  # the one just released
    other = await pool.acquire()
    assert pool.opened == 2
    waiting = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.05)
    assert not waiting.done()  # both in use: it waits
    pool.release(other, clean=True)
    handed = await asyncio.wait_for(waiting, 5)
    assert handed is other and pool.opened == 2
    pool.release(again, clean=True)
    pool.release(handed, clean=True)


async def test_a_cancelled_waiter_loses_no_connection(pool: PgPool) -> None:
    held = [await pool.acquire(), await pool.acquire()]
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.05)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    for conn in held:
        pool.release(conn, clean=True)
    assert pool.opened == 2
    # both are there for the next callers, at once
    got = await asyncio.wait_for(asyncio.gather(pool.acquire(), pool.acquire()), 5)
    assert set(got) == set(held)
    for conn in got:
        pool.release(conn, clean=True)


async def test_a_connection_an_interrupted_statement_used_is_terminated(pool: PgPool) -> None:
    conn = await pool.acquire()
    try:
        async with asyncio.timeout(0.1):
            await conn.execute("SELECT pg_sleep(5)")
    except TimeoutError as exc:
        assert not clean_after(exc)
        pool.release(conn, clean=clean_after(exc))
    assert conn.is_closed() and pool.opened == 0
    fresh = await pool.acquire()
    assert fresh is not conn and await fresh.fetchval("SELECT 1") == 1
    pool.release(fresh, clean=True)


async def test_postgresql_s_own_error_leaves_the_connection_reusable(pool: PgPool) -> None:
    conn = await pool.acquire()
    with pytest.raises(asyncpg.PostgresError) as raised:
        await conn.execute("SELECT 1/0")
    assert clean_after(raised.value)
    pool.release(conn, clean=clean_after(raised.value))
    assert await pool.acquire() is conn
    pool.release(conn, clean=True)


async def test_a_connection_left_in_a_transaction_is_not_reused(pool: PgPool) -> None:
    conn = await pool.acquire()
    await conn.execute("BEGIN")
    pool.release(conn, clean=True)
    assert conn.is_closed() and pool.opened == 0


async def test_a_connection_the_server_closed_while_idle_is_replaced(pool: PgPool, postgres_url: str) -> None:
    conn = await pool.acquire()
    pid = await _pid(conn)
    pool.release(conn, clean=True)
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    for _ in range(50):  # the event loop sees the socket close
        if conn.is_closed():
            break
        await asyncio.sleep(0.02)
    fresh = await pool.acquire()
    assert await _pid(fresh) != pid and pool.opened == 1
    pool.release(fresh, clean=True)


async def test_a_failed_connect_frees_its_slot() -> None:
    broken = PgPool("postgresql://postgres@127.0.0.1:1/none", 1, statement_cache_size=0)
    for _ in range(2):  # the slot is free again after each failure
        with pytest.raises(OSError):
            await broken.acquire()
        assert broken.opened == 0
    await broken.close()


async def test_a_closed_pool_refuses_and_wakes_its_waiters(postgres_url: str) -> None:
    pool = PgPool(postgres_url, 1, statement_cache_size=0)
    conn = await pool.acquire()
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.05)
    await pool.close()
    with pytest.raises(asyncpg.InterfaceError):
        await waiter
    pool.release(conn, clean=True)  # in use at close: terminated on release
    assert conn.is_closed() and pool.opened == 0
    with pytest.raises(asyncpg.InterfaceError):
        await pool.acquire()


async def test_a_connection_idle_too_long_is_replaced(pool: PgPool, monkeypatch: pytest.MonkeyPatch) -> None:
    held = [await pool.acquire(), await pool.acquire()]
    for conn in held:
        pool.release(conn, clean=True)
    monkeypatch.setattr(pgpool, "IDLE_SECONDS", 0.0)
    fresh = await pool.acquire()
    assert fresh not in held and all(conn.is_closed() for conn in held) and pool.opened == 1
    pool.release(fresh, clean=True)
