"""Payment windows completed per second, run by hand:

    .venv/bin/python -m bench.checkout --windows 1000 --concurrency 32

One gateway process (uvicorn, PostgreSQL, its in-process sandbox PG) and a client that does what a
browser does for each window, over HTTP: ``POST /checkout/sessions`` (as the SDK, with an Origin),
``GET /checkout/{token}`` (the hand-off page), the sandbox window's form (the buyer approves), and
``GET /checkout/{token}/success`` (Tollway confirms at the PG and renders the result). It reports
windows per second and p50/p99 of the two steps Tollway does real work in — opening a window and
confirming on return — then checks that each window was charged exactly once at the sandbox.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import time

import asyncpg
import httpx

from bench.run import ADMIN, MASTER_KEY, ROOT, _port, prepare_database, seed, serve

DB_NAME = "tollway_bench_checkout"
ORIGIN = "http://shop.bench"
CALL = re.compile(r'<script type="application/json" id="call">(.*?)</script>')


async def one_window(
    http: httpx.AsyncClient, user_code: str, index: int, opens: list[float], returns: list[float]
) -> None:
    params = {"pg": "tosspayments.bench", "merchant_uid": f"win-{index}", "name": "bench", "amount": 15000}
    started = time.perf_counter()
    opened = await http.post(
        "/checkout/sessions",
        json={"user_code": user_code, "params": params, "mode": "iframe"},
        headers={"Origin": ORIGIN},
    )
    opens.append(time.perf_counter() - started)
    url = opened.json()["response"]["checkout_url"]
    page = await http.get(url)
    found = CALL.search(page.text)
    assert found is not None, page.text
    call = json.loads(found.group(1))
    form = {
        "clientKey": call["clientKey"],
        "kind": call["kind"],
        "method": call["method"],
        "params": json.dumps(call["params"]),
        "action": "pay",
        "company": "41",
        "months": "0",
        "outcome": "approve",
    }
    approved = await http.post("/sandbox/toss/_sandbox/window", data=form)
    assert approved.status_code == 303, approved.text
    started = time.perf_counter()
    result = await http.get(approved.headers["location"])
    returns.append(time.perf_counter() - started)
    assert '"status": "paid"' in result.text, result.text


async def drive(base: str, user_code: str, windows: int, concurrency: int) -> tuple[float, list[float], list[float]]:
    opens: list[float] = []
    returns: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(windows):
        queue.put_nowait(index)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        await one_window(http, user_code, -1, [], [])  # warm-up: pools, caches, first-request costs

        async def runner() -> None:
            while not queue.empty():
                await one_window(http, user_code, queue.get_nowait(), opens, returns)

        started = time.perf_counter()
        await asyncio.gather(*(runner() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, opens, returns


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


async def check(url: str, windows: int) -> tuple[int, int]:
    conn = await asyncpg.connect(url)
    try:
        paid = await conn.fetchval("SELECT count(*) FROM payments WHERE merchant_uid ~ '^win-[0-9]' AND status='paid'")
        charges = await conn.fetchval("SELECT count(*) FROM sandbox_payments WHERE status = 'DONE' AND mid = 'bench'")
    finally:
        await conn.close()
    return int(paid), int(charges) - 1  # minus the warm-up window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    url = ADMIN.rsplit("/", 1)[0] + "/" + DB_NAME
    asyncio.run(prepare_database(url, DB_NAME))
    _, _, _, user_code = asyncio.run(seed(url))
    port = _port()
    env = {
        **os.environ,
        "TOLLWAY_DATABASE_URL": url,
        "TOLLWAY_MASTER_KEY": MASTER_KEY,
        "PYTHONPATH": str(ROOT),
        "TOLLWAY_PORT": str(port),
        "TOLLWAY_RECONCILE_INTERVAL_SECONDS": "0",
        "TOLLWAY_DB_POOL_SIZE": "40",  # what the numbers in docs/benchmarks.md were measured with
    }
    proc = serve("bench.gateway:app", port, env)
    try:
        elapsed, opens, returns = asyncio.run(
            drive(f"http://127.0.0.1:{port}", user_code, args.windows, args.concurrency)
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    paid, charges = asyncio.run(check(url, args.windows))
    assert paid == args.windows == charges, f"{args.windows} windows, {paid} paid, {charges} charges at the PG"
    print(f"{args.windows} windows, concurrency {args.concurrency}: each paid once ({charges} charges at the PG)")
    print("| windows/s | open p50 | open p99 | confirm p50 | confirm p99 |")
    print("|---|---|---|---|---|")
    print(
        f"| {args.windows / elapsed:.0f} | {percentile(opens, 50):.1f} ms | {percentile(opens, 99):.1f} ms "
        f"| {percentile(returns, 50):.1f} ms | {percentile(returns, 99):.1f} ms |"
    )


if __name__ == "__main__":
    main()
