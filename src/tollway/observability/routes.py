"""``/healthz``, ``/readyz``, ``/metrics`` and the landing page ``/``.

``/metrics`` is not on the public listener unless ``TOLLWAY_METRICS_TOKEN`` is set, and then only
with ``Authorization: Bearer <token>``; otherwise it answers 404 like any unknown path. The usual
way is a listener of its own on a private address (``TOLLWAY_METRICS=127.0.0.1:9100``,
``observability.exporter``), which ``tollway worker`` can open too.
"""

from __future__ import annotations

import contextlib
import hmac
from html import escape

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, JSONResponse, Response

from tollway import __version__
from tollway.observability import metrics, probes
from tollway.services import Services

router = APIRouter(include_in_schema=False)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def scrape(services: Services) -> tuple[bytes, str]:
    """The exposition text: the recorded series, then the database's gauges read now."""
    extra = []
    with contextlib.suppress(Exception):  # a database that is down must not hide the process's own series
        extra.append(probes.SnapshotCollector(await probes.snapshot(services)))
    return metrics.render(extra)


@router.get("/healthz")
async def healthz() -> JSONResponse:
    """The process is alive and answering (a liveness probe: restart it when this fails)."""
    return JSONResponse({"status": "ok", "version": __version__})


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready for traffic: database reachable, migrations current, vault unsealed; else 503."""
    ready = await probes.readiness(_services(request))
    return JSONResponse(
        {"status": "ready" if ready.ok else "unready", "checks": ready.checks}, 200 if ready.ok else 503
    )


@router.get("/metrics")
async def metrics_endpoint(request: Request) -> Response:
    services = _services(request)
    token = services.settings.metrics_token
    sent = request.headers.get("authorization", "")
    if not token or not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        raise HTTPException(404)
    body, content_type = await scrape(services)
    return Response(body, media_type=content_type)


LANDING = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tollway</title></head>
<body>
<main>
<h1>Tollway {version}</h1>
<p>An i'mport (PortOne V1) compatible payment gateway, with Toss Payments as its PG.</p>
<ul>
<li><a href="/demo">The demo shop</a>: pay, subscribe and cancel through the SDK, on the sandbox PG.</li>
<li><a href="/console">The console</a>: payments, billing, webhooks, PG settings and keys.</li>
<li><a href="/docs">The API docs</a> (OpenAPI: <a href="/openapi.json">/openapi.json</a>).</li>
<li>The browser SDK: <code>&lt;script src="{sdk}"&gt;&lt;/script&gt;</code>
(in place of <code>https://cdn.iamport.kr/v1/iamport.js</code>).</li>
<li>The REST API: <code>POST {base}/users/getToken</code>, then as with i'mport.</li>
</ul>
</main>
</body>
</html>
"""


@router.get("/")
async def landing(request: Request) -> HTMLResponse:
    base = _services(request).settings.resolved_public_url()
    page = LANDING.format(version=escape(__version__), sdk=escape(f"{base}/v1/iamport.js"), base=escape(base))
    return HTMLResponse(page)
