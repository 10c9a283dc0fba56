"""The composition root: ``create_app(settings)`` builds every service once and wires the routes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, Response
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from tollway import __version__, console, demo, logsafety
from tollway import http as outgoing
from tollway.api import openapi
from tollway.api.authfirst import AuthenticateFirst
from tollway.api.deps import PRINCIPAL_KEY
from tollway.api.envelope import install_error_handlers, ok
from tollway.api.headers import SecurityHeaders
from tollway.api.paths import NormalizePath
from tollway.api.routes import (
    billing,
    checkout,
    codes,
    payments,
    receipts,
    subscribe,
    unsupported,
    users,
    vbanks,
    webhooks,
)
from tollway.api.throttle import AuthThrottle, ShedBlockedSignIns
from tollway.billing.worker import Worker
from tollway.checkout.flow import expire_periodically
from tollway.clock import Clock, SystemClock
from tollway.config import Settings
from tollway.db.driver import Driver, split_pool
from tollway.db.engine import create_engine, is_sqlite, sessionmaker
from tollway.files import private_dir
from tollway.hotroutes import NO_TELEMETRY, HotRoutes
from tollway.merchants.tokens import TokenService
from tollway.observability import exporter
from tollway.observability import routes as observability
from tollway.observability.metrics import DB_POOL_SIZE
from tollway.observability.middleware import Observe
from tollway.payments.reconcile import run_periodically
from tollway.payments.stats import run_periodically as roll_up_stats
from tollway.pg.registry import ConnectorRegistry
from tollway.sandbox.app import Sandbox, SandboxConfig, create_sandbox_app
from tollway.services import Services
from tollway.vault import Vault, load_master_key
from tollway.vault.keyring import Keyring
from tollway.webhooks.delivery import run_periodically as deliver_webhooks

DESCRIPTION = """\
Tollway speaks the i'mport (PortOne V1) REST contract: the same paths, parameters (JSON or form),
envelope `{code, message, response}`, status codes and field names. Point an i'mport client at this
gateway's base URL and it works unchanged.

Authenticate with `POST /users/getToken`, then send the token as `Authorization: <token>`,
`Authorization: Bearer <token>` or `X-ImpTokenHeader: <token>`.
"""

DOCS_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Tollway API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"><link rel="icon" href="/docs/static/favicon-32x32.png">
</head><body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script><script src="/docs/init.js"></script></body></html>"""
DOCS_INIT = """window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", layout: "BaseLayout",
  deepLinking: true, showExtensions: true, showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]});"""


#: how often ``tollway serve`` rolls up the console's daily statistics (closed KST days)
ROLLUP_SECONDS = 600.0
#: served by ``HotRoutes`` when called plainly (docs/benchmarks.md: lookups, tokens, key-in and again)
HOT_ENDPOINTS = (payments.one, users.get_token, subscribe.onetime, billing.again)

SWAGGER_UI = Path(__file__).parent / "api" / "static" / "swagger-ui"


def new_worker(services: Services) -> Worker:
    s = services.settings
    return Worker(services, concurrency=s.worker_concurrency, lease=timedelta(seconds=s.worker_lease_seconds))


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    url = settings.resolved_database_url()
    if settings.data_dir.exists() or (is_sqlite(url) and not settings.database_url):
        private_dir(settings.data_dir)  # the database, the master key and the demo's pair live here
    # TOLLWAY_DB_POOL_SIZE stays the most connections a process opens: shared by the engine and the driver
    engine_pool, driver_pool = split_pool(settings.db_pool_size)
    engine = create_engine(url, pool_size=engine_pool, statement_cache=settings.db_statement_cache)
    DB_POOL_SIZE.set(settings.db_pool_size)
    sessions = sessionmaker(engine, autocommit=settings.db_statement_cache)  # no cache: PgBouncer
    key = load_master_key(settings.master_key, settings.resolved_master_key_file(), create=is_sqlite(url))
    vault = Vault(key)
    keyring = Keyring(vault, sessions, clock)
    http = outgoing.client(max_connections=200)
    db = Driver(url, size=driver_pool, statement_cache=settings.db_statement_cache)
    return Services(
        settings=settings,
        clock=clock,
        engine=engine,
        sessions=sessions,
        db=db,
        vault=vault,
        keyring=keyring,
        tokens=TokenService(sessions, keyring, clock, db),
        throttle=AuthThrottle(
            sessions,
            clock,
            burst=settings.auth_burst,
            window=settings.auth_window_seconds,
            lockout=settings.auth_lockout_seconds,
            # a flood of sign-ins may use at most half the pool: lookups keep the rest
            concurrency=settings.auth_concurrency or max(1, settings.db_pool_size // 2),
            hold=settings.auth_refusal_hold_seconds,
        ),
        http=http,
        pg=ConnectorRegistry(settings, keyring, http),
        sandbox=Sandbox(
            sessions,
            clock,
            SandboxConfig(
                slow_seconds=settings.sandbox_slow_seconds,
                hang_seconds=settings.sandbox_hang_seconds,
                charge_latency_seconds=settings.sandbox_charge_latency_seconds,
            ),
            db,
        ),
    )


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    logsafety.install()  # before uvicorn logs a single sandbox billing path
    services = services or build_services(settings or Settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await services.start()
        metrics_listener = exporter.listening(services)
        await metrics_listener.__aenter__()
        interval = services.settings.reconcile_interval_seconds
        # Every background loop stops on this, after the round it is in: none is cancelled
        # mid-write (a roll-up cancelled mid-transaction once left SQLite's write lock with a
        # connection nobody returned, and the drain's own writes waited 30 s for it).
        stopping = asyncio.Event()
        loops: list[asyncio.Task[Any] | None] = [
            asyncio.create_task(run_periodically(services, interval, stopping)) if interval > 0 else None,
            asyncio.create_task(expire_periodically(services, interval, stopping)) if interval > 0 else None,
            asyncio.create_task(deliver_webhooks(services, stop=stopping))
            if services.settings.webhooks_enabled
            else None,
        ]
        worker = new_worker(services) if services.settings.worker_enabled else None
        if worker is not None:
            loops += [
                asyncio.create_task(worker.run()),
                asyncio.create_task(roll_up_stats(services, ROLLUP_SECONDS, stopping)),
            ]
        yield
        # Drain (SIGTERM; uvicorn has already stopped taking requests and finished those in flight):
        # no new claims; the charges and deliveries in flight finish; leases are handed back.
        stopping.set()
        if worker is not None:
            worker.stop()  # finishes what it claimed
        await asyncio.gather(*(t for t in loops if t is not None))
        await metrics_listener.__aexit__(None, None, None)
        await services.close()

    app = FastAPI(
        title="Tollway",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        # Tollway exports Prometheus metrics and its own access log; FastAPI's OpenTelemetry hooks
        # only looked up the (absent) providers on every request (docs/benchmarks.md)
        telemetry=NO_TELEMETRY,
    )
    app.state.services = services
    install_error_handlers(app)
    app.include_router(users.router)
    app.include_router(payments.router)
    app.include_router(codes.router)
    app.include_router(subscribe.router)
    app.include_router(billing.router)
    app.include_router(vbanks.router)
    app.include_router(receipts.router)
    app.include_router(unsupported.router)
    app.include_router(webhooks.router)
    app.include_router(checkout.router)
    app.include_router(demo.router)
    app.include_router(observability.router)
    console.install(app)
    if services.settings.sandbox_enabled:
        app.mount("/sandbox/toss", create_sandbox_app(services.sandbox))
    # Swagger UI 5 (it reads OpenAPI 3.1), vendored: nothing is fetched from a CDN
    app.mount("/docs/static", StaticFiles(directory=SWAGGER_UI), name="docs-static")
    openapi.install(app)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE)  # Swagger UI, started by a file: no inline script (CSP)

    @app.get("/docs/init.js", include_in_schema=False)
    async def docs_init() -> Response:
        return Response(DOCS_INIT, media_type="text/javascript; charset=utf-8")

    @app.get("/health", include_in_schema=False)
    async def health() -> Response:
        return ok({"status": "ok", "version": __version__})

    # innermost: the hottest calls skip FastAPI's routing and dependencies (hotroutes.py)
    app.add_middleware(HotRoutes, fastapi=app, endpoints=HOT_ENDPOINTS, from_scope={"principal": PRINCIPAL_KEY})
    app.add_middleware(AuthenticateFirst)  # inside Observe: a refused call is measured too
    app.add_middleware(Observe)  # inside NormalizePath: it sees the path the routes see
    app.add_middleware(ShedBlockedSignIns)  # a blocked address's getToken flood stops here, cheaply
    app.add_middleware(NormalizePath)
    app.add_middleware(SecurityHeaders)  # outermost: every response, mounted apps' too
    if services.settings.forwarded_allow_ips:  # outermost: every route and log sees the real client
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=services.settings.forwarded_allow_ips)
    return app


def create_sandbox_only_app(settings: Settings) -> FastAPI:
    """The sandbox PG alone (``tollway sandbox serve``), at the same ``/sandbox/toss`` paths."""
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await services.close()

    app = FastAPI(
        title="Tollway Toss sandbox",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        telemetry=NO_TELEMETRY,
    )
    app.state.services = services
    app.mount("/sandbox/toss", create_sandbox_app(services.sandbox))

    @app.get("/health", include_in_schema=False)
    async def health() -> Response:
        return ok({"status": "ok", "version": __version__})

    return app
