"""Real ``tollway worker`` processes on PostgreSQL: exactly-once under SIGKILL.

Several worker processes take due schedules from one database while one of them is killed with
SIGKILL mid-run and started again. Afterwards every schedule is final, and the sandbox's own
ledger holds exactly one charge per schedule.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from tests.api.routes.pg_helpers import sandbox_ledger, v1_client
from tests.billing.schedule_rows import due_schedule
from tests.billing.test_customers import card
from tests.conftest import TEST_MASTER_KEY, TEST_POOL_SIZE, MerchantFixture
from tollway.clock import ManualClock
from tollway.db.models import PaymentSchedule
from tollway.services import Services

SCHEDULES = 300


def start_worker(services: Services, live: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")}
    env.update(
        TOLLWAY_DATABASE_URL=services.settings.resolved_database_url(),
        TOLLWAY_MASTER_KEY=TEST_MASTER_KEY,
        TOLLWAY_SANDBOX_URL=f"{live}/sandbox/toss",
        TOLLWAY_WORKER_LEASE_SECONDS="3",
        TOLLWAY_WORKER_CONCURRENCY="16",
        TOLLWAY_DB_POOL_SIZE=str(TEST_POOL_SIZE),  # a few connections each: the cluster is shared
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tollway", "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def executed(services: Services) -> int:
    async with services.sessions() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(PaymentSchedule).where(PaymentSchedule.schedule_status == "executed")
            )
            or 0
        )


@pytest.mark.xdist_group("processes")  # one multi-process test at a time (./dev test: --dist loadgroup)
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # several workers: SKIP LOCKED
async def test_sigkill_mid_run_loses_nothing_and_charges_nothing_twice(
    database_url: str,
    live: str,
    merchant: MerchantFixture,
    services: Services,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    assert database_url.startswith("postgresql")
    async with v1_client(live, merchant) as api:
        assert (await api.post("/subscribe/customers/cu-1", json=card())).json()["code"] == 0
    now = clock.now()  # 2026-01-01: long past for the workers, which read the real time
    async with services.sessions() as session:
        await session.execute(
            insert(PaymentSchedule),
            [due_schedule(merchant.id, f"kill-{i}", now, 1000 + i) for i in range(SCHEDULES)],
        )
        await session.commit()

    log = tmp_path / "workers.log"
    workers = [start_worker(services, live, log) for _ in range(3)]
    try:
        for _ in range(600):
            if await executed(services) >= SCHEDULES // 4:
                break
            await asyncio.sleep(0.05)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)
        killed_at = await executed(services)
        assert killed_at < SCHEDULES, "the run ended before the kill; the test proves nothing"
        workers[0] = start_worker(services, live, log)
        for _ in range(1200):
            if await executed(services) == SCHEDULES:
                break
            await asyncio.sleep(0.1)
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    output = log.read_text(errors="replace")
    assert await executed(services) == SCHEDULES, output[-3000:]
    async with services.sessions() as session:
        outcomes = (
            await session.execute(
                select(PaymentSchedule.payment_status, func.count()).group_by(PaymentSchedule.payment_status)
            )
        ).all()
        imp_uids = set(await session.scalars(select(PaymentSchedule.imp_uid)))
    assert dict(outcomes) == {"paid": SCHEDULES}
    charges = [c for c in await sandbox_ledger(live) if c["type"] == "BILLING" and c["status"] == "DONE"]
    assert len(charges) == SCHEDULES  # exactly one charge per schedule at the PG
    assert {c["orderId"] for c in charges} == imp_uids
    assert "worker done" in output  # the survivors stopped gracefully on SIGTERM
