"""The browser side: ``/v1/iamport.js`` and the hosted payment window under ``/checkout``."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from tollway.api.deps import ServicesDep
from tollway.api.headers import window_policy
from tollway.checkout import flow, pages
from tollway.checkout.params import ParamError
from tollway.favicon import FAVICON
from tollway.merchants.origins import origin_of
from tollway.services import Services

router = APIRouter(include_in_schema=False)
STATIC = resources.files("tollway.checkout") / "static"
SDK = (STATIC / "iamport.js").read_text()
HANDOFF = (STATIC / "handoff.js").read_text()
RESULT = (STATIC / "result.js").read_text()
MAX_SESSION_BODY = 64 * 1024


@router.get("/v1/iamport.js")
async def sdk() -> Response:
    return Response(
        SDK,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


@router.get("/favicon.ico")
async def favicon() -> Response:
    """Every page's favicon (browsers ask for it even when a page names none)."""
    return Response(FAVICON, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/checkout/window.css")
async def window_style() -> Response:
    return Response(pages.STYLE, media_type="text/css; charset=utf-8", headers={"Cache-Control": "public, max-age=300"})


@router.get("/checkout/result.js")
async def result_script() -> Response:
    return Response(RESULT, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})


@router.get("/checkout/handoff.js")
async def handoff_script() -> Response:
    return Response(HANDOFF, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})


def _here(request: Request, path: str) -> str:
    """``path`` on the gateway as this browser reached it (behind a proxy too)."""
    return str(request.base_url).rstrip("/") + path


def _cors(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if not origin:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


@router.options("/checkout/sessions")
async def preflight(request: Request) -> Response:
    return Response(status_code=204, headers=_cors(request))


def _refuse(request: Request, status: int, error_code: str, message: str, imp_uid: str | None = None) -> JSONResponse:
    body = {"code": 1, "message": message, "response": {"error_code": error_code, "imp_uid": imp_uid}}
    return JSONResponse(body, status_code=status, headers=_cors(request))


@router.post("/checkout/sessions")
async def open_session(request: Request, services: ServicesDep) -> Response:
    """Opens a payment window for ``IMP.request_pay`` (called by the SDK, from any origin)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return _refuse(request, 400, "INVALID_ORIGIN", "the request has no Origin header (call it from the IMP SDK)")
    raw = await request.body()
    if len(raw) > MAX_SESSION_BODY:
        return _refuse(
            request, 413, "INVALID_PARAMETER", "결제 파라미터가 너무 큽니다. (params are larger than 64 KiB)"
        )
    try:
        body: Any = json.loads(raw or b"{}")
    except ValueError:
        return _refuse(request, 400, "INVALID_PARAMETER", "the body is not JSON")
    if not isinstance(body, dict) or not isinstance(body.get("user_code"), str):
        return _refuse(
            request, 400, "NOT_INITIALIZED", "IMP.init(userCode)를 먼저 호출해야 합니다. (user_code missing)"
        )
    mode = "redirect" if body.get("mode") == "redirect" else "iframe"
    try:
        opened = await flow.open_window(
            services,
            user_code=body["user_code"],
            tier_code=body.get("tier_code") if isinstance(body.get("tier_code"), str) else None,
            raw_params=body.get("params"),
            mode=mode,
            origin=origin[:300],
            user_agent=request.headers.get("user-agent"),
        )
    except ParamError as exc:
        return _refuse(request, 400, exc.code, exc.message)
    url = _here(request, f"/checkout/{opened.token}")
    answer = {"code": 0, "message": None, "response": {"checkout_url": url, "imp_uid": opened.imp_uid}}
    return JSONResponse(answer, headers=_cors(request))


def _sdk_url(services: Services, request: Request, sandbox: bool) -> str:
    if not sandbox:
        return pages.TOSS_SDK
    if services.settings.sandbox_enabled:  # the embedded sandbox: where this browser reached the gateway
        return _here(request, "/sandbox/toss/_sandbox/v1.js")
    return services.settings.resolved_sandbox_url() + "/_sandbox/v1.js"


@router.get("/checkout/{token}")
async def window(token: str, request: Request, services: ServicesDep) -> Response:
    loaded = await flow.load(services, token)
    if loaded is None:
        return pages.not_found()
    row = loaded.session
    if row.state != "open":
        return _deliver(services, loaded, await flow.stored_result(services, loaded))
    if flow.expired(services, loaded):
        return _deliver(services, loaded, await flow.expire(services, loaded))
    here = _here(request, f"/checkout/{token}")
    params = {**json.loads(row.pg_params), "successUrl": f"{here}/success", "failUrl": f"{here}/fail"}
    call = {
        "clientKey": loaded.channel.client_key,
        "kind": row.kind,
        "method": row.pg_method,
        "params": params,
        "failUrl": f"{here}/fail",
    }
    handoff = _here(request, "/checkout/handoff.js")
    return _framed(services, loaded, pages.handoff(_sdk_url(services, request, loaded.channel.sandbox), call, handoff))


def _framed(services: Services, loaded: flow.Window, response: Response) -> Response:
    """The window's CSP: the PG's sources, framed by the merchant's allowed origins (any when none)."""
    sandbox = services.settings.resolved_sandbox_url()
    extra = () if services.settings.sandbox_enabled else (origin_of(sandbox) or sandbox,)
    response.headers["Content-Security-Policy"] = window_policy(loaded.origins, extra)
    return response


@router.get("/checkout/{token}/success")
async def success(token: str, request: Request, services: ServicesDep) -> Response:
    """Where the PG's window sends the buyer after an approval: confirm (once), then the result."""
    loaded = await flow.load(services, token)
    if loaded is None:
        return pages.not_found()
    return _deliver(services, loaded, await flow.finish_success(services, loaded, dict(request.query_params)))


@router.get("/checkout/{token}/fail")
async def fail(token: str, request: Request, services: ServicesDep) -> Response:
    """Where the PG's window sends the buyer after a cancel or a refusal."""
    loaded = await flow.load(services, token)
    if loaded is None:
        return pages.not_found()
    query = request.query_params
    return _deliver(
        services, loaded, await flow.finish_fail(services, loaded, query.get("code", ""), query.get("message", ""))
    )


def _deliver(services: Services, loaded: flow.Window, result: dict[str, Any]) -> Response:
    """The result: to ``m_redirect_url`` while the window is valid; a page once it has expired (the
    gateway never keeps redirecting anyone to a URL a stranger once gave it)."""
    row = loaded.session
    redirect_url = None if flow.expired(services, loaded) else row.redirect_url
    return _framed(services, loaded, pages.deliver(row.mode, row.origin, redirect_url, result))
