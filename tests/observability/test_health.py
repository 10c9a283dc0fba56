"""``/healthz``, ``/readyz`` (and the database going away and coming back), and the landing page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text

from tests.observability.tcp_proxy import Relay
from tollway.app import build_services, create_app
from tollway.clock import ManualClock
from tollway.config import Settings


async def test_healthz_answers_while_the_process_lives(client: httpx.AsyncClient) -> None:
    answer = await client.get("/healthz")
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


async def test_readyz_checks_the_database_the_migrations_and_the_vault(client: httpx.AsyncClient) -> None:
    answer = await client.get("/readyz")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok", "vault": "ok"}}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_readyz_refuses_a_database_behind_on_its_migrations(client: httpx.AsyncClient, database_url: str) -> None:
    import sqlite3

    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE alembic_version SET version_num = '0001'")
    answer = await client.get("/readyz")
    assert answer.status_code == 503 and answer.json()["checks"]["migrations"].startswith("at 0001, needs ")


@pytest.fixture
async def relay(database_url: str) -> AsyncIterator[Relay]:
    target = urlsplit(database_url)
    proxy = Relay(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    yield proxy
    await proxy.stop()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_readyz_fails_while_the_database_is_down_and_recovers_with_it(
    database_url: str, relay: Relay, settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    parts = urlsplit(database_url)
    via_relay = parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{relay.port}").geturl()
    services = build_services(settings.model_copy(update={"database_url": via_relay}), clock)
    await services.start()
    app = create_app(services=services)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            assert (await client.get("/readyz")).status_code == 200

            await relay.stop()  # the database goes away, open connections included
            down = await client.get("/readyz")
            assert down.status_code == 503, down.text
            assert down.json()["checks"]["database"].startswith("unreachable")
            assert (await client.get("/healthz")).status_code == 200  # alive, just not ready
            services.settings.metrics_token = "t"
            scraped = await client.get("/metrics", headers={"Authorization": "Bearer t"})
            assert scraped.status_code == 200  # the process's own series, without the database's
            assert "tollway_http_request_duration_seconds" in scraped.text
            assert "tollway_pg_calls_pending" not in scraped.text

            await relay.start()  # back, on the same port
            for _ in range(20):  # the pool drops the connections that died, then reconnects
                up = await client.get("/readyz")
                if up.status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert up.status_code == 200, up.text
            async with services.sessions() as session:
                assert await session.scalar(text("SELECT 1")) == 1
    finally:
        await services.close()


async def test_the_landing_page_links_the_first_things_to_open(client: httpx.AsyncClient, services: object) -> None:
    answer = await client.get("/")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = answer.text
    for link in ('href="/demo"', 'href="/console"', 'href="/docs"', "/v1/iamport.js"):
        assert link in page, link
    assert "<script" not in page  # no inline script: the page works under a strict CSP
