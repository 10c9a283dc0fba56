"""Benchmarks, run by hand: ``.venv/bin/python -m bench.run`` (needs PostgreSQL and Debian's ``wrk``).

In one run it starts the floor apps and the gateway on one PostgreSQL database, each as one
uvicorn process on loopback, drives each endpoint with wrk (same threads, connections and
duration), and prints throughput and p50/p99 with the gateway's ratios to the floors. Results
go to stdout as a Markdown table; copy them into docs/benchmarks.md with the date and machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
ADMIN = os.environ.get("TOLLWAY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = "tollway_bench"
MASTER_KEY = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(name: str, url: str, *, seconds: int, connections: int, script: str | None = None) -> Result:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        cmd[1:1] = ["-s", script]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{name}: {non2xx.group(1)} error answers; the benchmark is invalid:\n{out}")
    return Result(name, rps, p50, p99)


def lua(body: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(body)
    return handle.name


def serve(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{app} did not start")


async def prepare_database(url: str) -> None:
    conn = await asyncpg.connect(ADMIN)
    await conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    await conn.execute(f"CREATE DATABASE {DB_NAME}")
    await conn.close()
    from tollway.db import migrate

    await migrate.upgrade(url)


async def seed(url: str) -> tuple[str, str, str]:
    """A merchant, a paid payment and a prepared row; returns (imp_key, imp_secret, imp_uid)."""
    from tollway.app import build_services
    from tollway.config import Settings
    from tollway.merchants.service import add_channel, create_merchant
    from tollway.payments.ledger import CardApproval, PaymentRequest, mark_paid, open_payment
    from tollway.payments.prepare import prepare
    from tollway.vault import Secret

    services = build_services(Settings(database_url=url, master_key=MASTER_KEY))
    async with services.sessions() as session:
        new = await create_merchant(session, services.clock, "Bench")
        channel = await add_channel(
            session,
            services.clock,
            services.vault,
            new.merchant,
            pg_provider="tosspayments",
            mid="bench",
            client_key="ck",
            secret_key=Secret("sk"),
            sandbox=True,
        )
        payment = await open_payment(
            session,
            new.merchant.id,
            channel,
            PaymentRequest(merchant_uid="bench-1", amount=1004, name="bench"),
            services.clock.now(),
        )
        await mark_paid(
            session, payment, CardApproval(pg_tid="t", card_number="536648******1234"), services.clock.now()
        )
        await prepare(session, services.clock, new.merchant.id, "bench-floor", 1000, None)
        await session.commit()
        result = (new.key_pair.imp_key, new.key_pair.imp_secret.reveal(), payment.imp_uid)
    await services.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    url = ADMIN.rsplit("/", 1)[0] + "/" + DB_NAME
    asyncio.run(prepare_database(url))
    imp_key, imp_secret, imp_uid = asyncio.run(seed(url))
    env = {**os.environ, "TOLLWAY_DATABASE_URL": url, "TOLLWAY_MASTER_KEY": MASTER_KEY, "PYTHONPATH": str(ROOT)}

    floor_port, gw_port = _port(), _port()
    procs = [serve("bench.floor:app", floor_port, env), serve("bench.gateway:app", gw_port, env)]
    try:
        gw = f"http://127.0.0.1:{gw_port}"
        token = httpx.post(f"{gw}/users/getToken", json={"imp_key": imp_key, "imp_secret": imp_secret}).json()
        access = token["response"]["access_token"]
        token_body = json.dumps({"imp_key": imp_key, "imp_secret": imp_secret})
        kw = {"seconds": args.seconds, "connections": args.connections}
        floor = f"http://127.0.0.1:{floor_port}"
        results = {
            "json": wrk("floor: bare JSON", f"{floor}/json", **kw),
            "select": wrk("floor: one SELECT by key", f"{floor}/select/bench-floor", **kw),
            "insert": wrk("floor: one INSERT", f"{floor}/insert", **kw, script=lua('wrk.method = "POST"\n')),
            "token": wrk(
                "gateway: POST /users/getToken (reuse)",
                f"{gw}/users/getToken",
                **kw,
                script=lua(
                    f'wrk.method = "POST"\nwrk.body = {json.dumps(token_body)}\n'
                    'wrk.headers["Content-Type"] = "application/json"\n'
                ),
            ),
            "payment": wrk(
                "gateway: GET /payments/{imp_uid}",
                f"{gw}/payments/{imp_uid}",
                **kw,
                script=lua(f'wrk.headers["Authorization"] = "{access}"\n'),
            ),
        }
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()

    print(f"\nwrk -t2 -c{args.connections} -d{args.seconds}s, one uvicorn process each, PostgreSQL on loopback\n")
    print("| endpoint | req/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for r in results.values():
        print(f"| {r.name} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} |")
    sel, js = results["select"], results["json"]
    print("\n| gateway endpoint | vs floor | throughput ratio | p50 ratio | p99 ratio |")
    print("|---|---|---:|---:|---:|")
    for key, floor_r in (("payment", sel), ("token", sel), ("payment", js)):
        r = results[key]
        print(
            f"| {r.name} | {floor_r.name} | {r.rps / floor_r.rps:.0%} | {r.p50_ms / floor_r.p50_ms:.2f}x "
            f"| {r.p99_ms / floor_r.p99_ms:.2f}x |"
        )


if __name__ == "__main__":
    main()
