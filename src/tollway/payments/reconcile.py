"""Settling PG calls whose answer never arrived (timeout, lost connection, crash).

A payment with ``pg_op`` set is a call Tollway made without recording its outcome. Once the call
is old enough to no longer be in flight, the PG is asked what happened:

- approval: the order (``orderId`` = imp_uid) is looked up. Approved → ``paid`` (plus any cancels
  it shows); ABORTED/EXPIRED → ``failed``; no record → ``failed`` once ``grace`` has passed (the
  PG never saw the request), else left for the next round; no answer → left for the next round.
- cancel: the payment is read back and every cancel the PG shows is recorded; the claim is then
  released (a cancel the PG does not show never happened). For an unpaid virtual account being
  revoked, an account the PG shows cancelled makes the payment ``cancelled``.

It runs on demand (``tollway reconcile``) and periodically inside ``tollway serve``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from sqlalchemy import select

from tollway.clock import rest
from tollway.db.models import Payment, PgChannel
from tollway.payments.pgsync import apply_approval, apply_failure, apply_revoke_outcome, load_for_update, sync_cancels
from tollway.payments.states import PaymentStatus, PgOp, end_pg_call
from tollway.pg.base import PgNotFound, PgPayment, PgUnknown
from tollway.services import Services

log = structlog.get_logger("tollway.reconcile")


@dataclass
class ReconcileReport:
    paid: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cancels_recorded: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    still_pending: list[str] = field(default_factory=list)

    @property
    def settled(self) -> int:
        return len(self.paid) + len(self.failed) + len(self.cancels_recorded) + len(self.released)


async def pending_payments(services: Services, *, min_age: timedelta, limit: int = 500) -> list[int]:
    cutoff = services.clock.now() - min_age
    async with services.sessions() as session:
        rows = await session.scalars(
            select(Payment.id)
            .where(Payment.pg_op.is_not(None), Payment.pg_op_at <= cutoff)
            .order_by(Payment.pg_op_at)
            .limit(limit)
        )
        return list(rows)


async def reconcile(
    services: Services,
    *,
    min_age: timedelta | None = None,
    grace: timedelta | None = None,
    limit: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> ReconcileReport:
    """Settles what it can of the pending calls; ``progress(done, total)`` hears of each one."""
    settings = services.settings
    min_age = min_age if min_age is not None else timedelta(seconds=settings.reconcile_after_seconds)
    grace = grace if grace is not None else timedelta(seconds=settings.reconcile_grace_seconds)
    report = ReconcileReport()
    pending = await pending_payments(services, min_age=min_age, limit=limit)
    for done, payment_id in enumerate(pending, 1):
        await reconcile_one(services, payment_id, grace, report)
        if progress is not None:
            progress(done, len(pending))
    return report


async def reconcile_one(services: Services, payment_id: int, grace: timedelta, report: ReconcileReport) -> None:
    async with services.sessions() as session:
        payment = await session.get(Payment, payment_id)
        if payment is None or payment.pg_op is None:
            return
        channel = await session.get(PgChannel, payment.channel_id) if payment.channel_id else None
    if channel is None:
        report.still_pending.append(payment.imp_uid)
        return
    connector = await services.pg.for_channel(channel)
    op, imp_uid, started = payment.pg_op, payment.imp_uid, payment.pg_op_at
    found: PgPayment | None = None
    try:
        if op == PgOp.APPROVE:
            found = await connector.get_payment_by_order(imp_uid)
        elif payment.pg_tid is not None:
            found = await connector.get_payment(payment.pg_tid)
    except PgNotFound:
        found = None
    except PgUnknown as exc:
        log.warning("reconcile: the PG did not answer", imp_uid=imp_uid, code=exc.code)
        report.still_pending.append(imp_uid)
        return
    now = services.clock.now()
    overdue = started is not None and now - started >= grace
    async with services.sessions() as session:
        payment = await load_for_update(session, payment_id)
        if payment.pg_op != op or payment.pg_op_at != started:
            return  # settled meanwhile by someone else
        if op == PgOp.APPROVE:
            if found is not None and (found.is_approved or found.is_waiting_for_deposit):
                await apply_approval(session, payment, found, now)  # a virtual account is issued, not paid
                report.paid.append(imp_uid)
            elif found is not None and found.is_failed:
                await apply_failure(session, payment, f"[{found.failure_code}] {found.failure_message}", now)
                report.failed.append(imp_uid)
            elif found is None and overdue:
                reason = "PG사에 결제 기록이 없습니다. (the PG has no record of this order)"
                await apply_failure(session, payment, reason, now)
                report.failed.append(imp_uid)
            else:
                report.still_pending.append(imp_uid)
                return
            if payment.pg_op is not None:
                end_pg_call(payment, now)
        elif payment.status == PaymentStatus.READY:  # an unpaid virtual account being revoked
            if not await apply_revoke_outcome(session, payment, found, now, release=overdue):
                report.still_pending.append(imp_uid)
                return
            settled = report.cancels_recorded if payment.status == PaymentStatus.CANCELLED else report.released
            settled.append(imp_uid)
        else:
            added = await sync_cancels(session, payment, found, now, cancellation_id=payment.pg_op_key) if found else []
            if added:
                report.cancels_recorded.append(imp_uid)
            elif not overdue:
                report.still_pending.append(imp_uid)
                return
            else:
                report.released.append(imp_uid)
            if payment.status in (PaymentStatus.PAID, PaymentStatus.CANCELLED):
                end_pg_call(payment, now)
        await session.commit()
    log.info("reconciled", imp_uid=imp_uid, op=op, status=payment.status)


async def run_periodically(services: Services, interval: float, stop: asyncio.Event) -> None:
    """The reconciler loop of ``tollway serve``; errors are logged and the loop goes on. Setting
    ``stop`` ends it after the round in progress."""
    while True:
        await rest(stop, interval)
        if stop.is_set():
            return
        try:
            report = await reconcile(services)
            if report.settled:
                log.info("reconcile round", settled=report.settled, pending=len(report.still_pending))
        except Exception as exc:
            log.error("reconcile round failed", error_type=type(exc).__name__)
