"""The V1 ``Payment`` object (reference §4): every field, with V1's types.

Timestamps are integers (0 when unset), ``card_type``/``card_quota`` integers, ``custom_data`` a
string, ``cancel_history`` and ``cancel_receipt_urls`` lists (empty, never null).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row
from typing_extensions import TypedDict

from tollway.clock import to_unix
from tollway.db.models import Payment, PaymentCancel, PaymentPrepare


class CancelHistoryV1(TypedDict):
    pg_tid: str | None
    amount: int
    cancelled_at: int
    reason: str | None
    cancellation_id: str
    receipt_url: str | None


class PromotionV1(TypedDict):
    id: str
    discount: int


class PaymentV1(TypedDict):
    """V1's ``PaymentAnnotation``: the exact field set and types a V1 client reads."""

    imp_uid: str
    merchant_uid: str
    pay_method: str
    channel: str
    pg_provider: str
    emb_pg_provider: str | None
    pg_tid: str | None
    pg_id: str | None
    sandbox: bool
    escrow: bool
    apply_num: str | None
    bank_code: str | None
    bank_name: str | None
    card_code: str | None
    card_name: str | None
    card_issuer_code: str | None
    card_issuer_name: str | None
    card_publisher_code: str | None
    card_publisher_name: str | None
    card_quota: int
    card_number: str | None
    card_type: int | None
    vbank_code: str | None
    vbank_name: str | None
    vbank_num: str | None
    vbank_holder: str | None
    vbank_date: int
    vbank_issued_at: int
    name: str | None
    amount: int
    cancel_amount: int
    currency: str
    buyer_name: str | None
    buyer_email: str | None
    buyer_tel: str | None
    buyer_addr: str | None
    buyer_postcode: str | None
    custom_data: str | None
    user_agent: str | None
    status: str
    started_at: int
    paid_at: int
    failed_at: int
    cancelled_at: int
    fail_reason: str | None
    cancel_reason: str | None
    receipt_url: str | None
    cancel_history: list[CancelHistoryV1]
    deposit_history: list[dict[str, Any]]
    cancel_receipt_urls: list[str]
    cash_receipt_issued: bool
    customer_uid: str | None
    customer_uid_usage: str | None
    promotion: PromotionV1 | None


class PrepareV1(TypedDict):
    merchant_uid: str
    amount: int
    currency: str | None


class PagedPaymentsV1(TypedDict):
    total: int
    previous: int
    next: int
    list: list[PaymentV1]


#: A payment as an ORM entity or as a Core row of the ``payments`` table (same attribute names).
PaymentData = Payment | Row[Any]
#: A cancel as an ORM entity or a Core row of ``payment_cancels``: the V1 object reads the same names.
CancelData = PaymentCancel | Row[Any]


def cancel_to_v1(entry: CancelData) -> CancelHistoryV1:
    return {
        "pg_tid": entry.pg_tid,
        "amount": entry.amount,
        "cancelled_at": to_unix(entry.cancelled_at),
        "reason": entry.reason,
        "cancellation_id": entry.cancellation_id,
        "receipt_url": entry.receipt_url,
    }


def payment_to_v1(p: PaymentData, cancels: Sequence[CancelData] = ()) -> PaymentV1:
    return {
        "imp_uid": p.imp_uid,
        "merchant_uid": p.merchant_uid,
        "pay_method": p.pay_method,
        "channel": p.channel,
        "pg_provider": p.pg_provider,
        "emb_pg_provider": p.emb_pg_provider,
        "pg_tid": p.pg_tid,
        "pg_id": p.pg_id,
        "sandbox": p.sandbox,
        "escrow": p.escrow,
        "apply_num": p.apply_num,
        "bank_code": p.bank_code,
        "bank_name": p.bank_name,
        "card_code": p.card_code,
        "card_name": p.card_name,
        "card_issuer_code": p.card_issuer_code,
        "card_issuer_name": p.card_issuer_name,
        "card_publisher_code": p.card_publisher_code,
        "card_publisher_name": p.card_publisher_name,
        "card_quota": p.card_quota,
        "card_number": p.card_number,
        "card_type": p.card_type,
        "vbank_code": p.vbank_code,
        "vbank_name": p.vbank_name,
        "vbank_num": p.vbank_num,
        "vbank_holder": p.vbank_holder,
        "vbank_date": to_unix(p.vbank_date),
        "vbank_issued_at": to_unix(p.vbank_issued_at),
        "name": p.name,
        "amount": p.amount,
        "cancel_amount": p.cancel_amount,
        "currency": p.currency,
        "buyer_name": p.buyer_name,
        "buyer_email": p.buyer_email,
        "buyer_tel": p.buyer_tel,
        "buyer_addr": p.buyer_addr,
        "buyer_postcode": p.buyer_postcode,
        "custom_data": p.custom_data,
        "user_agent": p.user_agent,
        "status": p.status,
        "started_at": to_unix(p.started_at),
        "paid_at": to_unix(p.paid_at),
        "failed_at": to_unix(p.failed_at),
        "cancelled_at": to_unix(p.cancelled_at),
        "fail_reason": p.fail_reason,
        "cancel_reason": p.cancel_reason,
        "receipt_url": p.receipt_url,
        "cancel_history": [cancel_to_v1(c) for c in cancels],
        "deposit_history": [],
        "cancel_receipt_urls": [c.receipt_url for c in cancels if c.receipt_url],
        "cash_receipt_issued": p.cash_receipt_issued,
        "customer_uid": p.customer_uid,
        "customer_uid_usage": p.customer_uid_usage,
        "promotion": (
            {"id": p.promotion_id, "discount": p.promotion_discount or 0} if p.promotion_id is not None else None
        ),
    }


def prepare_to_v1(prepare: PaymentPrepare) -> PrepareV1:
    return {"merchant_uid": prepare.merchant_uid, "amount": prepare.amount, "currency": prepare.currency}


def page_links(total: int, page: int, limit: int) -> tuple[int, int]:
    """V1's ``previous``/``next``: page numbers, 0 when there is none."""
    return (page - 1 if page > 1 else 0, page + 1 if page * limit < total else 0)


def paged(total: int, page: int, limit: int, items: list[PaymentV1]) -> PagedPaymentsV1:
    """V1's paged object of payments."""
    previous, following = page_links(total, page, limit)
    return {"total": total, "previous": previous, "next": following, "list": items}
