"""The payment state machine: the only code that changes ``Payment.status``.

    ready ──▶ paid ──▶ cancelled        (a partial cancel keeps ``paid``; the last won refunded
      │                                   moves it to ``cancelled``)
      ├────▶ failed
      └────▶ cancelled                   (an unpaid virtual account revoked)

``failed`` and ``cancelled`` are final. A payment *holds* its merchant_uid while it is ``paid``:
the unique ``(merchant_id, merchant_uid_hold)`` index then makes a second paid payment for the
same merchant_uid impossible, whatever the race.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

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
    if to is PaymentStatus.PAID:
        payment.paid_at = at
    elif to is PaymentStatus.FAILED:
        payment.failed_at = at
    elif to is PaymentStatus.CANCELLED:
        payment.cancelled_at = at
