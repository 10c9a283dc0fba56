"""The state machine, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tollway.db.models import Payment
from tollway.payments.states import IllegalTransition, PaymentStatus, transition

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _payment(status: PaymentStatus) -> Payment:
    return Payment(imp_uid="imp_000000000001", merchant_uid="m", status=status, merchant_uid_hold=None)


@pytest.mark.parametrize(
    ("start", "to"),
    [("ready", "paid"), ("ready", "failed"), ("ready", "cancelled"), ("paid", "cancelled")],
)
def test_allowed_moves_stamp_their_time(start: str, to: str) -> None:
    payment = _payment(PaymentStatus(start))
    transition(payment, PaymentStatus(to), AT)
    assert payment.status == to and payment.updated_at == AT
    assert getattr(payment, f"{to}_at") == AT


@pytest.mark.parametrize(
    ("start", "to"),
    [
        ("paid", "ready"),
        ("paid", "failed"),
        ("paid", "paid"),
        ("failed", "paid"),
        ("cancelled", "paid"),
        ("cancelled", "ready"),
        ("failed", "cancelled"),
        ("ready", "ready"),
    ],
)
def test_every_other_move_is_refused(start: str, to: str) -> None:
    payment = _payment(PaymentStatus(start))
    with pytest.raises(IllegalTransition) as refused:
        transition(payment, PaymentStatus(to), AT)
    assert refused.value.payment is payment and payment.status == start


def test_only_a_paid_payment_holds_its_merchant_uid() -> None:
    payment = _payment(PaymentStatus.READY)
    transition(payment, PaymentStatus.PAID, AT)
    assert payment.merchant_uid_hold == "m"
    transition(payment, PaymentStatus.CANCELLED, AT)
    assert payment.merchant_uid_hold is None
