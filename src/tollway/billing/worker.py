"""The schedule worker: runs inside ``tollway serve`` and alone as ``tollway worker``, on any number
of machines at once.

It keeps up to ``concurrency`` charges in flight, and as slots free up it

1. **recovers** (at most every ``poll_seconds``) claims whose worker died (``executing`` for
   longer than the lease): a schedule that opened no payment goes back to ``scheduled``; one
   whose payment is still at the PG is charged again *with the same imp_uid and
   Idempotency-Key*, so the PG replays the first outcome instead of charging twice; one whose
   payment is settled is finished from it;
2. **claims** as many due schedules as there are free slots: one UPDATE over a materialized
   ``FOR UPDATE SKIP LOCKED`` CTE on PostgreSQL (workers never wait on each other's rows), the
   same conditional UPDATE on SQLite (where ``BEGIN IMMEDIATE`` already serialises writers).
   While schedules keep coming due, it claims again once a quarter of its slots are free, not
   after every finished charge: measured with four workers, claims of about two rows each
   had become one claim transaction per two charges;
3. **charges** each through the again-flow (a PG answers in hundreds of ms, so many are in
   flight at once) and records its outcome on its schedule.

``round()`` (a recovery, one claim, and every charge of it awaited) serves ``run_until_idle``.

``stop()`` makes it finish what it claimed and return: a graceful shutdown leaves no claim behind.
A charge whose PG call got no answer stays ``executing`` (only recovery may settle it), but its
claim is handed back on the way out, dated past the lease, so that any other worker recovers it
at once instead of after the lease (``hand_back``).
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import select, update

from tollway.billing import customers, schedule_status, schedules
from tollway.db.models import Payment, PaymentSchedule, PgChannel
from tollway.errors import BusinessError
from tollway.observability.logs import bound, new_request_id
from tollway.observability.metrics import SCHEDULED_CHARGES
from tollway.payments.states import PaymentStatus, PgOp
from tollway.services import Services

log = structlog.get_logger("tollway.worker")


@dataclass
class WorkerStats:
    claimed: int = 0
    paid: int = 0
    failed: int = 0
    unknown: int = 0
    recovered: int = 0


class Worker:
    def __init__(
        self,
        services: Services,
        *,
        name: str | None = None,
        concurrency: int = 32,
        lease: timedelta = timedelta(seconds=120),
        poll_seconds: float = 1.0,
    ) -> None:
        self.services = services
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self) % 10000}"
        self.concurrency = concurrency
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.stats = WorkerStats()
        #: while more are due, a claim waits for this many free slots (one claim per batch of charges)
        self.refill = max(1, concurrency // 4)
        self._stopping = asyncio.Event()
        self._claimed: dict[int, PaymentSchedule] = {}  # rows of the last claim, handed to execute

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> WorkerStats:
        """Charges until ``stop()``, keeping up to ``concurrency`` charges in flight: slots freed by
        finished charges are refilled by the next claim, without waiting for the slowest of a
        batch. Returns what it did; on ``stop()`` it claims nothing more and finishes what it
        claimed."""
        log.info("worker started", worker=self.name, concurrency=self.concurrency)
        in_flight: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        next_recovery = 0.0
        while not self._stopping.is_set():
            free = self.concurrency - len(in_flight)
            try:
                recovered = 0
                if loop.time() >= next_recovery:
                    recovered = await self.recover()
                    next_recovery = loop.time() + self.poll_seconds
                claimed = await self.claim(free) if free > 0 else []
            except Exception as exc:
                log.error("worker round failed", worker=self.name, error_type=type(exc).__name__, error=str(exc))
                recovered, claimed = 0, []
            for schedule_id in claimed:
                task = asyncio.create_task(self._execute(schedule_id))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            if recovered:
                continue  # recovery may have freed schedules to claim right away
            # Every free slot taken (or none free): more may be due, so claim again once a batch
            # of slots is free. Fewer claimed than asked: nothing more is due until the next poll.
            more_due = len(claimed) == free
            await self._wait(in_flight, until_free=self.refill if more_due else None)
        if in_flight:
            await asyncio.gather(*in_flight)
        await self.hand_back()
        log.info("worker stopped", worker=self.name, **self.stats.__dict__)
        return self.stats

    async def hand_back(self) -> int:
        """Gives up this worker's remaining claims (charges whose PG call got no answer): dated
        past the lease, another worker's recovery takes them over at once, with the same imp_uid
        and Idempotency-Key. Returns how many."""
        long_ago = self.services.clock.now() - 2 * self.lease
        try:
            async with self.services.sessions() as session:
                result = await session.execute(
                    update(PaymentSchedule)
                    .where(
                        PaymentSchedule.claimed_by == self.name,
                        PaymentSchedule.schedule_status == schedule_status.EXECUTING,
                    )
                    .values(claimed_at=long_ago)
                )
                await session.commit()
        except Exception as exc:  # the lease still expires on its own
            log.error("worker could not hand back its claims", worker=self.name, error_type=type(exc).__name__)
            return 0
        handed = int(getattr(result, "rowcount", 0) or 0)
        if handed:
            log.info("worker handed back claims", worker=self.name, count=handed)
        return handed

    async def _wait(self, in_flight: set[asyncio.Task[None]], *, until_free: int | None) -> None:
        """Up to ``poll_seconds``, ended early by ``stop()`` or, with ``until_free``, once that many
        slots are free."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.poll_seconds
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            while not self._stopping.is_set():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return
                if until_free is not None and self.concurrency - len(in_flight) >= until_free:
                    return
                waiting_on = {*in_flight, stopping} if until_free is not None else {stopping}
                await asyncio.wait(waiting_on, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()

    async def round(self) -> int:
        """One recovery pass and one batch of due schedules; returns how many schedules it handled."""
        recovered = await self.recover()
        claimed = await self.claim(self.concurrency)
        if claimed:
            await asyncio.gather(*(self._execute(schedule_id) for schedule_id in claimed))
        return recovered + len(claimed)

    async def run_until_idle(self) -> WorkerStats:
        """Rounds until nothing is due (tests, ``tollway worker --once``)."""
        while await self.round():
            pass
        return self.stats

    async def claim(self, limit: int) -> list[int]:
        now = self.services.clock.now()
        # The ``id`` tie-breaker and the materialized CTE make the LIMIT hold. PostgreSQL may run a
        # plain ``IN (subquery)`` once per candidate row, and with many schedules due at the same
        # instant each run picked a different 32 among the ties: one claim took hundreds of rows.
        due = (
            select(PaymentSchedule.id)
            .where(PaymentSchedule.schedule_status == schedule_status.SCHEDULED, PaymentSchedule.due_at <= now)
            .order_by(PaymentSchedule.due_at, PaymentSchedule.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        async with self.services.sessions() as session:
            result = await session.execute(
                update(PaymentSchedule)
                .where(PaymentSchedule.id.in_(select(due.c.id)), PaymentSchedule.schedule_status == "scheduled")
                .values(schedule_status=schedule_status.EXECUTING, claimed_by=self.name, claimed_at=now, updated_at=now)
                .returning(PaymentSchedule)
                .execution_options(synchronize_session=False)
            )
            rows = list(result.scalars())
            await session.commit()
        self.stats.claimed += len(rows)
        self._claimed.update((row.id, row) for row in rows)
        return [row.id for row in rows]

    async def _execute(self, schedule_id: int) -> None:
        """Never raises: a round waits for every charge it started, whatever happens to one."""
        with bound(request_id=new_request_id("sched-"), schedule_id=schedule_id):
            outcome = await self._execute_one(schedule_id)
        SCHEDULED_CHARGES.labels(outcome).inc()

    async def _execute_one(self, schedule_id: int) -> str:
        try:
            payment = await schedules.execute(self.services, schedule_id, self._claimed.pop(schedule_id, None))
        except BusinessError as exc:
            if exc.code == -1:
                self.stats.unknown += 1  # left for recovery
                return "unknown"
            self.stats.failed += 1
            return "failed"
        except Exception as exc:  # a database or pool error: the claim is left for recovery
            self.stats.unknown += 1
            log.error(
                "scheduled charge failed", worker=self.name, schedule_id=schedule_id, error_type=type(exc).__name__
            )
            return "unknown"
        if payment.status == PaymentStatus.PAID:
            self.stats.paid += 1
            return "paid"
        self.stats.failed += 1
        return "failed"

    async def recover(self) -> int:
        """Settles claims older than the lease (their worker died or lost its way)."""
        cutoff = self.services.clock.now() - self.lease
        async with self.services.sessions() as session:
            stale = list(
                (
                    await session.execute(
                        select(PaymentSchedule.id, PaymentSchedule.imp_uid, PaymentSchedule.claimed_at)
                        .where(
                            PaymentSchedule.schedule_status == schedule_status.EXECUTING,
                            PaymentSchedule.claimed_at <= cutoff,
                        )
                        .limit(self.concurrency)
                    )
                ).all()
            )
        handled = 0
        for row in stale:
            with bound(request_id=new_request_id("recover-"), schedule_id=row.id):
                if await self._recover_one(row.id, row.imp_uid, row):
                    handled += 1
        self.stats.recovered += handled
        if handled:
            SCHEDULED_CHARGES.labels("recovered").inc(handled)
        return handled

    async def _recover_one(self, schedule_id: int, imp_uid: str | None, seen: object) -> bool:
        services = self.services
        now = services.clock.now()
        # take the claim over first, so that two recovering workers never act on one schedule
        async with services.sessions() as session:
            taken = await session.execute(
                update(PaymentSchedule)
                .where(
                    PaymentSchedule.id == schedule_id,
                    PaymentSchedule.schedule_status == schedule_status.EXECUTING,
                    PaymentSchedule.claimed_at == getattr(seen, "claimed_at", None),
                )
                .values(claimed_by=self.name, claimed_at=now, updated_at=now)
            )
            await session.commit()
        if not getattr(taken, "rowcount", 0):
            return False
        if imp_uid is None:
            async with services.sessions() as session:
                await session.execute(
                    update(PaymentSchedule)
                    .where(PaymentSchedule.id == schedule_id, PaymentSchedule.imp_uid.is_(None))
                    .values(schedule_status=schedule_status.SCHEDULED, claimed_by=None, claimed_at=None, updated_at=now)
                )
                await session.commit()
            log.info("recovered an unopened claim", schedule_id=schedule_id)
            return True
        async with services.sessions() as session:
            payment = await session.scalar(select(Payment).where(Payment.imp_uid == imp_uid))
            schedule = await session.get(PaymentSchedule, schedule_id)
            channel = await session.get(PgChannel, payment.channel_id) if payment and payment.channel_id else None
        if payment is None or schedule is None or channel is None:  # pragma: no cover - rows are never deleted
            return False
        if payment.status == PaymentStatus.READY and payment.pg_op == PgOp.APPROVE:
            payment = await self._charge_again(payment, schedule, channel)
            if payment is None:
                return False  # still no answer: the next round tries again
        if payment.status == PaymentStatus.READY:
            return False
        await schedules.finish(services, schedule_id, payment.imp_uid, payment.status, payment.fail_reason)
        log.info("recovered a claim", schedule_id=schedule_id, imp_uid=imp_uid, status=payment.status)
        return True

    async def _charge_again(self, payment: Payment, schedule: PaymentSchedule, channel: PgChannel) -> Payment | None:
        """Repeats the lost call with the same imp_uid (orderId) and Idempotency-Key: the PG answers
        with the first call's outcome, or runs it now if the first call never reached it."""
        services = self.services
        customer = await customers.find_customer(services, schedule.merchant_id, schedule.customer_uid)
        if customer is None:
            return None
        try:
            return await customers.charge_opened(services, customer, channel, payment, schedules._again_order(schedule))
        except customers.ApprovalRefused as exc:
            return exc.payment
        except BusinessError:
            return None
