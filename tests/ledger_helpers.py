"""Putting payments in the ledger for lookup tests, through the same ledger functions the flows use."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tollway.db.models import Payment, PgChannel
from tollway.payments.ledger import CardApproval, PaymentRequest, mark_failed, mark_paid, open_payment, record_cancel
from tollway.services import Services


async def seed_payment(
    services: Services,
    merchant_id: int,
    merchant_uid: str,
    amount: int = 1004,
    *,
    status: str = "paid",
    cancel: int = 0,
    custom_data: str | None = None,
    after: timedelta = timedelta(seconds=1),
) -> str:
    """A payment that reached ``status``; the clock moves forward by ``after`` so ordering is stable."""
    clock = services.clock
    clock.advance(seconds=after.total_seconds())  # type: ignore[attr-defined]
    async with services.sessions() as session:
        channel = await session.scalar(select(PgChannel).where(PgChannel.merchant_id == merchant_id))
        assert channel is not None
        payment = await open_payment(
            session,
            merchant_id,
            channel,
            PaymentRequest(
                merchant_uid=merchant_uid, amount=amount, name="당근 10kg", buyer_name="홍길동", custom_data=custom_data
            ),
            clock.now(),
        )
        if status in ("paid", "cancelled"):
            await mark_paid(
                session,
                payment,
                CardApproval(
                    pg_tid=f"tgen_{payment.imp_uid}",
                    apply_num="42827474",
                    card_code="366",
                    card_name="신한카드",
                    card_number="536648******1234",
                    card_type=0,
                ),
                clock.now(),
            )
        elif status == "failed":
            mark_failed(payment, "카드 한도 초과", clock.now())
        if status == "cancelled" or cancel:
            record_cancel(session, payment, cancel or amount, clock.now(), reason="고객요청", pg_tid=payment.pg_tid)
        await session.commit()
        return payment.imp_uid


async def get_row(services: Services, imp_uid: str) -> Payment:
    async with services.sessions() as session:
        row = await session.scalar(select(Payment).where(Payment.imp_uid == imp_uid))
        assert row is not None
        return row
