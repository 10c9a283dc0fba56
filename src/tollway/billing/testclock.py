"""Time travel for tests and demos: a sandbox merchant's clock, moved forward on demand.

Advancing it by N seconds makes every pending schedule of the merchant's *sandbox* customers due N
seconds earlier (their ``due_at`` moves; ``schedule_at`` stays what the merchant asked for), and
new schedules are checked against the moved time. Schedules on live channels never move.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.db.models import BillingCustomer, MerchantTestClock, PaymentSchedule, PgChannel
from tollway.errors import InvalidRequest
from tollway.services import Services

MAX_ADVANCE = 10 * 366 * 86400


async def offset_for(session: AsyncSession, merchant_id: int) -> int:
    offset = await session.scalar(
        select(MerchantTestClock.offset_seconds).where(MerchantTestClock.merchant_id == merchant_id)
    )
    return int(offset or 0)


async def advance(services: Services, merchant_id: int, seconds: int) -> tuple[int, int]:
    """Moves the merchant's test clock forward; returns (its offset now, schedules made earlier)."""
    if not 0 < seconds <= MAX_ADVANCE:
        raise InvalidRequest("seconds의 값이 허용 범위를 벗어났습니다.", detail=f"seconds: between 1 and {MAX_ADVANCE}")
    now = services.clock.now()
    async with services.sessions() as session:
        has_sandbox = await session.scalar(
            select(PgChannel.id).where(PgChannel.merchant_id == merchant_id, PgChannel.sandbox.is_(True)).limit(1)
        )
        if has_sandbox is None:
            raise InvalidRequest(
                "테스트 시계는 샌드박스 채널에서만 쓸 수 있습니다.",
                detail="the test clock is for merchants with a sandbox channel; live channels never move",
            )
        clock = await session.get(MerchantTestClock, merchant_id, with_for_update=True)
        if clock is None:
            clock = MerchantTestClock(merchant_id=merchant_id, offset_seconds=0, updated_at=now)
            session.add(clock)
        clock.offset_seconds += seconds
        clock.updated_at = now
        sandbox_customers = select(BillingCustomer.customer_uid).where(
            BillingCustomer.merchant_id == merchant_id, BillingCustomer.sandbox.is_(True)
        )
        rows = (
            await session.execute(
                select(PaymentSchedule.id, PaymentSchedule.due_at).where(
                    PaymentSchedule.merchant_id == merchant_id,
                    PaymentSchedule.schedule_status == "scheduled",
                    PaymentSchedule.customer_uid.in_(sandbox_customers),
                )
            )
        ).all()
        for row in rows:
            await session.execute(
                update(PaymentSchedule)
                .where(PaymentSchedule.id == row.id)
                .values(due_at=row.due_at - timedelta(seconds=seconds), updated_at=now)
            )
        await session.commit()
        return clock.offset_seconds, len(rows)
