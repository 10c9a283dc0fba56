"""One app fixture for SQLite and PostgreSQL alike.

Every test that asks for ``services`` (or anything built on it) runs twice: on a SQLite file and
on a real PostgreSQL database. Migrations run once per session (a migrated SQLite template is
copied per test; PostgreSQL tables are truncated between tests).

PostgreSQL comes from ``TOLLWAY_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``).
When it cannot be reached the PostgreSQL half is skipped locally, and fails under ``CI=true``.

The suite runs in parallel (``./dev test`` passes ``-n``; pytest-xdist): each test process makes
its own database (``tollway_test_<pid>``) and keeps few connections (``TEST_POOL_SIZE`` pooled, plus
one short-lived admin or truncate connection at a time), so it also passes on a 100-connection
cluster shared with other work (the arithmetic is in ``docs/operating.md``). A test that fails
because the cluster is full says so in one line instead of a stack of ``TooManyConnectionsError``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import os
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from sqlalchemy import text

from tests.browser import launch_browser
from tollway.app import create_app
from tollway.clock import ManualClock
from tollway.config import Settings
from tollway.db import migrate
from tollway.db.models import Base, Merchant
from tollway.merchants.service import add_channel, create_merchant
from tollway.services import Services
from tollway.vault import Secret

TEST_MASTER_KEY = base64.b64encode(b"k" * 32).decode()
ADMIN_PG_URL = os.environ.get("TOLLWAY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
#: The services' pool in a test process (``TOLLWAY_DB_POOL_SIZE``). Tests queue for connections
#: like production requests do; they never need one per concurrent request.
TEST_POOL_SIZE = 4


def pytest_collection_finish(session: pytest.Session) -> None:
    """What imports and collection built lives for the whole run: kept out of the collector's full
    passes, which scanned it all again every few seconds."""
    del session
    gc.freeze()


def _too_many_connections(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what it wraps: SQLAlchemy keeps the driver's error as ``orig`` and
    ``__cause__``) is PostgreSQL refusing a connection because every slot is taken."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, asyncpg.TooManyConnectionsError):
            return True
        orig = getattr(exc, "orig", None)
        if isinstance(orig, BaseException) and _too_many_connections(orig):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


FULL_CLUSTER = (
    "PostgreSQL at {url} has no free connection slot (max_connections reached by other clients): "
    "free some, or run fewer test processes (./dev test -n 2)"
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """One clear line instead of a stack of ``TooManyConnectionsError`` when the cluster is full."""
    del item
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed and call.excinfo is not None and _too_many_connections(call.excinfo.value):
        report.longrepr = FULL_CLUSTER.format(url=ADMIN_PG_URL)


def _pg_database_url(name: str) -> str:
    base, _, _ = ADMIN_PG_URL.rpartition("/")
    return f"{base}/{name}"


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_PG_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(migrate.upgrade(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"tollway_test_{os.getpid()}"
    try:
        asyncio.run(_pg_admin(f"DROP DATABASE IF EXISTS {name}"))
        asyncio.run(_pg_admin(f"CREATE DATABASE {name}"))
    except asyncpg.TooManyConnectionsError:
        pytest.fail(FULL_CLUSTER.format(url=ADMIN_PG_URL), pytrace=False)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        message = f"PostgreSQL is not reachable at {ADMIN_PG_URL}: {exc}"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    url = _pg_database_url(name)
    asyncio.run(migrate.upgrade(url))
    yield url
    asyncio.run(_pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "tollway.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    asyncio.run(_truncate(url, tables))
    return url


async def _truncate(url: str, tables: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def server_socket() -> Iterator[socket.socket]:
    """A listening loopback socket for the ``live`` gateway; its port is known before the app is built."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    yield sock
    sock.close()


#: PG timings shrunk for tests: the ``hang`` card outlasts the read timeout, the ``slow`` one does not.
#: The read timeout leaves room for the test process's own pauses: by the end of the suite a full
#: garbage collection took up to 1.2 s, and a 1 s read timeout lapsed inside one (a flaky failure).
PG_READ_TIMEOUT = 2.5
SANDBOX_SLOW = 0.2
SANDBOX_HANG = 4.0


@pytest.fixture
def settings(database_url: str, tmp_path: Path, server_socket: socket.socket) -> Settings:
    port = server_socket.getsockname()[1]
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        master_key=TEST_MASTER_KEY,
        port=port,
        db_pool_size=TEST_POOL_SIZE,
        sandbox_url=f"http://127.0.0.1:{port}/sandbox/toss",
        pg_read_timeout=PG_READ_TIMEOUT,
        sandbox_slow_seconds=SANDBOX_SLOW,
        sandbox_hang_seconds=SANDBOX_HANG,
        reconcile_interval_seconds=0,
    )


@pytest.fixture
async def services(settings: Settings, clock: ManualClock) -> AsyncIterator[Services]:
    from tollway.app import build_services

    built = build_services(settings, clock)
    await built.start()
    yield built
    await built.close()


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services=services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tollway.test") as http:
        yield http


@contextlib.asynccontextmanager
async def serving(services: Services, sock: socket.socket) -> AsyncIterator[str]:
    """Serves the gateway app on ``sock`` in this event loop; yields its base URL."""
    async with serving_app(create_app(services=services), sock) as url:
        yield url


@contextlib.asynccontextmanager
async def serving_app(app: Any, sock: socket.socket) -> AsyncIterator[str]:
    """Serves any ASGI app on ``sock`` in this event loop; yields its base URL."""
    config = uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "the test server did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=15)


@pytest.fixture
async def live(services: Services, server_socket: socket.socket) -> AsyncIterator[str]:
    """The gateway (with its sandbox PG) served over real HTTP on loopback; yields its base URL.

    Connectors reach the sandbox through this server, so every PG call in a test that uses it
    crosses a real socket.
    """
    async with serving(services, server_socket) as url:
        yield url


@dataclass(frozen=True)
class MerchantFixture:
    id: int
    user_code: str
    imp_key: str
    imp_secret: str
    channel_id: int


async def make_merchant(services: Services, name: str = "Shop", mid: str = "tosstest") -> MerchantFixture:
    """A merchant with one REST key pair and one sandbox channel (MID ``mid``, keys ``test_*_{mid}``)."""
    async with services.sessions() as session:
        new = await create_merchant(session, services.clock, services.vault, name)
        channel = await add_channel(
            session,
            services.clock,
            services.vault,
            new.merchant,
            pg_provider="tosspayments",
            mid=mid,
            client_key=f"test_ck_{mid}",
            secret_key=Secret(f"test_sk_{mid}"),
            sandbox=True,
        )
        await session.commit()
        return MerchantFixture(
            new.merchant.id, new.merchant.user_code, new.key_pair.imp_key, new.key_pair.imp_secret.reveal(), channel.id
        )


async def add_live_channel(services: Services, merchant_id: int, mid: str) -> None:
    """A live Toss channel (keys ``live_*_{mid}``) beside the merchant's others. Nothing reaches
    Toss: tests use it for what a live channel changes on the gateway's side."""
    async with services.sessions() as session:
        owner = await session.get(Merchant, merchant_id)
        assert owner is not None
        await add_channel(
            session,
            services.clock,
            services.vault,
            owner,
            pg_provider="tosspayments",
            mid=mid,
            client_key=f"live_ck_{mid}",
            secret_key=Secret(f"live_sk_{mid}"),
            sandbox=False,
        )
        await session.commit()


@pytest.fixture
async def merchant(services: Services) -> MerchantFixture:
    return await make_merchant(services)


async def token_for(client: httpx.AsyncClient, m: MerchantFixture) -> str:
    answer = await client.post("/users/getToken", json={"imp_key": m.imp_key, "imp_secret": m.imp_secret})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["response"]["access_token"]
    return token


@pytest.fixture
async def auth(client: httpx.AsyncClient, merchant: MerchantFixture) -> dict[str, str]:
    return {"Authorization": await token_for(client, merchant)}


async def count_rows(services: Services, table: str) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium through Playwright (``tests/browser.py``)."""
    async for launched in launch_browser():
        yield launched
