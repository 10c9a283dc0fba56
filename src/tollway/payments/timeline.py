"""A payment's story for the console, oldest first: its state changes, the PG calls made for it
(with the Idempotency-Key each one carried and how it ended), its cancels, and the notifications
sent about it with every delivery attempt.

The PG calls are not a table of their own: every call's key is derived from Tollway's records
(``tollway-{imp_uid}-approve``, ``tollway-{imp_uid}-cancel-{cancellation_id}``, see
``docs/architecture.md``), and its outcome is the state it left, or ``pg_op`` while it is open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tollway.db.engine import Reader
from tollway.db.models import Payment, PaymentCancel, WebhookAttempt, WebhookNotification
from tollway.payments.states import PaymentStatus, PgOp


@dataclass(frozen=True)
class Event:
    at: datetime
    #: started | vbank_issued | paid | failed | cancelled | pg_call | cancel | webhook
    kind: str
    summary: str = ""
    idempotency_key: str | None = None
    outcome: str | None = None
    amount: int | None = None
    attempts: list[Any] = field(default_factory=list)
    webhook_id: str | None = None


def approval_key(imp_uid: str) -> str:
    return f"tollway-{imp_uid}-approve"


def cancel_key(imp_uid: str, cancellation_id: str) -> str:
    return f"tollway-{imp_uid}-cancel-{cancellation_id}"


async def timeline(reader: Reader, payment: Any) -> list[Event]:
    """``payment`` is a row of the merchant's own payment (the caller scoped it)."""
    events = [Event(payment.started_at, "started", payment.name or "")]
    if payment.channel_id is not None and (payment.pg_tid or payment.failed_at or payment.pg_op == PgOp.APPROVE):
        if payment.pg_op == PgOp.APPROVE:
            outcome, at = "pending", payment.pg_op_at or payment.started_at
        elif payment.failed_at is not None:
            outcome, at = "failed", payment.failed_at
        else:
            outcome, at = ("ready" if payment.status == PaymentStatus.READY else "paid"), payment.paid_at
        events.append(
            Event(
                at or payment.started_at,
                "pg_call",
                "approve",
                idempotency_key=approval_key(payment.imp_uid),
                outcome=outcome,
            )
        )
    if payment.vbank_issued_at is not None:
        events.append(
            Event(payment.vbank_issued_at, "vbank_issued", f"{payment.vbank_name or ''} {payment.vbank_num or ''}")
        )
    if payment.paid_at is not None:
        events.append(Event(payment.paid_at, "paid", amount=payment.amount))
    if payment.failed_at is not None:
        events.append(Event(payment.failed_at, "failed", payment.fail_reason or ""))
    cancels = await reader.execute(
        select(PaymentCancel.__table__).where(PaymentCancel.payment_id == payment.id).order_by(PaymentCancel.id)
    )
    for c in cancels:
        key = cancel_key(payment.imp_uid, c.cancellation_id)
        events.append(
            Event(c.cancelled_at, "cancel", c.reason or "", idempotency_key=key, outcome="cancelled", amount=c.amount)
        )
    if payment.pg_op == PgOp.CANCEL and payment.pg_op_key:
        key = cancel_key(payment.imp_uid, payment.pg_op_key)
        at = payment.pg_op_at or payment.updated_at
        events.append(
            Event(at, "pg_call", "cancel", idempotency_key=key, outcome="pending", amount=payment.pg_op_amount)
        )
    if payment.cancelled_at is not None and payment.status == PaymentStatus.CANCELLED:
        events.append(Event(payment.cancelled_at, "cancelled", payment.cancel_reason or ""))
    events.extend(await _webhooks(reader, payment))
    return sorted(events, key=lambda e: e.at)


async def _webhooks(reader: Reader, payment: Any) -> list[Event]:
    rows = list(
        await reader.execute(
            select(WebhookNotification.__table__)
            .where(
                WebhookNotification.merchant_id == payment.merchant_id, WebhookNotification.imp_uid == payment.imp_uid
            )
            .order_by(WebhookNotification.id)
        )
    )
    attempts: dict[int, list[Any]] = {r.id: [] for r in rows}
    if attempts:
        for a in await reader.execute(
            select(WebhookAttempt.__table__)
            .where(WebhookAttempt.notification_id.in_(list(attempts)))
            .order_by(WebhookAttempt.id)
        ):
            attempts[a.notification_id].append(a)
    return [
        Event(
            r.created_at,
            "webhook",
            f"{r.status} → {r.url}",
            outcome=r.state,
            attempts=attempts[r.id],
            webhook_id=r.webhook_id,
        )
        for r in rows
    ]


async def payment_row(reader: Reader, merchant_id: int, imp_uid: str) -> Any:
    """The merchant's payment as a Core row, or None (another merchant's does not exist)."""
    return (
        await reader.execute(
            select(Payment.__table__).where(Payment.imp_uid == imp_uid, Payment.merchant_id == merchant_id)
        )
    ).one_or_none()
