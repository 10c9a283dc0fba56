"""The demo shop at ``/demo``: a merchant's site built only on the public SDK and the REST API.

The page loads ``/v1/iamport.js`` and calls ``IMP.request_pay`` like any shop. Its "server side"
(``/demo/api/…``) is what a merchant's backend does: it gets a token with the demo merchant's
``imp_key``/``imp_secret`` and calls Tollway's REST API over HTTP — verify a payment, charge a
registered card again, issue a virtual account with ``POST /vbanks``, cancel, and (sandbox only)
deposit into a virtual account.

It acts as the demo merchant, so it is fenced (docs/security.md, "The demo shop"):
- it exists only while the installation is sandbox-only (no merchant has a live channel) and the
  demo is on (``--no-demo`` / ``TOLLWAY_DEMO=false`` turns it off); otherwise every path is a 404;
- its API answers only the demo page itself: an ``Origin`` equal to the gateway's own and the page
  token the page was served with (an HMAC of its issue time under a key derived from the demo
  merchant's secret, so every process of the installation accepts it);
- identifiers are checked against their exact shape before they reach a URL or a body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from importlib import resources
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from tollway.api.deps import ServicesDep
from tollway.bootstrap import demo_credentials
from tollway.checkout.pages import script_json
from tollway.merchants.origins import sandbox_only
from tollway.services import Services

router = APIRouter(include_in_schema=False)
STATIC = resources.files("tollway.demo") / "static"
PAGE = (STATIC / "shop.html").read_text()
SCRIPT = (STATIC / "shop.js").read_text()
#: a page token is accepted this long after the page was served
TOKEN_SECONDS = 12 * 3600
IMP_UID = re.compile(r"imp_[0-9]{12}")
ORDER_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
CUSTOMER_UID = re.compile(r"[A-Za-z0-9_-]{1,80}")
GONE = (
    "<!doctype html><meta charset=utf-8><title>Tollway demo</title>"
    "<p>The demo shop runs only on a sandbox-only installation with the demo on (no merchant has a live "
    "channel; <code>tollway serve --no-demo</code> turns it off).</p>"
)


async def _demo(services: Services) -> dict[str, str] | None:
    """The demo merchant's credentials while the demo may run; None when it may not."""
    if not services.settings.demo:
        return None
    async with services.sessions() as session:
        if not await sandbox_only(session):
            return None
    credentials = await demo_credentials(services)
    return credentials if credentials is not None and credentials.get("imp_secret") else None


def _signature(credentials: dict[str, str], issued: int) -> str:
    key = hashlib.sha256(b"tollway-demo-page\0" + credentials["imp_secret"].encode()).digest()
    return hmac.new(key, str(issued).encode(), hashlib.sha256).hexdigest()


def page_token(credentials: dict[str, str], now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    return f"{issued}.{_signature(credentials, issued)}"


def _token_ok(credentials: dict[str, str], token: str, now: float | None = None) -> bool:
    issued, _, signature = token.partition(".")
    if not issued.isdigit() or len(issued) > 12:
        return False
    age = int(time.time() if now is None else now) - int(issued)
    return 0 <= age <= TOKEN_SECONDS and hmac.compare_digest(signature, _signature(credentials, int(issued)))


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', '')}"


def _refused(status: int, why: str) -> JSONResponse:
    return JSONResponse({"code": 1, "message": why, "response": None}, status_code=status)


async def _guarded(request: Request, services: Services) -> dict[str, str] | Response:
    """The credentials when this request comes from the demo page; the refusal otherwise."""
    credentials = await _demo(services)
    if credentials is None:
        return _refused(404, "the demo shop is off on this installation")
    if request.headers.get("origin") != _own_origin(request):
        return _refused(403, "the demo shop's API serves the demo page only (Origin)")
    if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        return _refused(403, "the demo shop's API serves the demo page only (Sec-Fetch-Site)")
    if not _token_ok(credentials, request.headers.get("x-demo-token", "")):
        return _refused(403, "the demo shop's API serves the demo page only (page token)")
    return credentials


@router.get("/demo/shop.js")
async def shop_script() -> Response:
    return Response(SCRIPT, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})


@router.get("/demo")
async def shop(request: Request, services: ServicesDep) -> Response:
    credentials = await _demo(services)
    if credentials is None:
        return HTMLResponse(GONE, status_code=404)
    config = {
        "userCode": credentials["user_code"],
        "gateway": str(request.base_url).rstrip("/"),
        "pageToken": page_token(credentials),
    }
    return HTMLResponse(PAGE.replace("/*CONFIG*/null", script_json(config)), headers={"Cache-Control": "no-store"})


async def _call(
    services: Services, credentials: dict[str, str], method: str, path: str, body: dict[str, Any] | None = None
) -> Response:
    """One REST call as the demo merchant's backend makes it: over HTTP, with a fresh token."""
    base = services.settings.resolved_public_url()
    async with httpx.AsyncClient(base_url=base, timeout=90) as http:
        token = await http.post(
            "/users/getToken", json={"imp_key": credentials["imp_key"], "imp_secret": credentials["imp_secret"]}
        )
        access = token.json()["response"]["access_token"]
        answer = await http.request(method, path, json=body, headers={"Authorization": access})
    return Response(answer.content, status_code=answer.status_code, media_type="application/json")


async def _body(request: Request) -> dict[str, Any]:
    try:
        loaded = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    return value if isinstance(value, str) else ""


def _id(body: dict[str, Any], key: str, shape: re.Pattern[str]) -> str | None:
    value = _text(body, key)
    return value if shape.fullmatch(value) else None


def _bad(key: str) -> JSONResponse:
    return _refused(400, f"{key} has not the expected shape")


async def _checked(
    request: Request, services: Services, **shapes: re.Pattern[str]
) -> tuple[dict[str, str], dict[str, str]] | Response:
    """The demo merchant's credentials and the body's identifiers, each of its exact shape, when the
    demo page itself asks; the refusal otherwise (nothing reaches a URL before this)."""
    credentials = await _guarded(request, services)
    if isinstance(credentials, Response):
        return credentials
    body = await _body(request)
    ids: dict[str, str] = {}
    for key, shape in shapes.items():
        value = _id(body, key, shape)
        if value is None:
            return _bad(key)
        ids[key] = value
    return credentials, ids


@router.post("/demo/api/verify")
async def verify(request: Request, services: ServicesDep) -> Response:
    checked = await _checked(request, services, imp_uid=IMP_UID)
    if isinstance(checked, Response):
        return checked
    credentials, ids = checked
    return await _call(services, credentials, "GET", f"/payments/{quote(ids['imp_uid'], safe='')}")


@router.post("/demo/api/again")
async def again(request: Request, services: ServicesDep) -> Response:
    checked = await _checked(request, services, customer_uid=CUSTOMER_UID, merchant_uid=ORDER_ID)
    if isinstance(checked, Response):
        return checked
    credentials, ids = checked
    order = {**ids, "amount": 9900, "name": "Tollway 커피 구독 (월)"}
    return await _call(services, credentials, "POST", "/subscribe/payments/again", order)


@router.post("/demo/api/vbank")
async def vbank(request: Request, services: ServicesDep) -> Response:
    checked = await _checked(request, services, merchant_uid=ORDER_ID)
    if isinstance(checked, Response):
        return checked
    credentials, ids = checked
    order = {
        **ids,
        "amount": 15000,
        "name": "에티오피아 원두 1kg",
        "vbank_code": "088",
        "vbank_due": int(services.clock.now().timestamp()) + 3 * 86400,
        "buyer_name": "김커피",
        "buyer_email": "coffee@example.com",
    }
    return await _call(services, credentials, "POST", "/vbanks", order)


@router.post("/demo/api/cancel")
async def cancel(request: Request, services: ServicesDep) -> Response:
    checked = await _checked(request, services, imp_uid=IMP_UID)
    if isinstance(checked, Response):
        return checked
    credentials, ids = checked
    body = {**ids, "reason": "데모 상점에서 취소"}
    return await _call(services, credentials, "POST", "/payments/cancel", body)


@router.post("/demo/api/deposit")
async def deposit(request: Request, services: ServicesDep) -> Response:
    checked = await _checked(request, services, imp_uid=IMP_UID)
    if isinstance(checked, Response):
        return checked
    credentials, ids = checked
    path = f"/tollway/sandbox/payments/{quote(ids['imp_uid'], safe='')}/deposit"
    return await _call(services, credentials, "POST", path)
