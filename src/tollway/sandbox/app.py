"""A Toss-compatible sandbox PG: Toss v1's HTTP API under ``/sandbox/toss/v1/…``.

What it reproduces (reference toss-v1 §10): Basic auth with the sandbox keys (§1.2 mapping),
Toss's error bodies and statuses (§4), idempotency on every POST (§1.3: the first answer is
replayed, errors included; 409 while the first is still processing; 400 over 300 characters),
``TossPayments-Test-Code`` (§7), the amount, order id and installment rules (§2.1, §8.4), payment
lookups, cancels with ``refundableAmount`` (§2.4), key-in (§2.5), virtual accounts (§2.6), billing
(§2.7) and cash receipts (§2.8). Test cards give deterministic outcomes (``sandbox.cards``).

Besides Toss's own paths it has a few ``/_sandbox/…`` helpers that stand in for the buyer's side
of Toss's windows: open an authenticated checkout session (then ``confirm`` it), get a billing
``authKey``, and read the ledger.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import HTMLResponse, Response

from tollway.hotroutes import NO_TELEMETRY, Endpoint, HotRoutes
from tollway.sandbox import receipt_page
from tollway.sandbox.billing import BillingApi
from tollway.sandbox.cash_receipts import CashReceiptsApi
from tollway.sandbox.core import Handler, SandboxConfig
from tollway.sandbox.methods import MethodsApi
from tollway.sandbox.virtual_accounts import VirtualAccountsApi
from tollway.sandbox.window import add_routes

__all__ = ["Sandbox", "SandboxConfig", "create_sandbox_app"]


class Sandbox(MethodsApi, BillingApi, VirtualAccountsApi, CashReceiptsApi):
    """Every Toss resource the sandbox serves, over one store, clock and configuration."""


def create_sandbox_app(sandbox: Sandbox) -> FastAPI:
    """The sandbox as an ASGI app; the gateway mounts it at ``/sandbox/toss``."""
    app = FastAPI(title="Tollway Toss sandbox", docs_url=None, redoc_url=None, openapi_url=None, telemetry=NO_TELEMETRY)
    router = APIRouter()

    def route(method: str, path: str, handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            return await sandbox.run(request, handler)

        router.add_api_route(path, endpoint, methods=[method], include_in_schema=False)
        return endpoint

    # the charges skip FastAPI's routing and dependencies, as the gateway's V1 calls do (hotroutes.py)
    hot = [
        route("POST", "/v1/payments/confirm", sandbox.confirm),
        route("POST", "/v1/payments/key-in", sandbox.key_in),
    ]
    route("GET", "/v1/payments/orders/{order_id}", sandbox.get_by_order)
    route("GET", "/v1/payments/{payment_key}", sandbox.get_payment)
    route("POST", "/v1/payments/{payment_key}/cancel", sandbox.cancel)
    route("POST", "/v1/billing/authorizations/card", sandbox.billing_from_card)
    route("POST", "/v1/billing/authorizations/issue", sandbox.billing_from_auth)
    hot.append(route("POST", "/v1/billing/{billing_key}", sandbox.billing_charge))
    route("DELETE", "/v1/billing/{billing_key}", sandbox.billing_delete)
    route("POST", "/v1/virtual-accounts", sandbox.issue_virtual_account)
    route("POST", "/v1/cash-receipts", sandbox.issue_cash_receipt)
    route("GET", "/v1/cash-receipts", sandbox.list_cash_receipts)
    route("POST", "/v1/cash-receipts/{receipt_key}/cancel", sandbox.cancel_cash_receipt)
    route("POST", "/_sandbox/checkout-sessions", sandbox.open_session)
    route("POST", "/_sandbox/billing-auths", sandbox.open_billing_auth)
    route("GET", "/_sandbox/payments", sandbox.ledger)
    route("POST", "/_sandbox/virtual-accounts/{payment_key}/deposit", sandbox.deposit)
    add_routes(router, sandbox)

    @router.get("/_sandbox/receipts/{payment_key}", include_in_schema=False)
    async def receipt(payment_key: str) -> HTMLResponse:
        stored = await sandbox.store.for_receipt(payment_key)
        return receipt_page.receipt(stored.doc) if stored is not None else receipt_page.not_found()

    @router.get("/_sandbox/receipt.css", include_in_schema=False)
    async def receipt_style() -> Response:
        return Response(receipt_page.STYLE, media_type="text/css", headers={"Cache-Control": "public, max-age=300"})

    @router.get("/_sandbox/cash-receipts/{receipt_key}", include_in_schema=False)
    async def cash_receipt(receipt_key: str) -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>Sandbox cash receipt</title>"
            f"<p>Tollway sandbox cash receipt <code>{_html(receipt_key)}</code>. "
            "Nothing was sent to the tax office.</p>"
        )

    app.include_router(router)

    async def not_found(request: Request, exc: Exception) -> Response:
        del request, exc
        return sandbox._error("NOT_FOUND")

    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, lambda r, e: sandbox._error("NOT_FOUND_HTTP_METHOD"))
    app.add_middleware(HotRoutes, fastapi=app, endpoints=hot)
    return app


def _html(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
