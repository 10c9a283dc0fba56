"""Browser tests: Debian's Chromium driven by Playwright, a shop on another origin, the gateway live.

The shop (``http://localhost:<port>``) and the gateway (``http://127.0.0.1:<port>``) differ in host
and port, so every test crosses origins as a merchant's real page does.
"""

from __future__ import annotations

import html
import json
import socket
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.browser import SCREENSHOTS  # noqa: F401 - re-exported for the screenshot tests
from tests.conftest import serving_app

SHOP_PAGE = """<!doctype html><html lang=ko><head><meta charset=utf-8><title>Test shop</title></head>
<body><h1>Test shop</h1><pre id="out"></pre>
<script src="{gateway}/v1/iamport.js"></script>
<script>
  IMP.init({user_code});
  window.pay = function (params) {{
    return new Promise(function (resolve) {{ IMP.request_pay(params, resolve); }});
  }};
</script></body></html>"""


async def shop_page(request: Request) -> HTMLResponse:
    gateway = request.query_params["gateway"]
    user_code = request.query_params["user_code"]
    return HTMLResponse(SHOP_PAGE.format(gateway=html.escape(gateway), user_code=json.dumps(user_code)))


async def complete_page(request: Request) -> HTMLResponse:
    rows = "".join(
        f'<dt>{html.escape(k)}</dt><dd id="{html.escape(k)}">{html.escape(v)}</dd>'
        for k, v in request.query_params.items()
    )
    return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>Complete</title><dl>{rows}</dl>")


@pytest.fixture
async def shop() -> AsyncIterator[str]:
    """A merchant's site on its own origin: ``/pay`` loads the SDK, ``/complete`` is m_redirect_url."""
    app = Starlette(routes=[Route("/pay", shop_page), Route("/complete", complete_page)])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        async with serving_app(app, sock):
            yield f"http://localhost:{sock.getsockname()[1]}"
    finally:
        sock.close()
