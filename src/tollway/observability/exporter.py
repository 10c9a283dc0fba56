"""``TOLLWAY_METRICS=host:port``: ``/metrics`` (and ``/healthz``) on a listener of their own.

It runs in the process's event loop beside the gateway (``tollway serve``) or the worker
(``tollway worker``, which has no other listener), so the scrape reads the database with the
process's own pool. Bind it to a private address: it has no authentication.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tollway.services import Services


def parse_listen(value: str) -> tuple[str, int]:
    """``"127.0.0.1:9100"`` or ``":9100"`` (all addresses) or ``"9100"`` (loopback)."""
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", value
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"TOLLWAY_METRICS must be host:port, not {value!r}") from None
    if not 0 < number < 65536:
        raise ValueError(f"TOLLWAY_METRICS: no such port {number}")
    return host.strip("[]") or "0.0.0.0", number  # noqa: S104 - ":9100" asks for every address


class _Server(uvicorn.Server):
    """A uvicorn server that leaves the process's signals alone: the process's main server or
    the worker owns SIGTERM and stops this one itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def metrics_app(services: Services) -> Starlette:
    from tollway.observability.routes import scrape

    async def metrics(_: Request) -> Response:
        body, content_type = await scrape(services)
        return Response(body, media_type=content_type)

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/metrics", metrics), Route("/healthz", healthz)])


@contextlib.asynccontextmanager
async def listening(services: Services) -> AsyncIterator[str | None]:
    """Serves the metrics listener for the duration of the block when ``TOLLWAY_METRICS`` is set;
    yields its base URL (``None`` when it is off)."""
    listen = services.settings.metrics
    if not listen:
        yield None
        return
    host, port = parse_listen(listen)
    config = uvicorn.Config(
        metrics_app(services), host=host, port=port, lifespan="off", log_config=None, access_log=False
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    if task.done():  # the port is taken, or the address is wrong: say so, do not run blind
        with contextlib.suppress(BaseException):  # uvicorn exits (SystemExit) when it cannot bind
            task.result()
        raise OSError(f"the metrics listener could not start on {listen}")
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
