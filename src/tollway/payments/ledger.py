"""Writing the ledger: opening a payment and recording what the PG answered. Callers commit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.db.models import Payment, PaymentCancel, PgChannel
from tollway.errors import BusinessError
from tollway.payments.ids import new_cancellation_id, new_imp_uid
from tollway.payments.states import PaymentStatus, transition

ALREADY_PAID = "이미 결제가 완료된 merchant_uid입니다. (merchant_uid {merchant_uid} already has a paid payment)"


@dataclass(frozen=True)
class PaymentRequest:
    merchant_uid: str
    amount: int
    name: str | None = None
    pay_method: str = "card"
    channel: str = "api"
    currency: str = "KRW"
    tax_free: int = 0
    vat_amount: int | None = None
    buyer_name: str | None = None
    buyer_email: str | None = None
    buyer_tel: str | None = None
    buyer_addr: str | None = None
    buyer_postcode: str | None = None
    custom_data: str | None = None
    user_agent: str | None = None
    notice_urls: Sequence[str] = ()
    card_quota: int = 0
    escrow: bool = False
    customer_uid: str | None = None
    customer_uid_usage: str | None = None


def new_payment(merchant_id: int, channel: PgChannel, request: PaymentRequest, at: datetime) -> Payment:
    """A ``ready`` payment with a fresh ``imp_uid``, not yet added to a session."""
    return Payment(
        imp_uid=new_imp_uid(),
        merchant_id=merchant_id,
        channel_id=channel.id,
        merchant_uid=request.merchant_uid,
        merchant_uid_hold=None,
        pay_method=request.pay_method,
        channel=request.channel,
        pg_provider=channel.pg_provider,
        pg_id=channel.mid,
        sandbox=channel.sandbox,
        escrow=request.escrow,
        card_quota=request.card_quota,
        name=request.name,
        amount=request.amount,
        cancel_amount=0,
        tax_free=request.tax_free,
        vat_amount=request.vat_amount,
        currency=request.currency,
        buyer_name=request.buyer_name,
        buyer_email=request.buyer_email,
        buyer_tel=request.buyer_tel,
        buyer_addr=request.buyer_addr,
        buyer_postcode=request.buyer_postcode,
        custom_data=request.custom_data,
        user_agent=request.user_agent,
        notice_url=json.dumps(list(request.notice_urls)) if request.notice_urls else None,
        status=PaymentStatus.READY,
        started_at=at,
        updated_at=at,
        customer_uid=request.customer_uid,
        customer_uid_usage=request.customer_uid_usage,
        cash_receipt_issued=False,
    )


async def open_payment(
    session: AsyncSession, merchant_id: int, channel: PgChannel, request: PaymentRequest, at: datetime
) -> Payment:
    """A new ``ready`` payment with a fresh ``imp_uid`` (regenerated in the rare case of a collision)."""
    for _ in range(5):
        payment = new_payment(merchant_id, channel, request, at)
        try:
            async with session.begin_nested():
                session.add(payment)
                await session.flush()
        except IntegrityError:
            continue
        return payment
    raise RuntimeError("could not draw a free imp_uid in 5 tries")  # pragma: no cover


@dataclass(frozen=True)
class CardApproval:
    pg_tid: str
    apply_num: str | None = None
    card_code: str | None = None
    card_name: str | None = None
    card_number: str | None = None  # masked
    card_type: int | None = None
    card_quota: int = 0
    receipt_url: str | None = None
    card_issuer_code: str | None = None
    card_issuer_name: str | None = None
    card_publisher_code: str | None = None
    card_publisher_name: str | None = None
    bank_code: str | None = None  # KFTC; an account transfer's bank
    bank_name: str | None = None
    emb_pg_provider: str | None = None  # an easy pay inside the PG's window (kakaopay…)


@dataclass(frozen=True)
class VirtualAccount:
    pg_tid: str
    vbank_code: str | None  # KFTC
    vbank_name: str | None
    vbank_num: str
    vbank_date: datetime | None
    receipt_url: str | None = None


def record_vbank_issued(payment: Payment, account: VirtualAccount, at: datetime) -> None:
    """A virtual account was issued for a ``ready`` payment: it stays ``ready`` until the deposit.
    V1 leaves ``vbank_holder`` null for tosspayments (the holder is the merchant's name)."""
    if payment.status != PaymentStatus.READY:
        raise BusinessError(f"결제건({payment.imp_uid})은 {payment.status} 상태라 가상계좌를 발급할 수 없습니다.")
    payment.pg_tid = account.pg_tid
    payment.vbank_code = account.vbank_code
    payment.vbank_name = account.vbank_name
    payment.vbank_num = account.vbank_num
    payment.vbank_date = account.vbank_date
    payment.vbank_holder = None
    payment.vbank_issued_at = at
    payment.receipt_url = account.receipt_url
    payment.updated_at = at


async def mark_paid(session: AsyncSession, payment: Payment, approval: CardApproval, at: datetime) -> None:
    """``ready → paid``. A second paid payment for the same merchant_uid is refused by the database."""
    if record_paid(payment, approval, at):  # it held its merchant_uid through the PG call already
        return
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise BusinessError(ALREADY_PAID.format(merchant_uid=payment.merchant_uid)) from None


def record_paid(payment: Payment, approval: CardApproval, at: datetime) -> bool:
    """``ready → paid`` on the payment's values, through the state machine; returns whether the
    payment held its merchant_uid already (then no other payment can collide with it)."""
    held = payment.merchant_uid_hold == payment.merchant_uid
    transition(payment, PaymentStatus.PAID, at)
    payment.pg_tid = approval.pg_tid
    payment.apply_num = approval.apply_num
    payment.card_code = approval.card_code
    payment.card_name = approval.card_name
    payment.card_number = approval.card_number
    payment.card_type = approval.card_type
    payment.card_quota = approval.card_quota
    payment.receipt_url = approval.receipt_url
    payment.card_issuer_code = approval.card_issuer_code
    payment.card_issuer_name = approval.card_issuer_name
    payment.card_publisher_code = approval.card_publisher_code
    payment.card_publisher_name = approval.card_publisher_name
    if approval.emb_pg_provider:
        payment.emb_pg_provider = approval.emb_pg_provider
    if approval.bank_code or approval.bank_name:
        payment.bank_code = approval.bank_code
        payment.bank_name = approval.bank_name
    return held


def mark_failed(payment: Payment, reason: str, at: datetime) -> None:
    transition(payment, PaymentStatus.FAILED, at)
    payment.fail_reason = reason


def cancellable_balance(payment: Payment) -> int:
    return payment.amount - payment.cancel_amount


def record_cancel(
    session: AsyncSession,
    payment: Payment,
    amount: int,
    at: datetime,
    *,
    reason: str | None,
    pg_tid: str | None,
    tax_free: int = 0,
    receipt_url: str | None = None,
    cancellation_id: str | None = None,
) -> PaymentCancel:
    """Appends one ``cancel_history`` entry; the last won refunded moves the payment to ``cancelled``."""
    if payment.status != PaymentStatus.PAID:
        raise BusinessError(f"결제건({payment.imp_uid})은 {payment.status} 상태라 취소할 수 없습니다.")
    if not 0 < amount <= cancellable_balance(payment):
        raise BusinessError(
            f"취소 금액이 취소 가능 금액을 넘습니다. (asked {amount}, cancellable {cancellable_balance(payment)})"
        )
    entry = PaymentCancel(
        payment_id=payment.id,
        cancellation_id=cancellation_id or new_cancellation_id(),
        pg_tid=pg_tid,
        amount=amount,
        tax_free=tax_free,
        reason=reason,
        receipt_url=receipt_url,
        cancelled_at=at,
    )
    session.add(entry)
    payment.cancel_amount += amount
    payment.cancel_reason = reason
    payment.updated_at = at
    if payment.cancel_amount == payment.amount:
        transition(payment, PaymentStatus.CANCELLED, at)
    else:
        payment.cancelled_at = at
    return entry
