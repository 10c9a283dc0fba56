"""``POST /payments/cancel``: full or partial refunds, checked against the balance, never twice.

1. Find the payment (``imp_uid`` wins over ``merchant_uid``), check the amount, ``tax_free`` and
   ``checksum`` against the cancellable balance, then claim the payment for this one cancel call
   (a conditional UPDATE: a concurrent cancel is refused) and commit.
2. Call the PG with an Idempotency-Key derived from the cancellation id, and with
   ``refundableAmount`` set to the balance Tollway knows, so the PG itself refuses a cancel
   computed from a stale balance.
3. Record every cancel the PG now shows. Without an answer the claim stays and
   ``payments.reconcile`` reads the payment back from the PG.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from tollway import v1texts
from tollway.db.models import Payment, PgChannel
from tollway.errors import BusinessError, InvalidRequest
from tollway.payments.ids import new_cancellation_id
from tollway.payments.ledger import cancellable_balance
from tollway.payments.pgsync import fail_reason, load_for_update, sync_cancels
from tollway.payments.states import PaymentStatus, begin_cancel, end_pg_call
from tollway.pg.base import CancelRequest, PgError, PgUnknown, RefundAccount
from tollway.pg.toss.codes import toss_bank_code
from tollway.services import Services
from tollway.webhooks import outbox

NOT_FOUND = "취소할 결제건이 존재하지 않습니다."
NEITHER = "imp_uid 또는 merchant_uid 중 하나를 지정해주셔야합니다."
ALREADY_CANCELLED = "이미 전액취소된 주문입니다. (payment {imp_uid} is already fully cancelled)"
NOT_PAID = "결제완료 상태가 아닌 결제건은 취소할 수 없습니다. (payment {imp_uid} is {status})"
OVER_REFUND = "취소 요청 금액이 취소 가능 금액을 초과합니다. (asked {amount}, cancellable {balance})"
CHECKSUM = (
    "취소 가능 잔액이 checksum과 일치하지 않습니다. "
    "(checksum {checksum} does not match the cancellable balance {balance}; nothing was cancelled)"
)
PG_REFUSED = "취소에 실패하였습니다. {reason}"
UNKNOWN_OUTCOME = (
    "PG사의 취소 결과를 확인하지 못했습니다. 결과를 자동으로 확인합니다. "
    "(no answer from the PG for the cancel of {imp_uid}; it is being reconciled)"
)
DEFAULT_REASON = "취소 요청"


@dataclass(frozen=True)
class CancelOrder:
    imp_uid: str | None
    merchant_uid: str | None
    amount: int | None  # None or 0: everything that is left
    tax_free: int | None
    checksum: int | None
    reason: str | None
    refund_holder: str | None = None
    refund_bank: str | None = None
    refund_account: str | None = None
    #: V1 notifies API cancels only when asked
    enable_webhook: bool = False


async def _find(services: Services, merchant_id: int, order: CancelOrder) -> Payment:
    async with services.sessions() as session:
        if order.imp_uid:
            payment = await session.scalar(
                select(Payment).where(Payment.merchant_id == merchant_id, Payment.imp_uid == order.imp_uid)
            )
        else:
            rows = await session.scalars(
                select(Payment)
                .where(Payment.merchant_id == merchant_id, Payment.merchant_uid == order.merchant_uid)
                .order_by(Payment.started_at.desc(), Payment.id.desc())
            )
            # A merchant_uid cancels its paid payment; with only failed or ready attempts there is
            # nothing to cancel (i'mport's "취소할 결제건이 존재하지 않습니다."), unlike an explicit imp_uid.
            candidates = list(rows)
            payment = next((p for p in candidates if p.status == PaymentStatus.PAID), None) or next(
                (p for p in candidates if p.status == PaymentStatus.CANCELLED), None
            )
    if payment is None:
        raise BusinessError(NOT_FOUND)
    return payment


def _refund_account(order: CancelOrder) -> RefundAccount | None:
    given = [order.refund_holder, order.refund_bank, order.refund_account]
    if not any(given):
        return None
    if not all(given):
        missing = next(n for n in ("refund_holder", "refund_bank", "refund_account") if not getattr(order, n))
        raise v1texts.invalid(missing, "refund_holder, refund_bank and refund_account go together", v1texts.MISSING)
    assert order.refund_bank and order.refund_account and order.refund_holder
    bank = toss_bank_code(order.refund_bank)
    if bank is None:
        raise v1texts.invalid("refund_bank", "not a bank code (use KFTC codes such as 004)")
    number = order.refund_account.replace("-", "").strip()
    if not number.isdigit() or len(number) > 20:
        raise v1texts.invalid("refund_account", "up to 20 digits (dashes allowed)")
    return RefundAccount(bank=bank, number=number, holder=order.refund_holder.strip())


async def cancel_payment(services: Services, merchant_id: int, order: CancelOrder) -> Payment:
    if not order.imp_uid and not order.merchant_uid:
        raise InvalidRequest(NEITHER, detail="give imp_uid or merchant_uid")
    refund = _refund_account(order)
    payment = await _find(services, merchant_id, order)
    if payment.status == PaymentStatus.CANCELLED:
        raise BusinessError(ALREADY_CANCELLED.format(imp_uid=payment.imp_uid))
    if payment.status != PaymentStatus.PAID:
        raise BusinessError(NOT_PAID.format(imp_uid=payment.imp_uid, status=payment.status))
    balance = cancellable_balance(payment)
    if order.checksum is not None and order.checksum != balance:
        raise BusinessError(CHECKSUM.format(checksum=order.checksum, balance=balance))
    amount = order.amount or balance
    if amount > balance:
        raise BusinessError(OVER_REFUND.format(amount=amount, balance=balance))
    tax_free = order.tax_free or 0
    if tax_free > amount:
        raise v1texts.invalid("tax_free", f"{tax_free} cannot exceed the amount to cancel ({amount})")
    cancellation_id = new_cancellation_id()
    async with services.sessions() as session:
        payment = await load_for_update(session, payment.id)
        if cancellable_balance(payment) != balance:  # changed since it was read: check again
            raise BusinessError(CHECKSUM.format(checksum=balance, balance=cancellable_balance(payment)))
        await begin_cancel(session, payment, cancellation_id, amount, services.clock.now())
        channel = await session.get(PgChannel, payment.channel_id) if payment.channel_id else None
        await session.commit()
    if channel is None or payment.pg_tid is None:
        raise BusinessError(f"payment {payment.imp_uid} has no PG transaction to cancel")
    request = CancelRequest(
        reason=(order.reason or DEFAULT_REASON)[:200],
        amount=amount,
        tax_free=tax_free,
        expected_balance=balance,
        refund_account=refund,
    )
    connector = await services.pg.for_channel(channel)
    try:
        result = await connector.cancel(
            payment.pg_tid, request, idempotency_key=f"tollway-{payment.imp_uid}-cancel-{cancellation_id}"
        )
    except PgUnknown:
        raise BusinessError(UNKNOWN_OUTCOME.format(imp_uid=payment.imp_uid), code=-1) from None
    except PgError as exc:
        async with services.sessions() as session:
            payment = await load_for_update(session, payment.id)
            end_pg_call(payment, services.clock.now())
            await session.commit()
        raise BusinessError(PG_REFUSED.format(reason=fail_reason(exc))) from None
    async with services.sessions() as session:
        payment = await load_for_update(session, payment.id)
        now = services.clock.now()
        added = await sync_cancels(session, payment, result, now, cancellation_id=cancellation_id)
        end_pg_call(payment, now)
        if order.enable_webhook and added:
            cancellation = added[-1].cancellation_id
            await outbox.enqueue(session, payment, PaymentStatus.CANCELLED, now, cancellation_id=cancellation)
        await session.commit()
        return payment
