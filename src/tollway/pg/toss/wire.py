"""Toss v1 wire shapes and pure conversions (no I/O): request bodies out, ``PgPayment`` in.

Responses are read tolerantly: unknown fields are ignored (Toss adds fields without a version
bump, reference §1.5) and a missing optional field reads as ``None``.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, NotRequired

from typing_extensions import TypedDict

from tollway.pg.base import (
    Buyer,
    CancelRequest,
    CardData,
    ChargeRequest,
    PgBillingKey,
    PgCancel,
    PgCard,
    PgPayment,
    PgVirtualAccount,
    VirtualAccountTerms,
)
from tollway.pg.toss.methods import method_fields
from tollway.vault import Secret

KST = timezone(timedelta(hours=9))


class TossCard(TypedDict, total=False):
    amount: int
    issuerCode: str
    acquirerCode: str | None
    number: str
    installmentPlanMonths: int
    approveNo: str
    useCardPoint: bool
    cardType: str
    ownerType: str
    acquireStatus: str
    isInterestFree: bool
    interestPayer: str | None


class TossCancel(TypedDict, total=False):
    cancelAmount: int
    cancelReason: str
    taxFreeAmount: int
    taxExemptionAmount: int
    refundableAmount: int
    canceledAt: str
    transactionKey: str
    receiptKey: str | None
    cancelStatus: str


class TossPayment(TypedDict):
    """The fields Tollway reads of Toss's Payment object (version 2022-11-16)."""

    paymentKey: str
    orderId: str
    status: str
    totalAmount: int
    balanceAmount: int
    method: NotRequired[str | None]
    mId: NotRequired[str]
    type: NotRequired[str]
    requestedAt: NotRequired[str | None]
    approvedAt: NotRequired[str | None]
    card: NotRequired[TossCard | None]
    cancels: NotRequired[list[TossCancel] | None]
    receipt: NotRequired[dict[str, str] | None]
    failure: NotRequired[dict[str, str] | None]


class TossError(TypedDict):
    code: str
    message: str


def basic_auth(secret_key: Secret) -> str:
    """``Basic base64("{secretKey}:")``: the secret key as user name, an empty password, the colon kept."""
    return "Basic " + base64.b64encode(f"{secret_key.reveal()}:".encode()).decode()


def format_time(at: datetime) -> str:
    """Toss's timestamps: ISO 8601 in KST with second precision, e.g. ``2022-01-01T00:00:00+09:00``."""
    return at.astimezone(KST).replace(microsecond=0).isoformat()


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=KST)
    return parsed.astimezone(UTC)


def _int(value: object, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return default


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def card_from_wire(raw: Any) -> PgCard | None:
    if not isinstance(raw, dict):
        return None
    return PgCard(
        issuer_code=_str(raw.get("issuerCode")),
        acquirer_code=_str(raw.get("acquirerCode")),
        number=_str(raw.get("number")),
        installment_months=_int(raw.get("installmentPlanMonths")),
        approve_no=_str(raw.get("approveNo")),
        card_type=_str(raw.get("cardType")),
        owner_type=_str(raw.get("ownerType")),
        interest_free=bool(raw.get("isInterestFree") or False),
    )


def cancel_from_wire(raw: Any) -> PgCancel | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("transactionKey"), str):
        return None
    canceled_at = parse_time(raw.get("canceledAt"))
    if canceled_at is None:
        return None
    return PgCancel(
        transaction_key=raw["transactionKey"],
        amount=_int(raw.get("cancelAmount")),
        tax_free=_int(raw.get("taxFreeAmount")),
        reason=_str(raw.get("cancelReason")),
        canceled_at=canceled_at,
        receipt_key=_str(raw.get("receiptKey")),
    )


def payment_from_wire(raw: Any) -> PgPayment:
    """Raises ``ValueError`` when ``raw`` is not a Toss Payment object."""
    if not isinstance(raw, dict) or not isinstance(raw.get("paymentKey"), str) or "status" not in raw:
        raise ValueError("not a Toss Payment object")
    cancels = tuple(c for c in (cancel_from_wire(x) for x in raw.get("cancels") or ()) if c is not None)
    receipt = raw.get("receipt")
    failure = raw.get("failure")
    return PgPayment(
        payment_key=raw["paymentKey"],
        order_id=str(raw.get("orderId", "")),
        status=str(raw["status"]),
        method=_str(raw.get("method")),
        total_amount=_int(raw.get("totalAmount")),
        balance_amount=_int(raw.get("balanceAmount")),
        requested_at=parse_time(raw.get("requestedAt")),
        approved_at=parse_time(raw.get("approvedAt")),
        card=card_from_wire(raw.get("card")),
        receipt_url=_str(receipt.get("url")) if isinstance(receipt, dict) else None,
        cancels=cancels,
        failure_code=_str(failure.get("code")) if isinstance(failure, dict) else None,
        failure_message=_str(failure.get("message")) if isinstance(failure, dict) else None,
        mid=_str(raw.get("mId")),
        type=_str(raw.get("type")),
        virtual_account=virtual_account_from_wire(raw.get("virtualAccount")),
        transfer_bank=_str(raw["transfer"].get("bankCode")) if isinstance(raw.get("transfer"), dict) else None,
        **method_fields(raw),
    )


def virtual_account_from_wire(raw: Any) -> PgVirtualAccount | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("accountNumber"), str):
        return None
    return PgVirtualAccount(
        account_number=raw["accountNumber"],
        bank_code=_str(raw.get("bankCode")),
        customer_name=_str(raw.get("customerName")),
        due_date=parse_time(raw.get("dueDate")),
        expired=bool(raw.get("expired") or False),
    )


def billing_from_wire(raw: Any) -> PgBillingKey:
    if not isinstance(raw, dict) or not isinstance(raw.get("billingKey"), str):
        raise ValueError("not a Toss Billing object")
    card = card_from_wire(raw.get("card"))
    if card is not None and card.number is None and isinstance(raw.get("cardNumber"), str):
        card = PgCard(card.issuer_code, card.acquirer_code, raw["cardNumber"], card_type=card.card_type)
    return PgBillingKey(
        billing_key=Secret(raw["billingKey"]),
        customer_key=str(raw.get("customerKey", "")),
        card=card,
        authenticated_at=parse_time(raw.get("authenticatedAt")),
    )


def _buyer_fields(buyer: Buyer) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if buyer.name:
        body["customerName"] = buyer.name[:100]
    if buyer.email:
        body["customerEmail"] = buyer.email[:100]
    if buyer.tel:
        digits = "".join(ch for ch in buyer.tel if ch.isdigit())
        if 8 <= len(digits) <= 15:
            body["customerMobilePhone"] = digits
    return body


def _card_fields(card: CardData) -> dict[str, Any]:
    body: dict[str, Any] = {
        "cardNumber": card.number.reveal(),
        "cardExpirationYear": card.expiry_year.reveal(),
        "cardExpirationMonth": card.expiry_month.reveal(),
    }
    if card.identity is not None:
        body["customerIdentityNumber"] = card.identity.reveal()
    if card.password_2digit is not None:
        body["cardPassword"] = card.password_2digit.reveal()
    return body


def _charge_fields(charge: ChargeRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": charge.amount,
        "orderId": charge.order_id,
        "orderName": charge.order_name,
        "cardInstallmentPlan": charge.installment_months,
        "taxFreeAmount": charge.tax_free,
    }
    if charge.interest_free:
        body["useFreeInstallmentPlan"] = True
    if charge.use_card_point:
        body["useCardPoint"] = True
    if charge.buyer_ip:
        body["customerIp"] = charge.buyer_ip
    body.update(_buyer_fields(charge.buyer))
    return body


def key_in_body(card: CardData, charge: ChargeRequest) -> dict[str, Any]:
    """``POST /v1/payments/key-in``. Holds clear card data: build it just before sending, never log it."""
    return {**_charge_fields(charge), **_card_fields(card)}


def billing_card_body(card: CardData, customer_key: str, buyer: Buyer) -> dict[str, Any]:
    """``POST /v1/billing/authorizations/card``."""
    return {"customerKey": customer_key, **_card_fields(card), **_buyer_fields(buyer)}


def billing_charge_body(customer_key: str, charge: ChargeRequest) -> dict[str, Any]:
    """``POST /v1/billing/{billingKey}``."""
    return {"customerKey": customer_key, **_charge_fields(charge)}


def virtual_account_body(charge: ChargeRequest, account: VirtualAccountTerms) -> dict[str, Any]:
    """``POST /v1/virtual-accounts``: ``customerName`` is required; the deadline goes as ``dueDate``
    (KST, no offset, as Toss reads it), never with ``validHours`` beside it."""
    body: dict[str, Any] = {
        "amount": charge.amount,
        "orderId": charge.order_id,
        "orderName": charge.order_name,
        "bank": account.bank,
        "dueDate": account.due.astimezone(KST).strftime("%Y-%m-%dT%H:%M:%S"),
        "taxFreeAmount": charge.tax_free,
        **_buyer_fields(charge.buyer),
    }
    if account.account_key:
        body["accountKey"] = account.account_key
    return body


def cancel_body(request: CancelRequest) -> dict[str, Any]:
    """``POST /v1/payments/{paymentKey}/cancel``."""
    body: dict[str, Any] = {"cancelReason": request.reason[:200]}
    if request.amount is not None:
        body["cancelAmount"] = request.amount
    if request.tax_free:
        body["taxFreeAmount"] = request.tax_free
    if request.expected_balance is not None:
        body["refundableAmount"] = request.expected_balance
    if request.refund_account is not None:
        body["refundReceiveAccount"] = {
            "bank": request.refund_account.bank,
            "accountNumber": request.refund_account.number,
            "holderName": request.refund_account.holder,
        }
    return body
