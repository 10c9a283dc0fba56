"""Webhook deliveries per second with N ``tollway worker`` processes, run by hand:

    .venv/bin/python -m bench.webhooks --notifications 5000 --workers 4

On a fresh PostgreSQL database it starts a fast local receiver (one uvicorn process answering 200),
writes N due notifications into the outbox, starts the workers (which deliver the outbox beside
running schedules) and measures from their start until every notification is delivered. It then
checks that the receiver got each notification exactly once and prints a Markdown row.
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

from bench.run import ADMIN, MASTER_KEY, ROOT, _port, prepare_database

DB_NAME = "tollway_bench_webhooks"

RECEIVER = """
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

seen = {}

async def hook(request):
    key = request.headers.get("webhook-id")
    seen[key] = seen.get(key, 0) + 1
    return PlainTextResponse("ok")

async def stats(request):
    return PlainTextResponse(f"{len(seen)} {sum(seen.values())}")

app = Starlette(routes=[Route("/hook", hook, methods=["POST"]), Route("/stats", stats)])
"""


async def prepare(url: str, receiver_url: str, notifications: int) -> None:
    await prepare_database(url, DB_NAME)
    from sqlalchemy import insert

    from tollway.app import build_services
    from tollway.config import Settings
    from tollway.db.models import WebhookNotification
    from tollway.merchants.service import create_merchant
    from tollway.webhooks.outbox import new_webhook_id

    services = build_services(Settings(database_url=url, master_key=MASTER_KEY))
    await services.start()
    try:
        async with services.sessions() as session:
            merchant = (await create_merchant(session, services.clock, services.vault, "Webhooks bench")).merchant
            await session.commit()
            now = datetime.now(UTC)
            rows = [
                {
                    "webhook_id": new_webhook_id(),
                    "merchant_id": merchant.id,
                    "imp_uid": f"imp_{i:012d}",
                    "merchant_uid": f"order-{i}",
                    "status": "paid",
                    "url": receiver_url,
                    "content_type": "json",
                    "max_attempts": 12,
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for i in range(notifications)
            ]
            for start in range(0, len(rows), 2000):
                await session.execute(insert(WebhookNotification), rows[start : start + 2000])
            await session.commit()
    finally:
        await services.close()


async def delivered(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM webhook_notifications WHERE state = 'delivered'"))
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notifications", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    url = ADMIN.rsplit("/", 1)[0] + "/" + DB_NAME
    port = _port()
    receiver_url = f"http://127.0.0.1:{port}/hook"
    receiver_dir = ROOT / ".bench-receiver"
    receiver_dir.mkdir(exist_ok=True)
    (receiver_dir / "bench_receiver.py").write_text(RECEIVER)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")},
        "TOLLWAY_DATABASE_URL": url,
        "TOLLWAY_MASTER_KEY": MASTER_KEY,
        "TOLLWAY_LOG_LEVEL": "warning",
        "TOLLWAY_DB_POOL_SIZE": "16",  # the 16 connections it had when the pool doubled this setting
        "PYTHONPATH": f"{ROOT}:{receiver_dir}",
    }
    receiver = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench_receiver:app", "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=receiver_dir,
    )
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/stats", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        asyncio.run(prepare(url, receiver_url, args.notifications))
        started = time.monotonic()
        procs = [
            subprocess.Popen([sys.executable, "-m", "tollway", "worker"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
            for _ in range(args.workers)
        ]
        while (done := asyncio.run(delivered(url))) < args.notifications:
            if time.monotonic() - started > 1200:
                raise SystemExit(f"only {done} delivered in 20 minutes")
            time.sleep(0.25)
        elapsed = time.monotonic() - started
        distinct, total = map(int, httpx.get(f"http://127.0.0.1:{port}/stats").text.split())
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
        receiver.terminate()
        receiver.wait(timeout=30)
    print(f"\nreceiver saw {distinct} distinct notifications in {total} requests")
    if not distinct == total == args.notifications:
        raise SystemExit("a notification was lost or delivered twice: the run is invalid")
    print("\n| workers | notifications | seconds | deliveries/s |")
    print("|---:|---:|---:|---:|")
    print(f"| {args.workers} | {args.notifications} | {elapsed:.1f} | {args.notifications / elapsed:,.0f} |")


if __name__ == "__main__":
    main()
