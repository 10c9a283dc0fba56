"""Toss as recorded in the reference docs, served through httpx's ``MockTransport``.

It answers with the docs' own JSON (``recorded/*.json``) and Toss's error bodies, and it checks
each request the way Toss would read it (Basic auth with the colon, JSON fields, an
Idempotency-Key on every POST): a connector that sends anything else gets an error back.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import httpx

from tollway.pg.toss.errors import CATALOGUE

HERE = Path(__file__).parent / "recorded"
SECRET = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"
DECLINED_CARD = "4330123412340013"
HANGING_CARD = "4330123412340070"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HERE / name).read_text())
    return data


def _error(code: str) -> httpx.Response:
    status, message = CATALOGUE[code]
    return httpx.Response(status, json={"code": code, "message": message})


class RecordedToss:
    def __init__(self) -> None:
        self.payment = load("payment_done.json")
        self.billing = load("billing.json")
        self.billing_deleted = False
        self.virtual_account = load("virtual_account.json")
        self.cash_receipt = load("cash_receipt.json")
        self.cash_receipt_cancelled = False
        self.requests: list[httpx.Request] = []

    @property
    def payment_key(self) -> str:
        key: str = self.payment["paymentKey"]
        return key

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        expected = "Basic " + base64.b64encode(f"{SECRET}:".encode()).decode()
        if request.headers.get("authorization") != expected:
            return _error("UNAUTHORIZED_KEY")
        if request.method == "POST" and not request.headers.get("idempotency-key"):
            return httpx.Response(400, json={"code": "INVALID_REQUEST", "message": "recorded: no Idempotency-Key"})
        body: dict[str, Any] = json.loads(request.content) if request.content else {}
        path = request.url.path
        if request.method == "POST" and body.get("cardNumber") == HANGING_CARD:
            raise httpx.ReadTimeout("recorded: the answer never came", request=request)
        route = (request.method, path)
        if route == ("POST", "/v1/payments/confirm"):
            return self.confirm(body)
        if route == ("POST", "/v1/payments/key-in"):
            return self.key_in(body)
        if route == ("POST", "/v1/virtual-accounts"):
            return self.issue_virtual_account(body)
        if route == ("POST", "/v1/cash-receipts"):
            return self.issue_cash_receipt(body)
        if path.startswith("/v1/cash-receipts/") and path.endswith("/cancel") and request.method == "POST":
            return self.cancel_cash_receipt(path.split("/")[3], body)
        if route == ("POST", "/v1/billing/authorizations/card"):
            return self.issue(body, required=("cardNumber", "cardExpirationYear", "cardExpirationMonth"))
        if route == ("POST", "/v1/billing/authorizations/issue"):
            return self.issue(body, required=("authKey",))
        if path.startswith("/v1/payments/orders/") and request.method == "GET":
            found = path.rsplit("/", 1)[1] == self.payment["orderId"]
            return httpx.Response(200, json=self.payment) if found else _error("NOT_FOUND_PAYMENT")
        if path.startswith("/v1/payments/") and path.endswith("/cancel") and request.method == "POST":
            return self.cancel(path.split("/")[3], body)
        if path.startswith("/v1/payments/") and request.method == "GET":
            found = path.rsplit("/", 1)[1] == self.payment_key
            return httpx.Response(200, json=self.payment) if found else _error("NOT_FOUND_PAYMENT")
        if path.startswith("/v1/billing/"):
            return self.billing_key(request.method, path.rsplit("/", 1)[1], body)
        return _error("NOT_FOUND")

    def confirm(self, body: dict[str, Any]) -> httpx.Response:
        if (body.get("paymentKey"), body.get("orderId"), body.get("amount")) != (
            self.payment_key,
            self.payment["orderId"],
            self.payment["totalAmount"],
        ):
            return _error("NOT_FOUND_PAYMENT_SESSION")
        return httpx.Response(200, json=self.payment)

    def key_in(self, body: dict[str, Any]) -> httpx.Response:
        for field in ("amount", "orderId", "orderName", "cardNumber", "cardExpirationYear", "cardExpirationMonth"):
            if field not in body:
                return httpx.Response(400, json={"code": "INVALID_REQUEST", "message": f"recorded: no {field}"})
        if body["cardNumber"] == DECLINED_CARD:
            return _error("REJECT_CARD_COMPANY")
        return httpx.Response(200, json=self.payment)

    def cancel(self, payment_key: str, body: dict[str, Any]) -> httpx.Response:
        if payment_key != self.payment_key:
            return _error("NOT_FOUND_PAYMENT")
        if not body.get("cancelReason"):
            return _error("INVALID_REQUIRED_PARAM")
        balance = self.payment["balanceAmount"]
        if self.payment["status"] == "CANCELED":
            return _error("ALREADY_CANCELED_PAYMENT")
        if "refundableAmount" in body and body["refundableAmount"] != balance:
            return _error("NOT_MATCHES_REFUNDABLE_AMOUNT")
        amount = body.get("cancelAmount", balance)
        if not 0 < amount <= balance:
            return _error("NOT_CANCELABLE_AMOUNT")
        # The docs' cancel entry (§2.4), with this cancel's numbers.
        number = len(self.payment.get("cancels") or []) + 1
        entry = {
            "transactionKey": f"090A796806E726BBB929F4A2CA7DB9A{number}",
            "cancelReason": body["cancelReason"],
            "taxExemptionAmount": 0,
            "canceledAt": "2024-02-13T12:20:23+09:00",
            "transferDiscountAmount": 0,
            "easyPayDiscountAmount": 0,
            "receiptKey": None,
            "cancelAmount": amount,
            "taxFreeAmount": 0,
            "refundableAmount": balance - amount,
            "cancelStatus": "DONE",
            "cancelRequestId": None,
        }
        updated = copy.deepcopy(self.payment)
        updated["cancels"] = [*(updated.get("cancels") or []), entry]
        updated["balanceAmount"] = balance - amount
        updated["status"] = "CANCELED" if balance == amount else "PARTIAL_CANCELED"
        updated["lastTransactionKey"] = entry["transactionKey"]
        self.payment = updated
        return httpx.Response(200, json=updated)

    def issue_virtual_account(self, body: dict[str, Any]) -> httpx.Response:
        for field in ("amount", "orderId", "orderName", "customerName", "bank"):
            if not body.get(field):
                return _error("INVALID_REQUIRED_PARAM")
        if "validHours" in body and "dueDate" in body:
            return _error("INVALID_VALID_HOURS_WITH_DUE_DATE_AND_SINGLE")
        return httpx.Response(200, json=self.virtual_account)

    def issue_cash_receipt(self, body: dict[str, Any]) -> httpx.Response:
        for field in ("amount", "orderId", "orderName", "customerIdentityNumber", "type"):
            if not body.get(field):
                return _error("INVALID_REQUIRED_PARAM")
        if body["type"] not in ("소득공제", "지출증빙") or not str(body["customerIdentityNumber"]).isdigit():
            return _error("INVALID_CASH_RECEIPT_INFO")
        return httpx.Response(200, json=self.cash_receipt)

    def cancel_cash_receipt(self, receipt_key: str, body: dict[str, Any]) -> httpx.Response:
        if receipt_key != self.cash_receipt["receiptKey"]:
            return _error("NOT_FOUND")
        if self.cash_receipt_cancelled:
            return _error("NOT_CANCELABLE_AMOUNT")
        self.cash_receipt_cancelled = True
        amount = body.get("amount", self.cash_receipt["amount"])
        cancel = {**self.cash_receipt, "receiptKey": f"c_{receipt_key}", "transactionType": "CANCEL", "amount": amount}
        return httpx.Response(200, json=cancel)

    def issue(self, body: dict[str, Any], *, required: tuple[str, ...]) -> httpx.Response:
        if not body.get("customerKey") or any(not body.get(f) for f in required):
            return _error("INVALID_REQUIRED_PARAM")
        self.billing = {**self.billing, "customerKey": body["customerKey"]}
        self.billing_deleted = False
        return httpx.Response(200, json=self.billing)

    def billing_key(self, method: str, key: str, body: dict[str, Any]) -> httpx.Response:
        from urllib.parse import unquote

        if unquote(key) != self.billing["billingKey"] or self.billing_deleted:
            return _error("NOT_FOUND_BILLING")
        if method == "DELETE":
            self.billing_deleted = True
            return httpx.Response(200)
        if body.get("customerKey") != self.billing["customerKey"]:
            return _error("NOT_MATCHES_CUSTOMER_KEY")
        return httpx.Response(200, json={**self.payment, "type": "BILLING", "orderId": body.get("orderId")})
