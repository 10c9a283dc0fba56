"""Scheduled payments: registering, revoking, changing, listing, and executing one (for the worker).

States (V1's ``schedule_status``, plus the worker's claim):

    scheduled ──claim──▶ executing ──▶ executed   (payment_status paid | failed)
        │                    │
        └──▶ revoked         └──(crashed worker, nothing opened)──▶ scheduled

``executing`` is shown to V1 clients as ``scheduled``. A failed or revoked schedule can be
re-armed (``reschedule``) or run at once (``retry``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from typing_extensions import TypedDict

from tollway import v1texts
from tollway.billing import checking, customers
from tollway.billing.schedule_status import EXECUTED, EXECUTING, REVOKED, SCHEDULED
from tollway.billing.testclock import offset_for
from tollway.clock import from_unix, to_unix
from tollway.db.driver import Conn, Statement
from tollway.db.models import BillingCustomer, Payment, PaymentSchedule
from tollway.errors import BusinessError, InvalidRequest, NotFound
from tollway.payments.approve import ChargeOptions
from tollway.payments.ledger import PaymentRequest
from tollway.payments.states import PaymentStatus
from tollway.payments.v1 import page_links
from tollway.services import Services

V1_STATUSES = (SCHEDULED, EXECUTED, REVOKED)
NO_CUSTOMER = "등록된 고객정보가 없습니다. (customer_uid {customer_uid} has no billing key; send card_number too)"
NOTHING_TO_REVOKE = "취소할 예약결제 기록이 존재하지 않습니다."
NOT_CHANGEABLE = "현재 상태에서는 변경할 수 없는 예약결제입니다."
CHANGED = "예약결제 정보가 변경되었습니다. 다시 조회해주세요."
NOT_FOUND = "요청하신 merchant_uid({merchant_uid})로 등록된 예약결제 정보를 찾을 수 없습니다."
MAX_WINDOW = timedelta(days=92)


class ScheduleV1(TypedDict):
    """V1's ``ScheduleResult`` (reference §5.2)."""

    customer_uid: str
    merchant_uid: str
    imp_uid: str | None
    pg_provider: str | None
    pg_id: str | None
    customer_id: str | None
    schedule_at: int
    executed_at: int
    revoked_at: int
    amount: int
    currency: str
    name: str | None
    buyer_name: str | None
    buyer_email: str | None
    buyer_tel: str | None
    buyer_addr: str | None
    buyer_postcode: str | None
    custom_data: str | None
    schedule_status: str
    payment_status: str | None
    fail_reason: str | None


class PagedSchedulesV1(TypedDict):
    total: int
    previous: int
    next: int
    list: list[ScheduleV1]


def schedule_to_v1(s: PaymentSchedule) -> ScheduleV1:
    return {
        "customer_uid": s.customer_uid,
        "merchant_uid": s.merchant_uid,
        "imp_uid": s.imp_uid,
        "pg_provider": s.pg_provider,
        "pg_id": s.pg_id,
        "customer_id": s.customer_id,
        "schedule_at": to_unix(s.schedule_at),
        "executed_at": to_unix(s.executed_at),
        "revoked_at": to_unix(s.revoked_at),
        "amount": s.amount,
        "currency": s.currency,
        "name": s.name,
        "buyer_name": s.buyer_name,
        "buyer_email": s.buyer_email,
        "buyer_tel": s.buyer_tel,
        "buyer_addr": s.buyer_addr,
        "buyer_postcode": s.buyer_postcode,
        "custom_data": s.custom_data,
        "schedule_status": SCHEDULED if s.schedule_status == EXECUTING else s.schedule_status,
        "payment_status": s.payment_status,
        "fail_reason": s.fail_reason,
    }


@dataclass(frozen=True)
class ScheduleEntry:
    merchant_uid: str
    schedule_at: int
    amount: int
    name: str | None = None
    tax_free: int = 0
    currency: str = "KRW"
    card_quota: int = 0
    interest_free: bool = False
    buyer_name: str | None = None
    buyer_email: str | None = None
    buyer_tel: str | None = None
    buyer_addr: str | None = None
    buyer_postcode: str | None = None
    custom_data: str | None = None
    notice_urls: tuple[str, ...] = ()


async def _now_for(session: AsyncSession, services: Services, merchant_id: int, sandbox: bool) -> datetime:
    """The merchant's "now": real time, moved by its test clock on sandbox channels only."""
    now = services.clock.now()
    return now + timedelta(seconds=await offset_for(session, merchant_id)) if sandbox else now


async def create(
    services: Services,
    merchant_id: int,
    customer_uid: str,
    entries: Sequence[ScheduleEntry],
    *,
    registration: customers.Registration | None = None,
    checking_amount: int = 0,
) -> list[ScheduleV1]:
    """Registers every entry or none. Registers the card first when ``registration`` is given and the
    customer has no key yet, then checks the card with a charge of ``checking_amount`` cancelled at
    once (``billing.checking``; 0: no check)."""
    if not entries:
        raise v1texts.invalid("schedules", "at least one schedule", v1texts.MISSING)
    seen: set[str] = set()
    for entry in entries:
        if entry.merchant_uid in seen:
            raise v1texts.invalid("merchant_uid", f"{entry.merchant_uid} appears twice in schedules")
        seen.add(entry.merchant_uid)
    customer = await customers.find_customer(services, merchant_id, customer_uid)
    if customer is None:
        if registration is None:
            raise BusinessError(NO_CUSTOMER.format(customer_uid=customer_uid))
        customer = await customers.register(services, merchant_id, registration)
    if checking_amount:
        await checking.verify_card(services, merchant_id, customer.customer_uid, checking_amount)
    async with services.sessions() as session:
        now = await _now_for(session, services, merchant_id, customer.sandbox)
        offset = now - services.clock.now()
        rows = []
        for entry in entries:
            at = from_unix(entry.schedule_at)
            if at <= now:
                raise v1texts.invalid(
                    "schedule_at",
                    f"{entry.merchant_uid} must be in the future (got {entry.schedule_at}, now is {to_unix(now)})",
                )
            rows.append(_row(merchant_id, customer, entry, at, at - offset, services.clock.now()))
        taken = await session.scalars(
            select(PaymentSchedule.merchant_uid).where(
                PaymentSchedule.merchant_id == merchant_id, PaymentSchedule.merchant_uid.in_(seen)
            )
        )
        clash = list(taken)
        paid = await session.scalars(
            select(Payment.merchant_uid).where(Payment.merchant_id == merchant_id, Payment.merchant_uid_hold.in_(seen))
        )
        clash += list(paid)
        if clash:
            raise BusinessError(f"이미 사용된 merchant_uid입니다: {', '.join(sorted(set(clash)))}")
        session.add_all(rows)
        try:
            await session.commit()
        except IntegrityError:
            raise BusinessError("이미 사용된 merchant_uid입니다 (registered concurrently)") from None
        return [schedule_to_v1(r) for r in rows]


def _row(
    merchant_id: int, customer: BillingCustomer, entry: ScheduleEntry, at: datetime, due: datetime, now: datetime
) -> PaymentSchedule:
    return PaymentSchedule(
        merchant_id=merchant_id,
        customer_uid=customer.customer_uid,
        customer_id=customer.customer_id,
        merchant_uid=entry.merchant_uid,
        schedule_at=at,
        due_at=due,
        amount=entry.amount,
        tax_free=entry.tax_free,
        currency=entry.currency,
        card_quota=entry.card_quota,
        interest_free=entry.interest_free,
        name=entry.name,
        buyer_name=entry.buyer_name or customer.customer_name,
        buyer_email=entry.buyer_email or customer.customer_email,
        buyer_tel=entry.buyer_tel or customer.customer_tel,
        buyer_addr=entry.buyer_addr or customer.customer_addr,
        buyer_postcode=entry.buyer_postcode or customer.customer_postcode,
        custom_data=entry.custom_data,
        notice_url=json.dumps(list(entry.notice_urls)) if entry.notice_urls else None,
        pg_provider=customer.pg_provider,
        pg_id=customer.pg_id,
        schedule_status=SCHEDULED,
        created_at=now,
        updated_at=now,
    )


async def unschedule(
    services: Services, merchant_id: int, customer_uid: str | None, merchant_uids: Sequence[str]
) -> list[ScheduleV1]:
    """Revokes pending schedules: the given merchant_uids, or all of the customer's."""
    if not customer_uid and not merchant_uids:
        raise v1texts.invalid("customer_uid", "customer_uid or merchant_uid is required", v1texts.MISSING)
    now = services.clock.now()
    conditions: list[ColumnElement[bool]] = [
        PaymentSchedule.merchant_id == merchant_id,
        PaymentSchedule.schedule_status == SCHEDULED,
    ]
    if customer_uid:
        conditions.append(PaymentSchedule.customer_uid == customer_uid)
    if merchant_uids:
        conditions.append(PaymentSchedule.merchant_uid.in_(list(merchant_uids)))
    async with services.sessions() as session:
        rows = list(await session.scalars(select(PaymentSchedule).where(*conditions).with_for_update()))
        if not rows:
            raise BusinessError(NOTHING_TO_REVOKE)
        # a worker may claim one between the SELECT and here: only still-scheduled rows are revoked
        result = await session.execute(
            update(PaymentSchedule)
            .where(PaymentSchedule.id.in_([r.id for r in rows]), PaymentSchedule.schedule_status == SCHEDULED)
            .values(schedule_status=REVOKED, revoked_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        if not getattr(result, "rowcount", 0):
            raise BusinessError(NOTHING_TO_REVOKE)
        fresh = await session.scalars(
            select(PaymentSchedule)
            .where(PaymentSchedule.id.in_([r.id for r in rows]))
            .execution_options(populate_existing=True)
        )
        return [schedule_to_v1(r) for r in fresh if r.schedule_status == REVOKED]


async def get(services: Services, merchant_id: int, merchant_uid: str) -> PaymentSchedule:
    async with services.sessions() as session:
        row = await session.scalar(
            select(PaymentSchedule).where(
                PaymentSchedule.merchant_id == merchant_id, PaymentSchedule.merchant_uid == merchant_uid
            )
        )
    if row is None:
        raise NotFound(NOT_FOUND.format(merchant_uid=merchant_uid))
    return row


def parse_status(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    if value not in V1_STATUSES:
        raise v1texts.invalid("schedule_status", f"one of {', '.join(V1_STATUSES)} (got {value[:20]!r})")
    return value


async def listing(
    services: Services,
    merchant_id: int,
    *,
    since: int,
    until: int,
    status: str | None,
    page: int,
    limit: int,
    oldest_first: bool = False,
    customer_uid: str | None = None,
) -> PagedSchedulesV1:
    """Schedules with ``since ≤ schedule_at < until`` (at most 3 months), paged, newest first."""
    if until <= since:
        raise v1texts.invalid("schedule_to", "the time range is empty: `to` must be after `from`")
    if from_unix(until) - from_unix(since) > MAX_WINDOW:
        raise v1texts.invalid("schedule_to", "the time range may span at most 3 months")
    if page < 1:
        raise v1texts.invalid("page", "1 or more", v1texts.OUT_OF_RANGE)
    if not 1 <= limit <= 1000:
        raise v1texts.invalid("limit", "between 1 and 1000", v1texts.OUT_OF_RANGE)
    conditions: list[ColumnElement[bool]] = [
        PaymentSchedule.merchant_id == merchant_id,
        PaymentSchedule.schedule_at >= from_unix(since),
        PaymentSchedule.schedule_at < from_unix(until),
    ]
    if customer_uid is not None:
        conditions.append(PaymentSchedule.customer_uid == customer_uid)
    if status == SCHEDULED:
        conditions.append(PaymentSchedule.schedule_status.in_((SCHEDULED, EXECUTING)))
    elif status is not None:
        conditions.append(PaymentSchedule.schedule_status == status)
    order = PaymentSchedule.schedule_at.asc() if oldest_first else PaymentSchedule.schedule_at.desc()
    async with services.sessions() as session:
        total = int(await session.scalar(select(func.count()).select_from(PaymentSchedule).where(*conditions)) or 0)
        v1texts.check_page(page, limit, total)
        rows = await session.scalars(
            select(PaymentSchedule)
            .where(*conditions)
            .order_by(order, PaymentSchedule.id)
            .offset((page - 1) * limit)
            .limit(limit)
        )
        items = [schedule_to_v1(r) for r in rows]
    previous, following = page_links(total, page, limit)
    return {"total": total, "previous": previous, "next": following, "list": items}


async def change_time(
    services: Services, merchant_id: int, merchant_uid: str, schedule_at: int, *, rearm: bool
) -> ScheduleV1:
    """``PUT …/schedule/{merchant_uid}`` (a pending schedule) or ``…/reschedule`` (a failed or revoked one)."""
    row = await get(services, merchant_id, merchant_uid)
    async with services.sessions() as session:
        sandbox = await _is_sandbox(session, row)
        now = await _now_for(session, services, merchant_id, sandbox)
        at = from_unix(schedule_at)
        if at <= now:
            raise v1texts.invalid("schedule_at", f"must be in the future (got {schedule_at}, now is {to_unix(now)})")
        allowed = _rearmable if rearm else (lambda r: r.schedule_status == SCHEDULED)
        if not allowed(row):
            state = row.payment_status or row.schedule_status
            raise InvalidRequest(
                NOT_CHANGEABLE,
                detail=f"schedule {merchant_uid} is {state}: "
                + (
                    "only a failed or revoked schedule can be rescheduled" if rearm else "only a pending one can change"
                ),
            )
        offset = now - services.clock.now()
        values: dict[str, Any] = {"schedule_at": at, "due_at": at - offset, "updated_at": services.clock.now()}
        if rearm:
            values.update(
                schedule_status=SCHEDULED, imp_uid=None, payment_status=None, fail_reason=None,
                executed_at=None, revoked_at=None, claimed_by=None, claimed_at=None,
            )  # fmt: skip
        result = await session.execute(
            update(PaymentSchedule)
            .where(PaymentSchedule.id == row.id, PaymentSchedule.updated_at == row.updated_at)
            .values(**values)
        )
        await session.commit()
        if not getattr(result, "rowcount", 0):
            raise BusinessError(CHANGED, detail=f"schedule {merchant_uid} changed meanwhile; read it again")
    return schedule_to_v1(await get(services, merchant_id, merchant_uid))


def _rearmable(row: PaymentSchedule) -> bool:
    return row.schedule_status == REVOKED or (
        row.schedule_status == EXECUTED and row.payment_status == PaymentStatus.FAILED
    )


async def _is_sandbox(session: AsyncSession, row: PaymentSchedule) -> bool:
    sandbox = await session.scalar(
        select(BillingCustomer.sandbox).where(
            BillingCustomer.merchant_id == row.merchant_id, BillingCustomer.customer_uid == row.customer_uid
        )
    )
    return bool(sandbox)


async def retry(services: Services, merchant_id: int, merchant_uid: str) -> Payment:
    """``POST …/retry``: runs a failed or revoked schedule now; answers its payment."""
    row = await get(services, merchant_id, merchant_uid)
    if not _rearmable(row):
        raise InvalidRequest(
            NOT_CHANGEABLE, detail=f"schedule {merchant_uid} is not failed or revoked: only those can be retried"
        )
    now = services.clock.now()
    async with services.sessions() as session:
        result = await session.execute(
            update(PaymentSchedule)
            .where(PaymentSchedule.id == row.id, PaymentSchedule.updated_at == row.updated_at)
            .values(schedule_status=EXECUTING, claimed_by="retry", claimed_at=now, imp_uid=None, updated_at=now)
        )
        await session.commit()
    if not getattr(result, "rowcount", 0):
        raise BusinessError(CHANGED, detail=f"schedule {merchant_uid} changed meanwhile; read it again")
    return await execute(services, row.id)


# -- execution (the worker and retry) --------------------------------------------------------------


def _again_order(row: PaymentSchedule) -> customers.AgainOrder:
    return customers.AgainOrder(
        customer_uid=row.customer_uid,
        request=PaymentRequest(
            merchant_uid=row.merchant_uid,
            amount=row.amount,
            name=row.name,
            pay_method="card",
            channel="api",
            currency=row.currency,
            tax_free=row.tax_free,
            buyer_name=row.buyer_name,
            buyer_email=row.buyer_email,
            buyer_tel=row.buyer_tel,
            buyer_addr=row.buyer_addr,
            buyer_postcode=row.buyer_postcode,
            custom_data=row.custom_data,
            notice_urls=tuple(json.loads(row.notice_url)) if row.notice_url else (),
            card_quota=row.card_quota,
            customer_uid=row.customer_uid,
            customer_uid_usage="payment.scheduled",
        ),
        options=ChargeOptions(interest_free=row.interest_free),
    )


async def execute(services: Services, schedule_id: int, row: PaymentSchedule | None = None) -> Payment:
    """Charges one claimed (``executing``) schedule and records the outcome on it.

    The payment is opened in the same transaction that writes its imp_uid on the schedule, and its
    outcome is recorded in the same transaction that finishes the schedule, so a crash at any
    point leaves either nothing (the claim is simply released) or a payment the recovery can
    settle at the PG.
    """
    if row is None:
        async with services.sessions() as session:
            row = await session.get(PaymentSchedule, schedule_id)
    if row is None or row.schedule_status != EXECUTING:
        raise BusinessError("the schedule is not claimed for execution")

    async def on_open(conn: Conn, payment: Payment) -> None:
        await conn.execute(_OPENED, w_id=schedule_id, v_imp_uid=payment.imp_uid, v_at=services.clock.now())

    async def on_settle(conn: Conn, payment: Payment) -> None:
        outcome = (payment.imp_uid, payment.status, payment.fail_reason)
        await conn.execute(_FINISH, **finish_values(services, schedule_id, *outcome))

    try:
        return await customers.charge(
            services, row.merchant_id, _again_order(row), on_open=on_open, on_settle=on_settle
        )
    except customers.ApprovalRefused as exc:
        return exc.payment
    except BusinessError as exc:
        if row.imp_uid is None and await _opened_imp_uid(services, schedule_id) is None:
            # nothing was opened (unknown customer, merchant_uid already paid…): the schedule fails
            await finish(services, schedule_id, None, PaymentStatus.FAILED, exc.message)
            raise
        raise  # the outcome is unknown: recovery reconciles the payment, then finishes the schedule


async def _opened_imp_uid(services: Services, schedule_id: int) -> str | None:
    async with services.sessions() as session:
        return await session.scalar(select(PaymentSchedule.imp_uid).where(PaymentSchedule.id == schedule_id))


_SCHEDULES = cast(Table, PaymentSchedule.__table__)
_OPENED = Statement(
    update(_SCHEDULES)
    .where(_SCHEDULES.c.id == bindparam("w_id"))
    .values(imp_uid=bindparam("v_imp_uid"), updated_at=bindparam("v_at"))
)
_FINISH = Statement(
    update(_SCHEDULES)
    .where(_SCHEDULES.c.id == bindparam("w_id"), _SCHEDULES.c.schedule_status == EXECUTING)
    .values(
        schedule_status=EXECUTED,
        imp_uid=bindparam("v_imp_uid"),
        payment_status=bindparam("v_status"),
        fail_reason=bindparam("v_reason"),
        executed_at=bindparam("v_at"),
        claimed_by=None,
        updated_at=bindparam("v_at"),
    )
)


def finish_values(
    services: Services, schedule_id: int, imp_uid: str | None, payment_status: str, fail_reason: str | None
) -> dict[str, Any]:
    """``_FINISH``'s parameters: the schedule is executed, with its payment's outcome."""
    return {
        "w_id": schedule_id,
        "v_imp_uid": imp_uid,
        "v_status": payment_status,
        "v_reason": fail_reason[:500] if fail_reason else None,
        "v_at": services.clock.now(),
    }


async def finish(
    services: Services, schedule_id: int, imp_uid: str | None, payment_status: str, fail_reason: str | None
) -> None:
    async with services.db.connection() as conn:
        await conn.execute(_FINISH, **finish_values(services, schedule_id, imp_uid, payment_status, fail_reason))
