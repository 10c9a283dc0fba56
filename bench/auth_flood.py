"""A getToken flood against one ``tollway serve`` process on PostgreSQL, run by hand:
``.venv/bin/python -m bench.auth_flood`` (needs PostgreSQL and Debian's ``wrk``).

Issue 13's bar: while 1,500 connections send wrong ``getToken`` calls back to back, no answer is
a 5xx and an authenticated ``GET /payments/{imp_uid}`` on the same process keeps its p99 under
200 ms. The flood is one wrk with 1,500 connections (each sends its next call as soon as the last
is answered: 1,500 concurrent calls all along, not one burst); the lookups are a second wrk with a
few connections, started with it. Then, without the flood, the CPU per request of a repeated
correct ``getToken`` and of the lookup (issue 16 wants the first no dearer than the second).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

from bench.run import ADMIN, MASTER_KEY, ROOT, _cpu_seconds, _ms, _port, lua, prepare_database, seed, wrk

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
    parser.add_argument("--lookups", type=int, default=4, help="connections doing authenticated lookups")
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
        quiet = wrk(
            "lookup, no flood",
            f"{gw}/payments/{imp_uid}",
            proc.pid,
            seconds=5,
            connections=args.lookups,
            script=lookup_script,
        )

        wrong = json.dumps({"imp_key": imp_key, "imp_secret": "wrong-" + "x" * 74})
        flood_cmd = [
            "wrk",
            "-t2",
            f"-c{args.flood}",
            f"-d{args.seconds}s",
            "--timeout",
            "10s",
            "-s",
            lua(COUNTING % json.dumps(wrong)),
        ]
        look_cmd = ["wrk", "-t1", f"-c{args.lookups}", f"-d{args.seconds}s", "--timeout", "10s", "--latency", "-s"]
        look_cmd.append(lookup_script)
        cpu_before = _cpu_seconds(proc.pid)
        flood = subprocess.Popen([*flood_cmd, f"{gw}/users/getToken"], stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)  # the flood's 1,500 connections are open and calling before lookups start
        look = subprocess.run([*look_cmd, f"{gw}/payments/{imp_uid}"], capture_output=True, text=True, check=True)
        flood_out, _ = flood.communicate()
        cpu = _cpu_seconds(proc.pid) - cpu_before
    finally:
        proc.terminate()
        proc.wait()

    statuses = {int(k): int(v) for k, v in re.findall(r"status (\d+) (\d+)", flood_out)}
    flood_requests = sum(statuses.values())
    socket_errors = re.search(r"Socket errors: (.*)", flood_out)
    look_requests = int(re.search(r"(\d+) requests in", look.stdout).group(1))  # type: ignore[union-attr]
    look_non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", look.stdout)
    p50 = _ms(re.search(r"\s50%\s+(\S+)", look.stdout).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", look.stdout).group(1))  # type: ignore[union-attr]
    five_xx = sum(v for k, v in statuses.items() if k >= 500)

    print(f"\none `tollway serve` process, PostgreSQL on loopback, {args.seconds} s\n")
    print(
        f"flood: {args.flood} connections of wrong getToken: {flood_requests} answers {dict(sorted(statuses.items()))}"
    )
    print(f"  socket errors: {socket_errors.group(1) if socket_errors else 'none'}; 5xx: {five_xx}")
    print(
        f"  server CPU during the flood: {cpu:.1f} s "
        f"({cpu * 1000 / max(flood_requests + look_requests, 1):.2f} ms per request)"
    )
    print(
        f"lookups ({args.lookups} connections) during the flood: {look_requests} answers, non-2xx: "
        f"{look_non2xx.group(1) if look_non2xx else 0}, p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    print(f"lookups without the flood: p50 {quiet.p50_ms:.1f} ms, p99 {quiet.p99_ms:.1f} ms")
    verdict = "PASS" if five_xx == 0 and look_requests > 0 and not look_non2xx and p99 < 200 else "FAIL"
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
        lookup = wrk("lookup", f"{gw}/payments/{imp_uid}", proc.pid, seconds=5, connections=4, script=lookup_script)
    finally:
        proc.terminate()
        proc.wait()
    print("\n| endpoint (4 connections, no flood) | req/s | p50 ms | p99 ms | server CPU per request |")
    print("|---|---:|---:|---:|---:|")
    for r in (get_token, lookup):
        print(f"| {r.name} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.cpu_ms:.2f} ms |")


if __name__ == "__main__":
    main()
