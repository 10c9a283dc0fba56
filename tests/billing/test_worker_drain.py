"""A real ``tollway worker`` SIGTERMed mid-run (a rolling restart): it takes no new work, finishes
the charges it has in flight, hands its leases back, and exits; nothing is left claimed and
nothing is charged without being recorded."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from tests.api.routes.pg_helpers import sandbox_ledger, v1_client
from tests.billing.schedule_rows import due_schedule
from tests.billing.test_customers import card
from tests.billing.test_worker_processes import executed, start_worker
from tests.conftest import MerchantFixture
from tollway.billing.worker import Worker
from tollway.clock import ManualClock
from tollway.db.models import PaymentSchedule
from tollway.services import Services

SCHEDULES = 120


@pytest.mark.xdist_group("processes")  # one multi-process test at a time (./dev test: --dist loadgroup)
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # a worker process beside the test's
async def test_sigterm_drains_a_worker_and_leaves_nothing_claimed(
    database_url: str, live: str, merchant: MerchantFixture, services: Services, clock: ManualClock, tmp_path: Path
) -> None:
    # every charge takes 0.3 s at the PG, so the worker has charges in flight when the signal comes
    services.sandbox.config = dataclasses.replace(services.sandbox.config, charge_latency_seconds=0.3)
    async with v1_client(live, merchant) as api:
        assert (await api.post("/subscribe/customers/cu-1", json=card())).json()["code"] == 0
    now = clock.now()
    async with services.sessions() as session:
        rows = [due_schedule(merchant.id, f"drain-{i}", now, 1000 + i) for i in range(SCHEDULES)]
        await session.execute(insert(PaymentSchedule), rows)
        await session.commit()

    log = tmp_path / "worker.log"
    worker = start_worker(services, live, log)
    try:
        for _ in range(600):
            if await executed(services) >= 16:
                break
            await asyncio.sleep(0.05)
        at_signal = await executed(services)
        worker.send_signal(signal.SIGTERM)
        # wait without blocking this loop: it serves the sandbox that the worker's charges await
        for _ in range(1200):
            if worker.poll() is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        if worker.poll() is None:
            worker.kill()
    output = log.read_text(errors="replace")
    assert worker.returncode == 0, output[-3000:]
    assert "worker done" in output
    done = await executed(services)
    assert at_signal < done < SCHEDULES, (at_signal, done)  # the charges in flight finished; no new ones
    async with services.sessions() as session:
        by_state = dict(
            (
                await session.execute(
                    select(PaymentSchedule.schedule_status, func.count()).group_by(PaymentSchedule.schedule_status)
                )
            ).all()
        )
        claimed_but_waiting = await session.scalar(
            select(func.count())
            .select_from(PaymentSchedule)
            .where(PaymentSchedule.schedule_status == "scheduled", PaymentSchedule.claimed_by.is_not(None))
        )
    assert by_state == {"executed": done, "scheduled": SCHEDULES - done}  # nothing left executing
    assert claimed_but_waiting == 0
    charges = [c for c in await sandbox_ledger(live) if c["type"] == "BILLING" and c["status"] == "DONE"]
    assert len(charges) == done  # every charge the PG made is recorded, and only those


async def test_a_stopped_worker_hands_back_a_charge_left_without_an_answer(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    """Stopped while its PG call timed out, the worker hands the claim back dated past the lease:
    another worker recovers it at once (not after the lease), and the PG charged once."""
    services.settings.pg_billing_read_timeout = 0.3  # before the first PG call builds the connector
    async with v1_client(live, merchant) as api:
        assert (await api.post("/subscribe/customers/cu-1", json=card())).json()["code"] == 0
    services.sandbox.config = dataclasses.replace(services.sandbox.config, charge_latency_seconds=1.0)
    now = clock.now()
    async with services.sessions() as session:
        await session.execute(insert(PaymentSchedule).values(**due_schedule(merchant.id, "lost-answer", now, 5000)))
        await session.commit()
    lease = timedelta(seconds=120)
    first = Worker(services, concurrency=4, lease=lease)
    running = asyncio.create_task(first.run())
    while first.stats.claimed == 0:  # noqa: ASYNC110 - the worker offers no event for a claim
        await asyncio.sleep(0.01)
    first.stop()
    stats = await running
    assert stats.unknown == 1
    async with services.sessions() as session:
        (schedule,) = (await session.scalars(select(PaymentSchedule))).all()
    assert schedule.schedule_status == "executing" and schedule.claimed_at is not None
    assert schedule.claimed_at <= clock.now() - lease  # handed back: stale for every other worker now

    await asyncio.sleep(1.0)  # the PG finishes the first call meanwhile
    services.sandbox.config = dataclasses.replace(services.sandbox.config, charge_latency_seconds=0.0)
    assert await Worker(services, lease=lease).recover() == 1  # no wait for the lease
    async with services.sessions() as session:
        (schedule,) = (await session.scalars(select(PaymentSchedule))).all()
    assert schedule.schedule_status == "executed" and schedule.payment_status == "paid"
    charges = [c for c in await sandbox_ledger(live) if c["type"] == "BILLING" and c["status"] == "DONE"]
    assert len(charges) == 1  # the retry replayed the first call's answer: charged once
