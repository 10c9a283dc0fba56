"""The dashboard's figures: paid, declined and cancelled payments by KST day, with breakdowns by pay
method, card company and decline reason (Toss's code), sandbox and live apart.

A day is counted by when things happened: a payment on the day it was paid (or declined), a cancel
on the day it was made. A closed day therefore no longer changes, and its figures are kept in
``payment_daily_stats`` once (by the loop in ``tollway serve``, or by the first dashboard that needs
them). Today and yesterday are always read live, from the ``(merchant_id, paid_at)``,
``(merchant_id, failed_at)`` and ``cancelled_at`` indexes; a payment settled late (a reconciled
approval) lands in a day that is still live. So the dashboard reads at most two days of payments
and a few hundred rollup rows, whatever the size of the ledger; the charge path writes nothing more.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError

from tollway.clock import kst_day, kst_day_start, rest
from tollway.db.console_models import DailyStat
from tollway.db.engine import Reader
from tollway.db.models import BillingCustomer, Merchant, Payment, PaymentCancel, PaymentSchedule
from tollway.services import Services

log = structlog.get_logger("tollway.stats")

#: the closed days the loop keeps rolled up (the dashboard shows at most 30)
LOOKBACK_DAYS = 35
_CODE = re.compile(r"^\[([A-Za-z0-9_]+)\]")
OTHER = "OTHER"


def decline_code(reason: str | None) -> str:
    """Toss's code from a ledger ``fail_reason`` (``[REJECT_CARD_COMPANY] …``)."""
    found = _CODE.match(reason or "")
    return found.group(1)[:64] if found else OTHER


@dataclass
class Figures:
    paid_count: int = 0
    paid_amount: int = 0
    failed_count: int = 0
    cancel_count: int = 0
    cancel_amount: int = 0
    #: key → [count, amount]
    by_method: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_card: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    #: Toss code → count
    declines: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: Figures) -> None:
        self.paid_count += other.paid_count
        self.paid_amount += other.paid_amount
        self.failed_count += other.failed_count
        self.cancel_count += other.cancel_count
        self.cancel_amount += other.cancel_amount
        for mine, theirs in ((self.by_method, other.by_method), (self.by_card, other.by_card)):
            for key, (count, amount) in theirs.items():
                mine[key][0] += count
                mine[key][1] += amount
        for code, count in other.declines.items():
            self.declines[code] += count

    @property
    def approval_rate(self) -> float | None:
        ended = self.paid_count + self.failed_count
        return self.paid_count / ended if ended else None


async def aggregate(reader: Reader, merchant_id: int, since: datetime, until: datetime) -> dict[bool, Figures]:
    """What happened in ``[since, until)``, for sandbox (True) and live (False) payments."""
    out: dict[bool, Figures] = {True: Figures(), False: Figures()}
    paid = await reader.execute(
        select(
            Payment.sandbox,
            Payment.pay_method,
            func.coalesce(Payment.card_name, ""),
            func.count(),
            func.coalesce(func.sum(Payment.amount), 0),
        )
        .where(Payment.merchant_id == merchant_id, Payment.paid_at >= since, Payment.paid_at < until)
        .group_by(Payment.sandbox, Payment.pay_method, Payment.card_name)
    )
    for sandbox, method, card, count, amount in paid:
        figures = out[bool(sandbox)]
        figures.paid_count += count
        figures.paid_amount += int(amount)
        figures.by_method[method][0] += count
        figures.by_method[method][1] += int(amount)
        if card:
            figures.by_card[card][0] += count
            figures.by_card[card][1] += int(amount)
    failed = await reader.execute(
        select(Payment.sandbox, Payment.fail_reason, func.count())
        .where(Payment.merchant_id == merchant_id, Payment.failed_at >= since, Payment.failed_at < until)
        .group_by(Payment.sandbox, Payment.fail_reason)
    )
    for sandbox, reason, count in failed:
        out[bool(sandbox)].failed_count += count
        out[bool(sandbox)].declines[decline_code(reason)] += count
    cancels = await reader.execute(
        select(Payment.sandbox, func.count(), func.coalesce(func.sum(PaymentCancel.amount), 0))
        .join(Payment, Payment.id == PaymentCancel.payment_id)
        .where(
            Payment.merchant_id == merchant_id, PaymentCancel.cancelled_at >= since, PaymentCancel.cancelled_at < until
        )
        .group_by(Payment.sandbox)
    )
    for sandbox, count, amount in cancels:
        out[bool(sandbox)].cancel_count += count
        out[bool(sandbox)].cancel_amount += int(amount)
    return out


def _rows(merchant_id: int, day: str, sandbox: bool, f: Figures) -> list[DailyStat]:
    def row(kind: str, key: str, count: int, amount: int = 0) -> DailyStat:
        return DailyStat(
            merchant_id=merchant_id, sandbox=sandbox, day=day, kind=kind, key=key[:64], count=count, amount=amount
        )

    rows = [row("done", "", 0)]
    if f.paid_count:
        rows.append(row("paid", "", f.paid_count, f.paid_amount))
    if f.failed_count:
        rows.append(row("failed", "", f.failed_count))
    if f.cancel_count:
        rows.append(row("cancel", "", f.cancel_count, f.cancel_amount))
    rows += [row("method", k, c, a) for k, (c, a) in f.by_method.items()]
    rows += [row("card", k, c, a) for k, (c, a) in f.by_card.items()]
    rows += [row("decline", k, c) for k, c in f.declines.items()]
    return rows


def _figures(rows: list[Any]) -> Figures:
    f = Figures()
    for r in rows:
        if r.kind == "paid":
            f.paid_count, f.paid_amount = r.count, r.amount
        elif r.kind == "failed":
            f.failed_count = r.count
        elif r.kind == "cancel":
            f.cancel_count, f.cancel_amount = r.count, r.amount
        elif r.kind == "method":
            f.by_method[r.key] = [r.count, r.amount]
        elif r.kind == "card":
            f.by_card[r.key] = [r.count, r.amount]
        elif r.kind == "decline":
            f.declines[r.key] = r.count
    return f


def _day_after(day: str) -> str:
    return kst_day(kst_day_start(day) + timedelta(hours=36))


def _days_back(now: datetime, count: int) -> list[str]:
    """The ``count`` KST days ending today, oldest first."""
    today = kst_day_start(kst_day(now))
    return [kst_day(today - timedelta(days=n) + timedelta(hours=12)) for n in range(count - 1, -1, -1)]


def closed_days(now: datetime, days: list[str]) -> list[str]:
    """Days before yesterday: nothing can land in them any more."""
    live = set(_days_back(now, 2))
    return [d for d in days if d not in live]


async def roll_up(services: Services, merchant_id: int, days: list[str]) -> int:
    """Writes the figures of the closed ``days`` that have none yet; returns how many it wrote.
    Two processes rolling up one day: the primary key keeps the first, the second backs off."""
    async with services.sessions.statements() as conn:
        have = set(
            await conn.scalars(
                select(DailyStat.day).where(
                    DailyStat.merchant_id == merchant_id, DailyStat.kind == "done", DailyStat.day.in_(days)
                )
            )
        )
    written = 0
    for day in days:
        if day in have:
            continue
        start = kst_day_start(day)
        async with services.sessions.statements() as conn:
            figures = await aggregate(conn, merchant_id, start, kst_day_start(_day_after(day)))
        try:
            async with services.sessions() as session:
                for sandbox, f in figures.items():
                    session.add_all(_rows(merchant_id, day, sandbox, f))
                await session.commit()
                written += 1
        except IntegrityError:
            pass  # another process rolled this day up first
    return written


async def roll_up_all(services: Services, now: datetime, lookback: int = LOOKBACK_DAYS) -> int:
    days = closed_days(now, _days_back(now, lookback))
    async with services.sessions() as session:
        merchants = list(await session.scalars(select(Merchant.id).order_by(Merchant.id)))
    return sum([await roll_up(services, merchant_id, days) for merchant_id in merchants])


async def run_periodically(services: Services, interval: float, stop: asyncio.Event) -> None:
    """The rollup loop of ``tollway serve``: closed days are written shortly after midnight KST.
    Setting ``stop`` ends it after the roll-up in progress (cancelling one mid-write could leave
    SQLite's write lock with a connection nobody returns)."""
    while not stop.is_set():
        try:
            await roll_up_all(services, services.clock.now())
        except Exception as exc:
            log.error("rollup failed", error_type=type(exc).__name__)
        await rest(stop, interval)


@dataclass
class Schedules:
    upcoming_count: int = 0
    upcoming_amount: int = 0
    failed_count: int = 0


@dataclass
class Dashboard:
    days: list[str]
    sandbox: bool
    total: Figures
    #: per day, oldest first
    series: list[Figures]
    schedules: Schedules


async def dashboard(services: Services, merchant_id: int, *, sandbox: bool, days: int, now: datetime) -> Dashboard:
    wanted = _days_back(now, days)
    closed = closed_days(now, wanted)
    if closed:
        await roll_up(services, merchant_id, closed)
    per_day: dict[str, Figures] = {d: Figures() for d in wanted}
    async with services.sessions.statements() as conn:
        if closed:
            stored: dict[str, list[Any]] = defaultdict(list)
            for row in await conn.execute(
                select(DailyStat.__table__).where(
                    DailyStat.merchant_id == merchant_id, DailyStat.sandbox.is_(sandbox), DailyStat.day.in_(closed)
                )
            ):
                stored[row.day].append(row)
            for day in closed:
                per_day[day] = _figures(stored[day])
        for day in wanted:
            if day not in closed:
                start = kst_day_start(day)
                per_day[day] = (await aggregate(conn, merchant_id, start, kst_day_start(_day_after(day))))[sandbox]
        schedules = await _schedules(conn, merchant_id, sandbox, now, kst_day_start(wanted[0]), days)
    total = Figures()
    for f in per_day.values():
        total.add(f)
    return Dashboard(wanted, sandbox, total, [per_day[d] for d in wanted], schedules)


async def _schedules(
    reader: Reader, merchant_id: int, sandbox: bool, now: datetime, since: datetime, days: int
) -> Schedules:
    customer = and_(
        BillingCustomer.merchant_id == PaymentSchedule.merchant_id,
        BillingCustomer.customer_uid == PaymentSchedule.customer_uid,
    )
    scoped = (
        select(func.count(), func.coalesce(func.sum(PaymentSchedule.amount), 0))
        .select_from(PaymentSchedule)
        .join(BillingCustomer, customer)
        .where(PaymentSchedule.merchant_id == merchant_id, BillingCustomer.sandbox.is_(sandbox))
    )
    upcoming = (
        await reader.execute(
            scoped.where(
                PaymentSchedule.schedule_status.in_(("scheduled", "executing")),
                PaymentSchedule.schedule_at >= now,
                PaymentSchedule.schedule_at < now + timedelta(days=days),
            )
        )
    ).one()
    failed = (
        await reader.execute(
            scoped.where(
                PaymentSchedule.schedule_status == "executed",
                PaymentSchedule.payment_status == "failed",
                PaymentSchedule.schedule_at >= since,
                PaymentSchedule.schedule_at <= now,
            )
        )
    ).one()
    return Schedules(upcoming[0], int(upcoming[1]), failed[0])


async def volumes(services: Services, now: datetime, days: int = 30) -> dict[int, tuple[int, int]]:
    """Every merchant's live (not sandbox) paid count and amount over ``days`` KST days: the
    operator's merchant list. Closed days come from the rollups (written here when missing)."""
    wanted = _days_back(now, days)
    closed = closed_days(now, wanted)
    async with services.sessions() as session:
        merchants = list(await session.scalars(select(Merchant.id)))
    for merchant_id in merchants:
        await roll_up(services, merchant_id, closed)
    out: dict[int, tuple[int, int]] = {}
    async with services.sessions.statements() as conn:
        rolled = await conn.execute(
            select(DailyStat.merchant_id, func.sum(DailyStat.count), func.sum(DailyStat.amount))
            .where(DailyStat.kind == "paid", DailyStat.sandbox.is_(False), DailyStat.day.in_(closed))
            .group_by(DailyStat.merchant_id)
        )
        for merchant_id, count, amount in rolled:
            out[merchant_id] = (int(count), int(amount))
        since = kst_day_start(_days_back(now, 2)[0])
        recent = await conn.execute(
            select(Payment.merchant_id, func.count(), func.coalesce(func.sum(Payment.amount), 0))
            .where(Payment.paid_at >= since, Payment.sandbox.is_(False))
            .group_by(Payment.merchant_id)
        )
        for merchant_id, count, amount in recent:
            before = out.get(merchant_id, (0, 0))
            out[merchant_id] = (before[0] + count, before[1] + int(amount))
    return out
