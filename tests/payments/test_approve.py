"""Settling an approval call's outcome: written without a read while the row is as the call began,
and by the locked read when something settled it meanwhile."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from tests.conftest import MerchantFixture
from tests.ledger_helpers import get_row
from tollway.clock import ManualClock
from tollway.db.models import Payment, PgChannel, WebhookNotification, WebhookSettings
from tollway.payments import approve
from tollway.payments.approve import open_for_approval, settle_approval, settle_failure
from tollway.payments.ledger import PaymentRequest, mark_failed
from tollway.payments.pgsync import load_for_update
from tollway.pg.base import PgPayment
from tollway.services import Services


def clock_now(services: Services) -> datetime:
    return services.clock.now()


def _approved(order_id: str, at_: ManualClock) -> PgPayment:
    now = at_.now()
    return PgPayment("pk_1", order_id, "DONE", "카드", 1000, 1000, now, now + timedelta(seconds=1))


async def _opened(services: Services, merchant: MerchantFixture, merchant_uid: str) -> Payment:
    async with services.sessions() as session:
        channel = await session.scalar(select(PgChannel).where(PgChannel.merchant_id == merchant.id))
        assert channel is not None
        session.expunge(channel)
    return await open_for_approval(
        services, merchant.id, channel, PaymentRequest(merchant_uid=merchant_uid, amount=1000)
    )


async def _notifications(services: Services, imp_uid: str) -> list[str]:
    async with services.sessions() as session:
        rows = await session.scalars(select(WebhookNotification.status).where(WebhookNotification.imp_uid == imp_uid))
        return list(rows)


async def _with_webhooks(services: Services, merchant: MerchantFixture) -> None:
    async with services.sessions() as session:
        session.add(
            WebhookSettings(
                merchant_id=merchant.id, default_url="https://merchant.example/hook", updated_at=clock_now(services)
            )
        )
        await session.commit()


async def test_an_approval_settles_the_payment_as_its_call_began(
    services: Services, merchant: MerchantFixture, clock: ManualClock
) -> None:
    await _with_webhooks(services, merchant)
    opened = await _opened(services, merchant, "settle-1")
    paid = await settle_approval(services, opened, _approved(opened.imp_uid, clock))
    row = await get_row(services, opened.imp_uid)
    assert (paid.status, row.status, row.pg_tid, row.pg_op, row.merchant_uid_hold) == (
        "paid", "paid", "pk_1", None, "settle-1"
    )  # fmt: skip
    assert row.paid_at == paid.paid_at and row.updated_at == paid.updated_at
    assert await _notifications(services, row.imp_uid) == ["paid"]


async def test_a_payment_settled_meanwhile_keeps_that_outcome(
    services: Services, merchant: MerchantFixture, clock: ManualClock
) -> None:
    """Reconciliation failed it while the call was in flight: the late approval finds the row
    changed, reads it locked, and records nothing over it (as it always did)."""
    await _with_webhooks(services, merchant)
    opened = await _opened(services, merchant, "settle-2")
    async with services.sessions() as session:
        locked = await load_for_update(session, opened.id)
        mark_failed(locked, "no record at the PG", clock.now())
        await session.commit()
    kept = await settle_approval(services, opened, _approved(opened.imp_uid, clock))
    row = await get_row(services, opened.imp_uid)
    assert (kept.status, row.status, row.fail_reason, row.pg_tid) == ("failed", "failed", "no record at the PG", None)
    assert await _notifications(services, row.imp_uid) == []
    # a decline arriving just as late changes nothing either
    again = await settle_failure(services, opened, "declined")
    assert (again.status, (await get_row(services, row.imp_uid)).fail_reason) == ("failed", "no record at the PG")


async def test_a_row_that_began_another_call_is_not_written_from_the_old_one(
    services: Services, merchant: MerchantFixture, clock: ManualClock
) -> None:
    """The guard is the call itself: the same status and key with another start time is another call."""
    opened = await _opened(services, merchant, "settle-3")
    async with services.sessions() as session:
        locked = await load_for_update(session, opened.id)
        locked.pg_op_at = clock.now() + timedelta(seconds=5)
        await session.commit()
    unwritten = await approve._settle_in_flight(
        services, opened, lambda p: mark_failed(p, "declined", clock.now()), None, None, clock.now()
    )
    row = await get_row(services, opened.imp_uid)
    assert unwritten is None and (row.status, row.pg_op) == ("ready", "approve")
    failed = await settle_failure(services, opened, "declined")  # the locked read settles the row as it is now
    assert failed.status == "failed" and failed.pg_op_at is None
    async with services.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(WebhookNotification))
    assert count == 0  # an API charge's failure is not notified
