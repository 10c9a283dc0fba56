"""Behind PgBouncer in transaction mode (``TOLLWAY_DB_STATEMENT_CACHE=false``).

Two server connections serve the gateway's pool of four, so consecutive statements of one client
connection land on different server connections: a prepared statement made on one is not on the
other. The gateway's whole path runs through it: tokens, key-in payments through the sandbox
(whose tables are in the same database), concurrent charges, lookups, cancels.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.api.routes.pg_helpers import onetime, v1_client
from tests.conftest import make_merchant, serving
from tests.db.pgbouncer import pgbouncer, through
from tollway.app import build_services
from tollway.clock import ManualClock
from tollway.config import Settings
from tollway.services import Services


@pytest.fixture
async def bounced(database_url: str, settings: Settings, clock: ManualClock, tmp_path: Path) -> AsyncIterator[Services]:
    with pgbouncer(database_url, tmp_path / "pgbouncer") as port:
        bounced = settings.model_copy(
            update={"database_url": through(database_url, port), "db_statement_cache": False, "db_pool_size": 4}
        )
        services = build_services(bounced, clock)
        await services.start()
        try:
            yield services
        finally:
            await services.close()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_the_gateway_works_behind_pgbouncer_in_transaction_mode(
    bounced: Services, server_socket: socket.socket
) -> None:
    merchant = await make_merchant(bounced)
    async with serving(bounced, server_socket) as live, v1_client(live, merchant) as api:
        paid = await asyncio.gather(
            *(api.post("/subscribe/payments/onetime", json=onetime(f"pgb-{i}")) for i in range(8))
        )
        assert [p.json()["response"]["status"] for p in paid] == ["paid"] * 8, [p.text for p in paid]
        for _ in range(3):  # the same statements again, on whichever server connection comes
            imp_uid = paid[0].json()["response"]["imp_uid"]
            found = await api.get(f"/payments/{imp_uid}")
            assert found.json()["response"]["merchant_uid"] == "pgb-0"
        cancelled = await api.post("/payments/cancel", json={"merchant_uid": "pgb-1", "amount": 5000})
        assert cancelled.json()["response"]["cancel_amount"] == 5000, cancelled.text
        listed = await api.get("/payments/status/paid")
        assert listed.json()["response"]["total"] == 8
    async with bounced.sessions() as session:  # the server really is PgBouncer's
        assert await session.scalar(text("SELECT count(*) FROM payments")) == 8


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_statement_cache_behind_pgbouncer_breaks_which_is_why_it_can_be_turned_off(
    database_url: str, settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    """The control: the same pool with asyncpg's cache on fails once statements meet a server
    connection that lacks them, so the test above would see it if the setting did nothing."""
    with pgbouncer(database_url, tmp_path / "pgbouncer", server_pool=2) as port:
        cached = settings.model_copy(update={"database_url": through(database_url, port), "db_pool_size": 4})
        services = build_services(cached, clock)
        try:

            async def lookups() -> None:
                for _ in range(20):
                    async with services.sessions.statements() as conn:
                        await conn.execute(text("SELECT count(*) FROM merchants WHERE id > :n"), {"n": 0})

            outcomes = await asyncio.gather(*(lookups() for _ in range(4)), return_exceptions=True)
            errors = [str(o) for o in outcomes if isinstance(o, Exception)]
            assert any("prepared statement" in e for e in errors), errors
        finally:
            await services.close()
