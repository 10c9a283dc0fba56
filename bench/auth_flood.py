"""A getToken flood against one ``tollway serve`` process on PostgreSQL, run by hand:
``.venv/bin/python -m bench.auth_flood`` (needs PostgreSQL and Debian's ``wrk``).

Issue 13's bar: while 1,500 connections send wrong ``getToken`` calls back to back, no answer is
a 5xx and an authenticated ``GET /payments/{imp_uid}`` on the same process keeps its p99 under
200 ms. The flood is one wrk with 1,500 connections (each sends its next call as soon as the last
is answered: 1,500 concurrent calls all along, not one burst). The lookups are a steady stream
(``--rate`` a second, each sent on schedule whether or not the last was answered, so queueing
shows in the latency), timed one by one. Then, without the flood, the CPU per request of a
repeated correct ``getToken`` and of the lookup (issue 16 wants the first no dearer than the second).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

from bench.run import ADMIN, MASTER_KEY, ROOT, _cpu_seconds, _port, lua, prepare_database, seed, wrk

DB_NAME = "tollway_bench_flood"

COUNTING = """
wrk.method = "POST"
wrk.body = %s
wrk.headers["Content-Type"] = "application/json"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {} end
function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do io.write(string.format("status %%d %%d\\n", k, v)) end
end
"""


def start_gateway(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TOLLWAY_DATABASE_URL": url,
        "TOLLWAY_MASTER_KEY": MASTER_KEY,
        "TOLLWAY_RECONCILE_INTERVAL_SECONDS": "0",
        "PYTHONPATH": str(ROOT),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tollway", "serve", "--port", str(port), "--no-demo", "--no-migrate"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"tollway serve did not start:\n{log.read_text(errors='replace')[-2000:]}")


async def timed_lookups(url: str, token: str, rate: float, seconds: float) -> tuple[list[float], int]:
    """Lookups sent on a fixed schedule; returns each one's latency (ms) and the non-2xx count."""
    latencies: list[float] = []
    slow: list[tuple[float, float]] = []
    bad = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(headers={"Authorization": token}, limits=limits, timeout=30) as http:

        async def one() -> None:
            nonlocal bad
            started = time.perf_counter()
            answer = await http.get(url)
            latencies.append((time.perf_counter() - started) * 1000)
            if latencies[-1] > 100:
                slow.append((round(started - begin, 2), round(latencies[-1])))
            if answer.status_code != 200:
                bad += 1

        tasks = []
        begin = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    if slow and os.environ.get("BENCH_VERBOSE"):
        print("slow lookups (sent at s, ms):", sorted(slow))
    return latencies, bad


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def forget_failures(url: str) -> None:
    """The flood left its address and key blocked; the next measurement starts clean."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DELETE FROM auth_failures")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--flood", type=int, default=1500, help="concurrent wrong getToken calls")
    parser.add_argument(
        "--lead",
        type=float,
        default=2.0,
        help="seconds the flood runs before lookups start (opening 1,500 connections at once is a "
        "transient of its own: run with --lead 0 to see it)",
    )
    parser.add_argument("--rate", type=float, default=50, help="authenticated lookups a second during the flood")
    args = parser.parse_args()

    url = ADMIN.rsplit("/", 1)[0] + "/" + DB_NAME
    asyncio.run(prepare_database(url, DB_NAME))
    imp_key, imp_secret, imp_uid, _ = asyncio.run(seed(url))
    port = _port()
    log = Path(tempfile.gettempdir()) / f"tollway-auth-flood-{port}.log"
    proc = start_gateway(url, port, log)
    gw = f"http://127.0.0.1:{port}"
    try:
        token = httpx.post(f"{gw}/users/getToken", json={"imp_key": imp_key, "imp_secret": imp_secret}).json()
        access = token["response"]["access_token"]
        lookup_script = lua(f'wrk.headers["Authorization"] = "{access}"\n')
        lookup_url = f"{gw}/payments/{imp_uid}"
        quiet, _ = asyncio.run(timed_lookups(lookup_url, access, args.rate, 5))

        wrong = json.dumps({"imp_key": imp_key, "imp_secret": "wrong-" + "x" * 74})
        flood_cmd = [
            "wrk",
            "-t2",
            f"-c{args.flood}",
            f"-d{args.seconds + math.ceil(args.lead) + 1}s",
            "--timeout",
            "10s",
            "-s",
        ]
        flood_cmd.append(lua(COUNTING % json.dumps(wrong)))
        cpu_before = _cpu_seconds(proc.pid)
        flood = subprocess.Popen([*flood_cmd, f"{gw}/users/getToken"], stdout=subprocess.PIPE, text=True)
        time.sleep(args.lead)  # the flood's connections are open and calling before lookups start
        during, look_bad = asyncio.run(timed_lookups(lookup_url, access, args.rate, args.seconds))
        flood_out, _ = flood.communicate()
        cpu = _cpu_seconds(proc.pid) - cpu_before
    finally:
        proc.terminate()
        proc.wait()

    statuses = {int(k): int(v) for k, v in re.findall(r"status (\d+) (\d+)", flood_out)}
    flood_requests = sum(statuses.values())
    socket_errors = re.search(r"Socket errors: (.*)", flood_out)
    five_xx = sum(v for k, v in statuses.items() if k >= 500)
    p50, p99 = p(during, 0.50), p(during, 0.99)

    print(f"\none `tollway serve` process, PostgreSQL on loopback, {args.seconds} s\n")
    print(
        f"flood: {args.flood} connections of wrong getToken: {flood_requests} answers {dict(sorted(statuses.items()))}"
    )
    print(f"  socket errors: {socket_errors.group(1) if socket_errors else 'none'}; 5xx: {five_xx}")
    print(f"  server CPU during the flood: {cpu:.1f} s")
    print(
        f"lookups ({args.rate:g}/s) during the flood: {len(during)} answers, non-2xx: {look_bad}, "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(during):.1f} ms"
    )
    print(f"lookups without the flood: p50 {p(quiet, 0.5):.1f} ms, p99 {p(quiet, 0.99):.1f} ms")
    verdict = "PASS" if five_xx == 0 and during and not look_bad and p99 < 200 else "FAIL"
    print(f"bar (no 5xx, lookup p99 < 200 ms): {verdict}")

    # CPU per request, no flood: a repeated correct getToken vs the lookup (fresh process and throttle)
    asyncio.run(forget_failures(url))
    proc = start_gateway(url, port, log)
    try:
        token_body = json.dumps({"imp_key": imp_key, "imp_secret": imp_secret})
        get_token = wrk(
            "getToken (reuse)",
            f"{gw}/users/getToken",
            proc.pid,
            seconds=5,
            connections=4,
            script=lua(
                f'wrk.method = "POST"\nwrk.body = {json.dumps(token_body)}\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
            ),
        )
        lookup = wrk("lookup", lookup_url, proc.pid, seconds=5, connections=4, script=lookup_script)
    finally:
        proc.terminate()
        proc.wait()
    print("\n| endpoint (4 connections, no flood) | req/s | p50 ms | p99 ms | server CPU per request |")
    print("|---|---:|---:|---:|---:|")
    for r in (get_token, lookup):
        print(f"| {r.name} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.cpu_ms:.2f} ms |")


if __name__ == "__main__":
    main()
