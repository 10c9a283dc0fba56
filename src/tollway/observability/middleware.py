"""Per request: the request id, the request metrics and the access log line, in one ASGI middleware.

The access log is this one place (uvicorn's own is turned off by ``logs.configure``). It names the
*route template* (``/payments/{imp_uid}``, ``/sandbox/toss/_sandbox/window/{token}``), never the
raw path or the query string: paths carry imp_uids, tokens and billing keys, and queries carry
``_token`` or buyer fields. Only an unmatched path is logged as sent, without its query, masked
by ``logsafety`` and cut short.
"""

from __future__ import annotations

import time

import structlog
from starlette.datastructures import MutableHeaders
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tollway import logsafety
from tollway.observability.logs import accept_request_id, bound
from tollway.observability.metrics import HTTP_REQUESTS, UNMATCHED

log = structlog.get_logger("tollway.access")

REQUEST_ID_HEADER = "X-Request-Id"


def route_template(scope: Scope) -> str:
    """The template of the route that served ``scope``, with the prefix of any mount it is under."""
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    prefix = str(scope.get("root_path", ""))[len(str(scope.get("app_root_path", ""))) :]
    if isinstance(route, Mount):
        return f"{prefix}/{{path}}"  # a mount's own prefix is already in root_path
    return prefix + str(getattr(route, "path", "")) if hasattr(route, "path") else UNMATCHED


def access_path(scope: Scope, template: str) -> str:
    """What the access log shows for the path: the template, or the unmatched path, masked."""
    if template != UNMATCHED:
        return template
    return logsafety.redact(str(scope.get("path", "")))[:200]


class Observe:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                sent = value.decode("latin-1")
                break
        request_id = accept_request_id(sent)
        status = 500  # what the client gets if the app raises before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        started = time.perf_counter()
        with bound(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                template = route_template(scope)
                method = str(scope.get("method", ""))
                HTTP_REQUESTS.labels(template, method, str(status)).observe(elapsed)
                log.info(
                    "request",
                    method=method,
                    path=access_path(scope, template),
                    status=status,
                    ms=round(elapsed * 1000, 1),
                )
