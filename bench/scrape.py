"""A short mixed load on a real ``tollway serve`` (PostgreSQL), with ``/metrics`` scraped before,
during and after: the operator's series moving. Run by hand: ``.venv/bin/python -m bench.scrape``.

The load: key-in payments (most approved, some declined, a few with a webhook URL that refuses
connections), lookups, partial cancels, one charge the PG never answers, and scheduled payments
made due with the sandbox test clock, which the gateway's own worker charges.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

ADMIN = os.environ.get("TOLLWAY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = os.environ.get("TOLLWAY_BENCH_SCRAPE_DB", "tollway_bench_scrape")
MASTER_KEY = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="
APPROVE, DECLINE, HANG = "4330-1234-1234-0005", "4330-1234-1234-0013", "4330-1234-1234-0070"
CARD = {"expiry": "2030-12", "birth": "900101", "pwd_2digit": "12"}

#: (series, labels to match) shown in the table; a label value of None matches any
SHOWN = [
    ("tollway_http_request_duration_seconds_count", {"route": "/subscribe/payments/onetime", "status": "200"}),
    ("tollway_http_request_duration_seconds_count", {"route": "/payments/{imp_uid}", "status": "200"}),
    ("tollway_payments_total", {"status": "paid"}),
    ("tollway_payments_total", {"status": "failed"}),
    ("tollway_payments_total", {"status": "cancelled"}),
    ("tollway_pg_call_duration_seconds_count", {"operation": "key_in", "outcome": "ok"}),
    ("tollway_pg_call_duration_seconds_count", {"operation": "key_in", "outcome": "declined"}),
    ("tollway_pg_call_duration_seconds_count", {"operation": "key_in", "outcome": "unknown"}),
    ("tollway_pg_call_duration_seconds_count", {"operation": "cancel", "outcome": "ok"}),
    ("tollway_pg_call_duration_seconds_count", {"operation": "charge_billing_key", "outcome": "ok"}),
    ("tollway_pg_call_duration_seconds_sum", {"operation": "key_in", "outcome": "ok"}),
    ("tollway_pg_calls_pending", {}),
    ("tollway_pg_calls_pending_oldest_age_seconds", {}),
    ("tollway_webhooks_queue_depth", {}),
    ("tollway_webhooks_oldest_undelivered_age_seconds", {}),
    ("tollway_webhook_attempts_total", {"outcome": "retry"}),
    ("tollway_schedules_due", {}),
    ("tollway_schedules_lag_seconds", {}),
    ("tollway_scheduled_charges_total", {"outcome": "paid"}),
    ("tollway_db_pool_connections_in_use", {}),
    ("tollway_db_pool_size", {}),
]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url, timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def pick(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, labels: dict[str, str]) -> float:
    return sum(v for (n, ls), v in found.items() if n == name and all(dict(ls).get(k) == w for k, w in labels.items()))


async def load(base: str, demo: dict[str, str], seconds: float, concurrency: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        token = await http.post("/users/getToken", json={"imp_key": demo["imp_key"], "imp_secret": demo["imp_secret"]})
        http.headers["Authorization"] = token.json()["response"]["access_token"]
        # one charge the PG never answers (left for reconciliation), and 40 schedules made due
        hang = asyncio.create_task(
            http.post(
                "/subscribe/payments/onetime",
                json={"merchant_uid": "hang-1", "amount": 1000, "card_number": HANG, **CARD},
            )
        )
        await http.post("/subscribe/customers/cu-1", json={"card_number": APPROVE, **CARD})
        at = int(time.time()) + 3600
        schedules = [
            {"merchant_uid": f"sch-{i}", "schedule_at": at, "amount": 1000 + i, "name": "정기구독"} for i in range(40)
        ]
        await http.post("/subscribe/payments/schedule", json={"customer_uid": "cu-1", "schedules": schedules})
        await http.post("/tollway/test-clock/advance", json={"seconds": 7200})
        deadline = time.monotonic() + seconds
        count = 0

        async def client(n: int) -> None:
            nonlocal count
            rng = random.Random(n)
            while time.monotonic() < deadline:
                count += 1
                uid = f"m-{n}-{count}"
                card = DECLINE if rng.random() < 0.1 else APPROVE
                body = {"merchant_uid": uid, "amount": 15000, "card_number": card, **CARD}
                if rng.random() < 0.1:
                    body["notice_url"] = "http://127.0.0.1:9/refused"
                paid = (await http.post("/subscribe/payments/onetime", json=body)).json()["response"]
                await http.get(f"/payments/{paid['imp_uid']}")
                if paid["status"] == "paid" and rng.random() < 0.2:
                    await http.post("/payments/cancel", json={"imp_uid": paid["imp_uid"], "amount": 5000})

        await asyncio.gather(*(client(n) for n in range(concurrency)), hang)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
    asyncio.run(_admin(f"CREATE DATABASE {DB_NAME}"))
    base_url, _, _ = ADMIN.rpartition("/")
    port, metrics_port = _port(), _port()
    data = Path(tempfile.mkdtemp(prefix="tollway-scrape-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")},
        "TOLLWAY_DATABASE_URL": f"{base_url}/{DB_NAME}",
        "TOLLWAY_MASTER_KEY": MASTER_KEY,
        "TOLLWAY_DATA_DIR": str(data),
        "TOLLWAY_METRICS": f"127.0.0.1:{metrics_port}",
        "TOLLWAY_SANDBOX_CHARGE_LATENCY_SECONDS": "0.05",
        "TOLLWAY_PG_READ_TIMEOUT": "2",
        "TOLLWAY_LOG_LEVEL": "warning",
    }
    subprocess.run([sys.executable, "-m", "tollway", "db", "upgrade"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "tollway", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data / "serve.log").open("w"),
    )
    metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        demo = json.loads((data / "demo-merchant.json").read_text())
        before = scrape(metrics)

        async def run() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
            task = asyncio.create_task(load(f"http://127.0.0.1:{port}", demo, args.seconds, args.concurrency))
            await asyncio.sleep(args.seconds / 2)
            during = await asyncio.to_thread(scrape, metrics)
            await task
            return during

        during = asyncio.run(run())
        time.sleep(3)  # the worker and the deliverer catch up
        after = scrape(metrics)
    finally:
        server.terminate()
        server.wait(timeout=120)
        asyncio.run(_admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
    print(f"{'series':<96} {'before':>8} {'during':>8} {'after':>8}")
    for name, labels in SHOWN:
        label = ",".join(f'{k}="{v}"' for k, v in labels.items())
        row = [pick(snap, name, labels) for snap in (before, during, after)]
        print(f"{name + ('{' + label + '}' if label else ''):<96} " + " ".join(f"{v:>8.2f}" for v in row))


if __name__ == "__main__":
    main()
