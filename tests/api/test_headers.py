"""Security headers on every route Tollway serves (issue 13, item 8).

The routes are enumerated from the app itself (routers, mounted apps), so a page added later is
requested here too, and fails if it goes without a CSP. Each route is fetched as the browser that
reaches it would: the console signed in, the window with a real token.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from starlette.routing import Mount

from tests.conftest import MerchantFixture, token_for
from tests.console.conftest import PASSWORD, Console, add_user
from tollway.api.headers import PAGE
from tollway.app import create_app
from tollway.bootstrap import ensure_demo_merchant
from tollway.merchants.origins import add_origins
from tollway.services import Services

SHOP = "https://shop.example"
#: a value for each path parameter; a route with a parameter not named here fails the test
VALUES = {
    "payment_status": "paid",
    "merchant_uid": "m-1",
    "customer_uid": "c-1",
    "card_standard_code": "361",
    "bank_standard_code": "004",
    "tier_code": "T01",
    "payment_key": "pk-1",
    "order_id": "o-1",
    "receipt_key": "rk-1",
    "rest": "nothing-here",
}
#: pages that must answer HTML (so the test is never vacuous)
PAGES = {"/", "/docs", "/demo", "/console/sign-in", "/checkout/{token}", "/console/m/{user_code}/access"}


def get_routes(app: Any) -> list[str]:
    found: list[str] = []

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI's included router
                walk(route.original_router.routes, prefix)
            elif isinstance(route, Mount):
                if hasattr(route.app, "routes"):
                    walk(route.app.routes, prefix + route.path)
                else:  # static files: one real file stands for the mount
                    found.append(prefix + route.path + "/")
            elif "GET" in (getattr(route, "methods", None) or ()):
                found.append(prefix + route.path)

    walk(app.routes, "")
    return found


def _ancestors(csp: str) -> str:
    match = re.search(r"frame-ancestors ([^;]+)", csp)
    assert match, csp
    return match.group(1)


async def test_every_route_sends_the_security_headers(services: Services, merchant: MerchantFixture) -> None:
    await ensure_demo_merchant(services)  # /demo needs the demo merchant (sandbox-only: it exists)
    app = create_app(services=services)
    static_files = {"/console/static/": "console.css", "/docs/static/": "swagger-ui.css"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tollway.test") as http:
        session = await http.post(
            "/checkout/sessions",
            json={"user_code": merchant.user_code, "params": {"merchant_uid": "h-1", "amount": 1000}},
            headers={"Origin": SHOP},
        )
        values = {
            **VALUES,
            "token": session.json()["response"]["checkout_url"].rsplit("/", 1)[1],
            "imp_uid": session.json()["response"]["imp_uid"],
            "user_code": merchant.user_code,
        }
        auth = {"Authorization": await token_for(http, merchant)}
        await add_user(services, merchant.id, "owner", "owner@headers.test")
        console = Console(http)
        assert (await console.sign_in("owner@headers.test", password=PASSWORD)).status_code == 303
        seen_html: set[str] = set()
        for route in get_routes(app):
            path = route + static_files.get(route, "")
            for name in re.findall(r"\{(\w+)(?::\w+)?\}", route):
                assert name in values, f"{route}: add a value for {{{name}}} to VALUES"
                path = re.sub(r"\{" + name + r"(?::\w+)?\}", values[name], path)
            answer = await http.get(path, headers=auth)  # a token: the API routes answer, not the throttle
            assert answer.headers.get("x-content-type-options") == "nosniff", route
            assert answer.headers.get("referrer-policy"), route
            if not answer.headers.get("content-type", "").startswith("text/html"):
                continue
            seen_html.add(route)
            csp = answer.headers.get("content-security-policy", "")
            assert "script-src" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0], route
            assert "object-src 'none'" in csp and "base-uri 'none'" in csp, route
            assert "<script>" not in answer.text, f"{route} has an inline script the CSP would block"
            window = route.startswith("/checkout/{token}") or route == "/sandbox/toss/_sandbox/window"
            assert _ancestors(csp) == ("*" if window else "'none'"), (route, csp)
    assert seen_html >= PAGES, PAGES - seen_html


async def test_the_window_may_be_framed_only_by_the_merchants_allowed_origins(
    client: httpx.AsyncClient, services: Services, merchant: MerchantFixture
) -> None:
    async with services.sessions() as session:
        await add_origins(session, services.clock, merchant.id, [SHOP, "https://m.shop.example"])
        await session.commit()
    opened = await client.post(
        "/checkout/sessions",
        json={"user_code": merchant.user_code, "params": {"merchant_uid": "h-2", "amount": 1000}},
        headers={"Origin": SHOP},
    )
    url = opened.json()["response"]["checkout_url"]
    for page in (url, f"{url}/fail"):
        csp = (await client.get(page)).headers["content-security-policy"]
        assert _ancestors(csp) == "https://m.shop.example https://shop.example"
        assert "https://*.tosspayments.com" in csp.split("script-src")[1].split(";")[0]


async def test_pages_outside_the_window_are_never_framed(client: httpx.AsyncClient, services: Services) -> None:
    answer = await client.get("/")
    assert answer.headers["content-security-policy"] == PAGE and answer.headers["x-frame-options"] == "DENY"
