"""The demo shop at ``/demo``: a merchant's site built only on the public SDK and the REST API.

The page loads ``/v1/iamport.js`` and calls ``IMP.request_pay`` like any shop. Its "server side"
(``/demo/api/…``) is what a merchant's backend does: it gets a token with the demo merchant's
``imp_key``/``imp_secret`` and calls Tollway's REST API over HTTP — verify a payment, charge a
registered card again, issue a virtual account with ``POST /vbanks``, cancel, and (sandbox only)
deposit into a virtual account.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import httpx
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from tollway.api.deps import ServicesDep
from tollway.bootstrap import demo_credentials
from tollway.checkout.pages import script_json
from tollway.services import Services

router = APIRouter(include_in_schema=False)
PAGE = (resources.files("tollway.demo") / "static" / "shop.html").read_text()


@router.get("/demo")
async def shop(request: Request, services: ServicesDep) -> Response:
    credentials = await demo_credentials(services)
    if credentials is None:
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>Tollway demo</title>"
            "<p>The demo shop needs the demo merchant (start <code>tollway serve</code> on an empty database "
            "with the demo on).</p>",
            status_code=404,
        )
    config = {"userCode": credentials["user_code"], "gateway": str(request.base_url).rstrip("/")}
    return HTMLResponse(PAGE.replace("/*CONFIG*/null", script_json(config)))


async def _call(services: Services, method: str, path: str, body: dict[str, Any] | None = None) -> Response:
    """One REST call as the demo merchant's backend makes it: over HTTP, with a fresh token."""
    credentials = await demo_credentials(services)
    if credentials is None or not credentials.get("imp_secret"):
        return JSONResponse({"code": 1, "message": "the demo merchant's credentials are not available"}, 404)
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


@router.post("/demo/api/verify")
async def verify(request: Request, services: ServicesDep) -> Response:
    return await _call(services, "GET", f"/payments/{_text(await _body(request), 'imp_uid')}")


@router.post("/demo/api/again")
async def again(request: Request, services: ServicesDep) -> Response:
    body = await _body(request)
    order = {
        "customer_uid": _text(body, "customer_uid"),
        "merchant_uid": _text(body, "merchant_uid"),
        "amount": 9900,
        "name": "Tollway 커피 구독 (월)",
    }
    return await _call(services, "POST", "/subscribe/payments/again", order)


@router.post("/demo/api/vbank")
async def vbank(request: Request, services: ServicesDep) -> Response:
    order = {
        "merchant_uid": _text(await _body(request), "merchant_uid"),
        "amount": 15000,
        "name": "에티오피아 원두 1kg",
        "vbank_code": "088",
        "vbank_due": int(services.clock.now().timestamp()) + 3 * 86400,
        "buyer_name": "김커피",
        "buyer_email": "coffee@example.com",
    }
    return await _call(services, "POST", "/vbanks", order)


@router.post("/demo/api/cancel")
async def cancel(request: Request, services: ServicesDep) -> Response:
    body = {"imp_uid": _text(await _body(request), "imp_uid"), "reason": "데모 상점에서 취소"}
    return await _call(services, "POST", "/payments/cancel", body)


@router.post("/demo/api/deposit")
async def deposit(request: Request, services: ServicesDep) -> Response:
    imp_uid = _text(await _body(request), "imp_uid")
    return await _call(services, "POST", f"/tollway/sandbox/payments/{imp_uid}/deposit")
