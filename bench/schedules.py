"""Scheduled charges per second with N ``tollway worker`` processes, run by hand:

    .venv/bin/python -m bench.schedules --schedules 10000 --workers 4 [--latency 0.2] [--kill]

On a fresh PostgreSQL database it starts the sandbox PG alone (``tollway sandbox serve``) with
every charge taking ``--latency`` seconds (a real PG answers in hundreds of ms), registers
customers through it, inserts due schedules, starts the workers and measures from their start
until every schedule is final. With ``--kill`` one worker is SIGKILLed a third of the way through
and started again. Then it checks exactly-once on the sandbox's own ledger: one DONE charge per
schedule, none twice, and prints a Markdown row for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import asyncpg
import httpx

from bench.run import ADMIN, MASTER_KEY, ROOT, _cpu_seconds, _port, prepare_database

DB_NAME = "tollway_bench_schedules"
SECRET = "test_sk_bench_schedules"  # noqa: S105 - a sandbox test key


async def seed(url: str, sandbox_url: str, customers: int, schedules: int) -> None:
    from sqlalchemy import insert

    from tollway.app import build_services
    from tollway.billing import customers as billing
    from tollway.config import Settings
    from tollway.db.models import PaymentSchedule
    from tollway.merchants.service import add_channel, create_merchant
    from tollway.pg.base import CardData
    from tollway.vault import Secret

    services = build_services(Settings(database_url=url, master_key=MASTER_KEY, sandbox_url=sandbox_url))
    try:
        async with services.sessions() as session:
            new = await create_merchant(session, services.clock, services.vault, "Schedules bench")
            await add_channel(
                session,
                services.clock,
                services.vault,
                new.merchant,
                pg_provider="tosspayments",
                mid="benchsched",
                client_key="test_ck_bench_schedules",
                secret_key=Secret(SECRET),
                sandbox=True,
            )
            await session.commit()
            merchant_id = new.merchant.id
        for i in range(customers):
            card = CardData(Secret("4330123412340005"), Secret("30"), Secret("12"), Secret("900101"))
            await billing.register(services, merchant_id, billing.Registration(f"cu-{i}", card))
        now = datetime.now(UTC)
        rows = [
            {
                "merchant_id": merchant_id,
                "customer_uid": f"cu-{i % customers}",
                "merchant_uid": f"sched-{i}",
                "schedule_at": now,
                "due_at": now,
                "amount": 1000 + i % 1000,
                "tax_free": 0,
                "currency": "KRW",
                "card_quota": 0,
                "interest_free": False,
                "name": "bench",
                "schedule_status": "scheduled",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(schedules)
        ]
        async with services.sessions() as session:
            for start in range(0, len(rows), 2000):
                await session.execute(insert(PaymentSchedule), rows[start : start + 2000])
            await session.commit()
    finally:
        await services.close()


async def counts(url: str) -> tuple[int, int, int, int]:
    """(executed schedules, paid schedules, DONE billing charges at the sandbox, distinct orderIds)."""
    conn = await asyncpg.connect(url)
    try:
        executed = await conn.fetchval("SELECT count(*) FROM payment_schedules WHERE schedule_status = 'executed'")
        paid = await conn.fetchval("SELECT count(*) FROM payment_schedules WHERE payment_status = 'paid'")
        charges = await conn.fetchval("SELECT count(*) FROM sandbox_payments WHERE status = 'DONE'")
        distinct = await conn.fetchval("SELECT count(DISTINCT order_id) FROM sandbox_payments WHERE status = 'DONE'")
    finally:
        await conn.close()
    return int(executed), int(paid), int(charges), int(distinct)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedules", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the sandbox takes per charge")
    parser.add_argument(
        "--concurrency", type=int, default=128, help="charges in flight per worker (the default of tollway worker)"
    )
    parser.add_argument(
        "--pool",
        type=int,
        default=16,
        help="TOLLWAY_DB_POOL_SIZE of the workers and the sandbox (half each for the driver)",
    )
    parser.add_argument("--kill", action="store_true", help="SIGKILL one worker a third of the way, restart it")
    args = parser.parse_args()

    url = ADMIN.rsplit("/", 1)[0] + "/" + DB_NAME
    port = _port()
    sandbox_url = f"http://127.0.0.1:{port}/sandbox/toss"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")},
        "TOLLWAY_DATABASE_URL": url,
        "TOLLWAY_MASTER_KEY": MASTER_KEY,
        "TOLLWAY_SANDBOX_URL": sandbox_url,
        "TOLLWAY_SANDBOX_CHARGE_LATENCY_SECONDS": str(args.latency),
        "TOLLWAY_WORKER_CONCURRENCY": str(args.concurrency),
        "TOLLWAY_WORKER_LEASE_SECONDS": "10",
        "TOLLWAY_LOG_LEVEL": "warning",
        # 5 processes share PostgreSQL's 100 connections: 16 each by default (the 16 connections
        # the worker had when the pool doubled this setting)
        "TOLLWAY_DB_POOL_SIZE": str(args.pool),
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
    }
    asyncio.run(prepare_database(url, DB_NAME))
    tollway = [sys.executable, "-m", "tollway"]
    sandbox = subprocess.Popen([*tollway, "sandbox", "serve", "--port", str(port)], env=env, cwd=ROOT)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        subprocess.run(
            [*tollway, "sandbox", "add-key", "--mid", "benchsched", "--secret-key", SECRET],
            env=env,
            check=True,
            capture_output=True,
        )
        print(f"registering {args.customers} customers and {args.schedules} due schedules …", flush=True)
        asyncio.run(seed(url, sandbox_url, args.customers, args.schedules))
        started = time.monotonic()
        procs = [subprocess.Popen([*tollway, "worker"], env=env, cwd=ROOT) for _ in range(args.workers)]
        sandbox_cpu, worker_cpu = -_cpu_seconds(sandbox.pid), 0.0  # workers' CPU includes their start-up
        killed = False
        last = -1
        while True:
            done, _, _, _ = asyncio.run(counts(url))
            if done != last:
                print(f"  {done}/{args.schedules} executed ({time.monotonic() - started:.1f} s)", flush=True)
                last = done
            if args.kill and not killed and done >= args.schedules // 3:
                worker_cpu += _cpu_seconds(procs[0].pid)
                procs[0].send_signal(signal.SIGKILL)
                procs[0].wait()
                procs[0] = subprocess.Popen([*tollway, "worker"], env=env, cwd=ROOT)
                killed = True
                print("  SIGKILLed one worker and started it again", flush=True)
            if done >= args.schedules:
                break
            if time.monotonic() - started > 1800:
                raise SystemExit("did not finish in 30 minutes")
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        sandbox_cpu += _cpu_seconds(sandbox.pid)
        worker_cpu += sum(_cpu_seconds(proc.pid) for proc in procs)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
        sandbox.terminate()
        sandbox.wait(timeout=30)
    executed, paid, charges, distinct = asyncio.run(counts(url))
    print(f"\nexecuted {executed}, paid {paid}, sandbox DONE charges {charges} (distinct orders {distinct})")
    if not executed == paid == charges == distinct == args.schedules:
        raise SystemExit("exactly-once violated or schedules left unfinished: the run is invalid")
    print(
        "\n| workers | schedules | sandbox latency | concurrency per worker | kill | seconds | schedules/s "
        "| worker CPU per charge | sandbox CPU per charge |"
    )
    print("|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    print(
        f"| {args.workers} | {args.schedules} | {args.latency * 1000:.0f} ms | {args.concurrency} | "
        f"{'yes' if args.kill else 'no'} | {elapsed:.1f} | {args.schedules / elapsed:,.0f} "
        f"| {worker_cpu * 1000 / args.schedules:.2f} ms | {sandbox_cpu * 1000 / args.schedules:.2f} ms |"
    )


if __name__ == "__main__":
    main()
