"""Prepared amounts (``/payments/prepare``): the window refuses a payment whose amount differs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.clock import Clock
from tollway.db.models import PaymentPrepare
from tollway.errors import BusinessError, NotFound

NOT_PREPARED = "사전등록된 결제정보가 존재하지 않습니다."
ALREADY_PREPARED = (
    "이미 사전등록된 merchant_uid입니다. (merchant_uid {merchant_uid} is already prepared; "
    "use PUT /payments/prepare to change its amount)"
)


async def prepare(
    session: AsyncSession,
    clock: Clock,
    merchant_id: int,
    merchant_uid: str,
    amount: int,
    currency: str | None,
) -> PaymentPrepare:
    now = clock.now()
    row = PaymentPrepare(
        merchant_id=merchant_id,
        merchant_uid=merchant_uid,
        amount=amount,
        currency=currency,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise BusinessError(ALREADY_PREPARED.format(merchant_uid=merchant_uid)) from None
    return row


async def get_prepared(session: AsyncSession, merchant_id: int, merchant_uid: str) -> PaymentPrepare:
    row = await session.scalar(
        select(PaymentPrepare).where(
            PaymentPrepare.merchant_id == merchant_id, PaymentPrepare.merchant_uid == merchant_uid
        )
    )
    if row is None:
        raise NotFound(NOT_PREPARED, detail=f"no prepared amount for merchant_uid {merchant_uid[:40]!r}")
    return row


async def change_prepared(
    session: AsyncSession,
    clock: Clock,
    merchant_id: int,
    merchant_uid: str,
    amount: int,
    currency: str | None,
) -> PaymentPrepare:
    row = await get_prepared(session, merchant_id, merchant_uid)
    row.amount = amount
    row.currency = currency
    row.updated_at = clock.now()
    return row
