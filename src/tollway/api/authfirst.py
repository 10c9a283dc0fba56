"""Authentication before routing, as i'mport does it: under every V1 path prefix a call without a
valid token gets the 401 envelope, even where no route exists (clients probing an endpoint learn
nothing without a token) and before any parameter is looked at.

The check is the routes' own dependency (``api.deps.current_principal``: the token, the
``Tier`` header), called as it is; the principal it returns is left in the ASGI scope, where the
routes' dependency finds it instead of checking the same token a second time.
"""

from __future__ import annotations

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tollway.api.deps import PRINCIPAL_KEY, current_principal
from tollway.api.envelope import render_error
from tollway.errors import TollwayError

#: The first path segments of i'mport's V1 REST API (every one its official document names)
V1_PREFIXES = frozenset(
    {
        "banks",
        "benepia",
        "cards",
        "certifications",
        "cvs",
        "escrows",
        "kcpquick",
        "naver",
        "partners",
        "payco",
        "payments",
        "paymentwall",
        "receipts",
        "subscribe",
        "tiers",
        "users",
        "vbanks",
    }
)
#: The one V1 call made without a token
OPEN_PATHS = frozenset({"/users/getToken"})


def needs_token(path: str) -> bool:
    first = path.lstrip("/").split("/", 1)[0]
    return first in V1_PREFIXES and path not in OPEN_PATHS


class AuthenticateFirst:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") != "OPTIONS" and needs_token(scope["path"]):
            request = Request(scope)
            try:
                principal = await current_principal(request)
            except TollwayError as exc:
                response = await render_error(request, exc)
                await response(scope, receive, send)
                return
            scope[PRINCIPAL_KEY] = principal
        await self.app(scope, receive, send)
