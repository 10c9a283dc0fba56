"""The Toss Payments connector: calls on the outgoing client against a base URL; everything else is in ``wire``.

- Basic auth with the channel's secret key (the key never leaves this object's header builder).
- An ``Idempotency-Key`` on every POST, given by the caller and derived from Tollway's own record,
  so a repeated call after a timeout replays Toss's first answer instead of charging again.
- Connect/read timeouts; a timeout or a lost connection on a POST is ``PgUnknown``: the caller
  reconciles by lookup.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import structlog

from tollway import logsafety
from tollway.http import Client
from tollway.observability.metrics import PG_CALLS
from tollway.pg.base import (
    Buyer,
    CancelRequest,
    CardData,
    CashReceiptRequest,
    ChargeRequest,
    PgBillingKey,
    PgCashReceipt,
    PgDeclined,
    PgError,
    PgNotFound,
    PgPayment,
    PgRejected,
    PgUnknown,
    VirtualAccountTerms,
)
from tollway.pg.toss import errors, receipts, wire
from tollway.vault import Secret

logsafety.install()  # the billing key travels in URL paths, which HTTP libraries may log

LIVE_BASE_URL = "https://api.tosspayments.com"

log = structlog.get_logger("tollway.pg")

#: (method, path pattern, operation): the operation label of a call's metrics and log line. The
#: patterns never capture a value: billing keys and payment keys stay out of labels and logs.
_OPERATIONS = [
    (method, re.compile(pattern), operation)
    for method, pattern, operation in (
        ("POST", r"/v1/payments/confirm", "confirm"),
        ("POST", r"/v1/payments/key-in", "key_in"),
        ("POST", r"/v1/payments/[^/]+/cancel", "cancel"),
        ("GET", r"/v1/payments/orders/[^/]+", "get_payment_by_order"),
        ("GET", r"/v1/payments/[^/]+", "get_payment"),
        ("POST", r"/v1/billing/authorizations/card", "issue_billing_key"),
        ("POST", r"/v1/billing/authorizations/issue", "issue_billing_key_from_auth"),
        ("POST", r"/v1/billing/[^/]+", "charge_billing_key"),
        ("DELETE", r"/v1/billing/[^/]+", "delete_billing_key"),
        ("POST", r"/v1/virtual-accounts", "issue_virtual_account"),
        ("POST", r"/v1/cash-receipts", "issue_cash_receipt"),
        ("POST", r"/v1/cash-receipts/[^/]+/cancel", "cancel_cash_receipt"),
        ("POST", r"/_sandbox/virtual-accounts/[^/]+/deposit", "sandbox_deposit"),
    )
]


def operation_of(method: str, path: str) -> str:
    for m, pattern, operation in _OPERATIONS:
        if m == method and pattern.fullmatch(path):
            return operation
    return f"{method.lower()}_other"


@contextmanager
def _observed(operation: str) -> Iterator[None]:
    """Times one call and counts it by operation and outcome (``tollway_pg_call_duration_seconds``);
    logs it with the request id of whatever made it (bound in the log context)."""
    started = time.perf_counter()
    failure: BaseException | None = None
    try:
        yield
    except BaseException as exc:
        failure = exc
        raise
    finally:
        elapsed = time.perf_counter() - started
        outcome = _outcome(failure)
        PG_CALLS.labels(operation, outcome).observe(elapsed)
        code = failure.code if isinstance(failure, PgError) else None
        log.info("pg call", operation=operation, outcome=outcome, code=code, ms=round(elapsed * 1000, 1))


def _outcome(exc: BaseException | None) -> str:
    if exc is None:
        return "ok"
    if isinstance(exc, PgNotFound):
        return "not_found"
    if isinstance(exc, PgDeclined):
        return "declined"
    if isinstance(exc, PgRejected):
        return "rejected"
    return "unknown"


class TossConnector:
    def __init__(
        self,
        http: Client,
        base_url: str,
        secret_key: Secret,
        *,
        timeout: httpx.Timeout | None = None,
        billing_timeout: httpx.Timeout | None = None,
        test_code: str | None = None,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._auth = wire.basic_auth(secret_key)
        self._timeout = timeout or httpx.Timeout(30.0, connect=5.0)
        # Toss says a billing charge can take up to 60 s (reference §2 E9).
        self._billing_timeout = billing_timeout or httpx.Timeout(65.0, connect=5.0)
        self._test_code = test_code

    def __repr__(self) -> str:
        return f"TossConnector({self._base!r})"

    # -- calls ---------------------------------------------------------------------------------

    async def confirm(self, payment_key: str, order_id: str, amount: int, *, idempotency_key: str) -> PgPayment:
        body = {"paymentKey": payment_key, "orderId": order_id, "amount": amount}
        return self._payment(await self._post("/v1/payments/confirm", body, idempotency_key))

    async def get_payment(self, payment_key: str) -> PgPayment:
        return self._payment(await self._get(f"/v1/payments/{_segment(payment_key)}"))

    async def get_payment_by_order(self, order_id: str) -> PgPayment:
        return self._payment(await self._get(f"/v1/payments/orders/{_segment(order_id)}"))

    async def cancel(self, payment_key: str, request: CancelRequest, *, idempotency_key: str) -> PgPayment:
        path = f"/v1/payments/{_segment(payment_key)}/cancel"
        return self._payment(await self._post(path, wire.cancel_body(request), idempotency_key))

    async def key_in(self, card: CardData, charge: ChargeRequest, *, idempotency_key: str) -> PgPayment:
        return self._payment(await self._post("/v1/payments/key-in", wire.key_in_body(card, charge), idempotency_key))

    async def issue_billing_key(
        self, card: CardData, customer_key: str, buyer: Buyer, *, idempotency_key: str
    ) -> PgBillingKey:
        body = wire.billing_card_body(card, customer_key, buyer)
        return self._billing(await self._post("/v1/billing/authorizations/card", body, idempotency_key))

    async def issue_billing_key_from_auth(
        self, auth_key: str, customer_key: str, *, idempotency_key: str
    ) -> PgBillingKey:
        body = {"authKey": auth_key, "customerKey": customer_key}
        return self._billing(await self._post("/v1/billing/authorizations/issue", body, idempotency_key))

    async def charge_billing_key(
        self, billing_key: Secret, customer_key: str, charge: ChargeRequest, *, idempotency_key: str
    ) -> PgPayment:
        path = f"/v1/billing/{_segment(billing_key.reveal())}"
        body = wire.billing_charge_body(customer_key, charge)
        return self._payment(await self._post(path, body, idempotency_key, limits=self._billing_timeout))

    async def delete_billing_key(self, billing_key: Secret) -> None:
        await self._send("DELETE", f"/v1/billing/{_segment(billing_key.reveal())}", None, None, self._timeout)

    async def issue_virtual_account(
        self, charge: ChargeRequest, account: VirtualAccountTerms, *, idempotency_key: str
    ) -> PgPayment:
        body = wire.virtual_account_body(charge, account)
        return self._payment(await self._post("/v1/virtual-accounts", body, idempotency_key))

    async def issue_cash_receipt(self, request: CashReceiptRequest, *, idempotency_key: str) -> PgCashReceipt:
        body = receipts.cash_receipt_body(request)
        return self._cash_receipt(await self._post("/v1/cash-receipts", body, idempotency_key))

    async def cancel_cash_receipt(
        self, receipt_key: str, *, amount: int | None = None, idempotency_key: str
    ) -> PgCashReceipt:
        path = f"/v1/cash-receipts/{_segment(receipt_key)}/cancel"
        body = receipts.cancel_cash_receipt_body(amount)
        return self._cash_receipt(await self._post(path, body, idempotency_key))

    async def sandbox_deposit(self, payment_key: str) -> PgPayment:
        """Only against Tollway's sandbox: pays a waiting virtual account, as Toss's developer
        center does with 입금처리 (Toss's live API has no such call)."""
        path = f"/_sandbox/virtual-accounts/{_segment(payment_key)}/deposit"
        return self._payment(await self._post(path, {}, f"tollway-deposit-{payment_key}"))

    # -- plumbing ------------------------------------------------------------------------------

    async def _get(self, path: str) -> Any:
        return await self._send("GET", path, None, None, self._timeout)

    async def _post(
        self, path: str, body: dict[str, Any], idempotency_key: str, *, limits: httpx.Timeout | None = None
    ) -> Any:
        return await self._send("POST", path, body, idempotency_key, limits or self._timeout)

    async def _send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        idempotency_key: str | None,
        limits: httpx.Timeout,
    ) -> Any:
        with _observed(operation_of(method, path)):
            headers = {"Authorization": self._auth, "Accept": "application/json"}
            content: bytes | None = None
            if body is not None:
                headers["Content-Type"] = "application/json"
                content = orjson.dumps(body)
            if idempotency_key is not None:
                headers["Idempotency-Key"] = idempotency_key
            if self._test_code:
                headers["TossPayments-Test-Code"] = self._test_code
            try:
                response = await self._http.request(
                    method, self._base + path, content=content, headers=headers, limits=limits
                )
            except httpx.TimeoutException as exc:
                raise PgUnknown("TIMEOUT", f"Toss did not answer in time ({type(exc).__name__})") from None
            except httpx.TransportError as exc:
                raise PgUnknown("NETWORK_ERROR", f"Toss could not be reached ({type(exc).__name__})") from None
            finally:
                content = None  # drop the clear card data as soon as the request is gone
            if 200 <= response.status_code < 300:
                if not response.content:
                    return None
                try:
                    return orjson.loads(response.content)
                except orjson.JSONDecodeError:
                    status = response.status_code
                    raise PgUnknown("BAD_RESPONSE", f"Toss answered {status} with a non-JSON body") from None
            raise _error(response)

    @staticmethod
    def _payment(raw: Any) -> PgPayment:
        try:
            return wire.payment_from_wire(raw)
        except ValueError:
            raise PgUnknown("BAD_RESPONSE", "Toss answered without a Payment object") from None

    @staticmethod
    def _cash_receipt(raw: Any) -> PgCashReceipt:
        try:
            return receipts.cash_receipt_from_wire(raw)
        except ValueError:
            raise PgUnknown("BAD_RESPONSE", "Toss answered without a CashReceipt object") from None

    @staticmethod
    def _billing(raw: Any) -> PgBillingKey:
        try:
            return wire.billing_from_wire(raw)
        except ValueError:
            raise PgUnknown("BAD_RESPONSE", "Toss answered without a Billing object") from None


def _segment(value: str) -> str:
    return quote(value, safe="")


def _error(response: httpx.Response) -> PgError:
    status = response.status_code
    try:
        body = orjson.loads(response.content)
        code = str(body.get("code") or f"HTTP_{status}")
        message = str(body.get("message") or "")
    except (orjson.JSONDecodeError, AttributeError):
        code, message = f"HTTP_{status}", response.text[:200]
    if code in errors.NOT_FOUND_CODES:
        return PgNotFound(code, message, http_status=status)
    kind = errors.classify(code, status)
    if kind == "declined":
        return PgDeclined(code, message, http_status=status)
    if kind == "unknown":
        return PgUnknown(code, message, http_status=status)
    return PgRejected(code, message, http_status=status)
