"""Security headers on everything Tollway serves (docs/security.md, "Browser headers").

Every response gets ``X-Content-Type-Options: nosniff`` and a ``Referrer-Policy``. Every HTML page
gets a Content-Security-Policy: ``PAGE`` unless its route chose one (the payment window's, built by
``window_policy``: it loads the PG's scripts and may be framed by the merchant's allowed origins;
every other page may be framed by nobody). Scripts run only from files (no inline script anywhere);
inline *styles* are allowed, since they cannot run code and several pages carry a small
``<style>``.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "content-security-policy"
#: every PG the window hands off to: Toss's SDK and the windows it opens
PG_SOURCES = ("https://*.tosspayments.com", "https://*.toss.im")
PAGE = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
REFERRER = "strict-origin-when-cross-origin"
#: the embedded sandbox PG's window: a PG's page, shown inside the payment window (itself framed by
#: the merchant's page), so any site may frame it, as Toss's own window
PG_WINDOW_PREFIX = "/sandbox/toss/_sandbox/window"


def window_policy(frame_ancestors: Iterable[str], extra_sources: Iterable[str] = (), *, forms: bool = True) -> str:
    """The CSP of a payment-window page: the PG's scripts, frames and calls, and framing by the
    merchant's allowed origins (any site while it has none: the PC window is an iframe on the
    merchant's page). ``forms=False`` for the PG's own window, whose form's answer redirects on to
    the merchant's ``m_redirect_url`` (``form-action`` governs every redirect after a submit)."""
    sources = " ".join(("'self'", *PG_SOURCES, *extra_sources))
    ancestors = " ".join(frame_ancestors) or "*"
    form_action = f" form-action {sources};" if forms else ""
    return (
        f"default-src 'self'; script-src {sources}; style-src {sources} 'unsafe-inline'; "
        f"img-src {sources} data:; connect-src {sources}; frame-src {sources};{form_action} "
        f"object-src 'none'; base-uri 'none'; frame-ancestors {ancestors}"
    )


#: the sandbox PG window's policy: the same for every request, so made once
PG_WINDOW_PAGE = window_policy((), forms=False)


class SecurityHeaders:
    """A pure ASGI middleware (it wraps mounted apps too: the sandbox's window, static files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", REFERRER)
                if headers.get("content-type", "").startswith("text/html"):
                    framed = scope["path"].startswith(PG_WINDOW_PREFIX)
                    headers.setdefault("Content-Security-Policy", PG_WINDOW_PAGE if framed else PAGE)
                    if "frame-ancestors 'none'" in headers[CSP]:
                        headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)
