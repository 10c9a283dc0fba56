"""The payment state machine: the only code that changes ``Payment.status``.

    ready ──▶ paid ──▶ cancelled        (a partial cancel keeps ``paid``; the last won refunded
      │                                   moves it to ``cancelled``)
      ├────▶ failed
      └────▶ cancelled                   (an unpaid virtual account revoked)

``failed`` and ``cancelled`` are final. A payment *holds* its merchant_uid while it is ``paid``
or while its approval call is at the PG: the unique ``(merchant_id, merchant_uid_hold)`` index
then makes a second charge for the same merchant_uid impossible, whatever the race.

A call to the PG is bracketed: ``begin_pg_call`` records it (committed before the call), and the
outcome ends it (``transition`` for an approval, ``end_pg_call`` for a cancel). A call left open
by a timeout or a crash is resolved by ``payments.reconcile``. One call per payment at a time.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.db.models import Payment
from tollway.errors import BusinessError


class PaymentStatus(StrEnum):
    READY = "ready"
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"


TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.READY: frozenset({PaymentStatus.PAID, PaymentStatus.FAILED, PaymentStatus.CANCELLED}),
    PaymentStatus.PAID: frozenset({PaymentStatus.CANCELLED}),
    PaymentStatus.FAILED: frozenset(),
    PaymentStatus.CANCELLED: frozenset(),
}

HOLDS_MERCHANT_UID = frozenset({PaymentStatus.PAID})


class PgOp(StrEnum):
    APPROVE = "approve"
    CANCEL = "cancel"


BUSY = (
    "이 결제건에 대한 다른 요청이 처리 중입니다. 잠시 후 다시 시도해주세요. "
    "(another PG call for {imp_uid} is in progress)"
)


class IllegalTransition(BusinessError):
    def __init__(self, payment: Payment, to: PaymentStatus) -> None:
        super().__init__(f"결제건({payment.imp_uid})의 상태를 {payment.status}에서 {to}(으)로 바꿀 수 없습니다.")
        self.payment = payment
        self.to = to


def can_transition(current: str, to: PaymentStatus) -> bool:
    return to in TRANSITIONS[PaymentStatus(current)]


def transition(payment: Payment, to: PaymentStatus, at: datetime) -> None:
    """Moves ``payment`` to ``to`` and stamps the matching timestamp. Raises ``IllegalTransition``."""
    if not can_transition(payment.status, to):
        raise IllegalTransition(payment, to)
    payment.status = to
    payment.updated_at = at
    payment.merchant_uid_hold = payment.merchant_uid if to in HOLDS_MERCHANT_UID else None
    if payment.pg_op == PgOp.APPROVE:
        _clear_pg_call(payment)
    if to is PaymentStatus.PAID:
        payment.paid_at = at
    elif to is PaymentStatus.FAILED:
        payment.failed_at = at
    elif to is PaymentStatus.CANCELLED:
        payment.cancelled_at = at


def begin_approval(payment: Payment, at: datetime) -> None:
    """A ``ready`` payment goes to the PG: it holds its merchant_uid until the outcome is known."""
    if payment.status != PaymentStatus.READY or payment.pg_op is not None:
        raise IllegalTransition(payment, PaymentStatus.PAID)
    payment.pg_op = PgOp.APPROVE
    payment.pg_op_key = payment.imp_uid
    payment.pg_op_at = at
    payment.pg_op_amount = payment.amount
    payment.merchant_uid_hold = payment.merchant_uid
    payment.updated_at = at


async def begin_cancel(
    session: AsyncSession, payment: Payment, cancellation_id: str, amount: int, at: datetime
) -> None:
    """Claims the payment for one cancel call. Atomic across processes: the UPDATE matches only a
    ``paid`` payment with no call in flight and the cancelled amount the caller checked against."""
    if payment.status != PaymentStatus.PAID:
        raise IllegalTransition(payment, PaymentStatus.CANCELLED)
    result = await session.execute(
        update(Payment)
        .where(
            Payment.id == payment.id,
            Payment.status == PaymentStatus.PAID,
            Payment.pg_op.is_(None),
            Payment.cancel_amount == payment.cancel_amount,
        )
        .values(pg_op=PgOp.CANCEL, pg_op_key=cancellation_id, pg_op_at=at, pg_op_amount=amount)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        raise BusinessError(BUSY.format(imp_uid=payment.imp_uid))
    payment.pg_op = PgOp.CANCEL
    payment.pg_op_key = cancellation_id
    payment.pg_op_at = at
    payment.pg_op_amount = amount


async def begin_revoke(session: AsyncSession, payment: Payment, key: str, at: datetime) -> None:
    """Claims an unpaid virtual account for the call that cancels it at the PG (``ready →
    cancelled`` once the PG confirms). Atomic across processes, as ``begin_cancel``."""
    if payment.status != PaymentStatus.READY or payment.vbank_num is None:
        raise IllegalTransition(payment, PaymentStatus.CANCELLED)
    result = await session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status == PaymentStatus.READY, Payment.pg_op.is_(None))
        .values(pg_op=PgOp.CANCEL, pg_op_key=key, pg_op_at=at, pg_op_amount=payment.amount)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        raise BusinessError(BUSY.format(imp_uid=payment.imp_uid))
    payment.pg_op = PgOp.CANCEL
    payment.pg_op_key = key
    payment.pg_op_at = at
    payment.pg_op_amount = payment.amount


def end_pg_call(payment: Payment, at: datetime) -> None:
    """The call's outcome is recorded (or known never to have happened). For an approval that did
    not end in ``paid``/``failed`` (e.g. the PG has no record) the payment stays ``ready``."""
    _clear_pg_call(payment)
    payment.merchant_uid_hold = payment.merchant_uid if payment.status in HOLDS_MERCHANT_UID else None
    payment.updated_at = at


def _clear_pg_call(payment: Payment) -> None:
    payment.pg_op = None
    payment.pg_op_key = None
    payment.pg_op_at = None
    payment.pg_op_amount = None
