"""Benchmarks, run by hand: ``.venv/bin/python -m bench.run [--sqlite]`` (needs Debian's ``wrk``, and
PostgreSQL unless ``--sqlite``).

In one run it starts the sandbox PG as its own process, then the gateway, then the same-work floors
(``bench/floor.py``: a raw ASGI app on the bare driver), each as one uvicorn process on loopback
against one fresh database, drives each endpoint with wrk (same threads, connections and
duration), and prints throughput, p50/p99 and each process's CPU time per request, then the
table of CPU ratios to the floors that issue 16 sets its bars on. Results go to stdout as Markdown;
copy them into docs/benchmarks.md with the date and machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    #: CPU time of the server process per request (user + system, from /proc), in ms
    cpu_ms: float


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    name: str,
    url: str,
    pid: int,
    *,
    seconds: int,
    connections: int,
    script: str | Callable[[str], str] | None = None,
    warm: bool = True,
) -> Result:
    """Warms the endpoint up for 2 s (pools, caches, first-request costs; discarded) unless ``warm``
    is false, then measures, reading the CPU time the serving process ``pid`` spent meanwhile. A
    callable ``script`` makes one script per wrk run (given "warm-up" or "run"): payments need a
    merchant_uid no earlier run used, or they measure V1's cheap "already paid" refusal instead."""

    def command(phase: str, duration: int) -> list[str]:
        chosen = script(phase) if callable(script) else script
        return [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            *(["-s", chosen] if chosen else []),
            url,
        ]

    if warm:
        subprocess.run(command("warm-up", 2), capture_output=True, text=True, check=True)
    cpu_before = _cpu_seconds(pid)
    out = subprocess.run(command("run", seconds), capture_output=True, text=True, check=True).stdout
    cpu = _cpu_seconds(pid) - cpu_before
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{name}: {non2xx.group(1)} error answers; the benchmark is invalid:\n{out}")
    return Result(name, rps, p50, p99, cpu * 1000 / max(requests, 1))


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


async def prepare_database(url: str, name: str = DB_NAME) -> None:
    """A fresh, migrated database ``name`` (dropped first if it exists) at ``url``."""
    conn = await asyncpg.connect(ADMIN)
    await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await conn.execute(f"CREATE DATABASE {name}")
    await conn.close()
    from tollway.db import migrate

    await migrate.upgrade(url)


async def seed(url: str) -> tuple[str, str, str, str]:
    """A merchant with a live channel (lookups) and a sandbox channel (payments), a paid payment and a
    prepared row; returns (imp_key, imp_secret, imp_uid, user code)."""
    from tollway.app import build_services
    from tollway.config import Settings
    from tollway.merchants.service import add_channel, create_merchant
    from tollway.payments.ledger import CardApproval, PaymentRequest, mark_paid, open_payment
    from tollway.payments.prepare import prepare
    from tollway.vault import Secret

    services = build_services(Settings(database_url=url, master_key=MASTER_KEY))
    async with services.sessions() as session:
        new = await create_merchant(session, services.clock, services.vault, "Bench")
        # The looked-up payment is a live one, as in production (a sandbox payment costs one more
        # query when the merchant also has a live channel).
        channel = await add_channel(
            session,
            services.clock,
            services.vault,
            new.merchant,
            pg_provider="tosspayments",
            mid="benchlive",
            client_key="live_ck_bench",
            secret_key=Secret("live_sk_bench"),
            sandbox=False,
        )
        await add_channel(
            session,
            services.clock,
            services.vault,
            new.merchant,
            pg_provider="tosspayments",
            mid="bench",
            client_key="test_ck_bench",
            secret_key=Secret("test_sk_bench"),
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
        result = (new.key_pair.imp_key, new.key_pair.imp_secret.reveal(), payment.imp_uid, new.merchant.user_code)
    await services.close()
    return result


def payment_lua(token: str, body: str) -> str:
    """A wrk script POSTing ``body`` (a Lua format string of thread id and counter: each request gets
    a new merchant_uid) with the V1 token."""
    return f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "{token}"
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local counter = 0
function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, string.format('{body}', tid, counter))
end
"""


AGAIN_BODY = '{"customer_uid":"bench-cu","merchant_uid":"ag-%d-%d","amount":1000,"name":"bench"}'
ONETIME_BODY = (
    '{"merchant_uid":"ot-%d-%d","amount":1000,"pg":"tosspayments.bench",'
    '"card_number":"4330-1234-1234-0005","expiry":"2030-12","birth":"900101","name":"bench"}'
)


async def count_onetime(url: str) -> tuple[int, int, int]:
    """(payments opened by the onetime and again runs, of them paid, their charges in the sandbox's ledger)."""
    queries = (
        "SELECT count(*) FROM payments WHERE (merchant_uid LIKE 'ot-%' OR merchant_uid LIKE 'ag-%')",
        "SELECT count(*) FROM payments WHERE (merchant_uid LIKE 'ot-%' OR merchant_uid LIKE 'ag-%')"
        " AND status = 'paid'",
        "SELECT count(*) FROM sandbox_payments WHERE status = 'DONE' AND order_id IN"
        " (SELECT imp_uid FROM payments WHERE merchant_uid LIKE 'ot-%' OR merchant_uid LIKE 'ag-%')",
    )
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1]) as lite:
            opened, paid, charges = (lite.execute(q).fetchone()[0] for q in queries)
        return int(opened), int(paid), int(charges)
    conn = await asyncpg.connect(url)
    try:
        opened, paid, charges = [await conn.fetchval(q) for q in queries]
    finally:
        await conn.close()
    return int(opened), int(paid), int(charges)


def _merchant_id(url: str) -> int:
    query = "SELECT merchant_id FROM billing_customers WHERE customer_uid = 'bench-cu'"
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1]) as lite:
            return int(lite.execute(query).fetchone()[0])

    async def read() -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval(query))
        finally:
            await conn.close()

    return asyncio.run(read())


#: (gateway result, floor result, the issue's bar for the CPU ratio) in the ratio table
RATIOS = (
    ("payment", "select", 4.0),
    ("token", "select", None),
    ("again", "again_floor", 3.0),
    ("onetime", "again_floor", 3.0),
)


def bench_env(url: str, sandbox_port: int, pool: int, **extra: str) -> dict[str, str]:
    """The environment of every process a benchmark starts (the sandbox overrides its pool)."""
    return {
        **os.environ,
        "TOLLWAY_DATABASE_URL": url,
        "TOLLWAY_MASTER_KEY": MASTER_KEY,
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",  # this tree's gateway, also when another is installed
        "TOLLWAY_RECONCILE_INTERVAL_SECONDS": "0",
        # the shipped default unless --pool: before 2026-11-30's third pass every run used 40
        "TOLLWAY_DB_POOL_SIZE": str(pool),
        # The sandbox PG runs as its own process, as Toss runs on its own machines: the gateway's
        # CPU per payment is then its own, and the sandbox's is read apart.
        "TOLLWAY_SANDBOX_URL": f"http://127.0.0.1:{sandbox_port}/sandbox/toss",
        **extra,
    }


def sign_in_and_register(gw: str, imp_key: str, imp_secret: str) -> str:
    """A V1 token for the seeded merchant, and its customer ``bench-cu`` (again's billing key)."""
    token = httpx.post(f"{gw}/users/getToken", json={"imp_key": imp_key, "imp_secret": imp_secret}).json()
    access: str = token["response"]["access_token"]
    card = {"pg": "tosspayments.bench", "card_number": "4330-1234-1234-0005", "expiry": "2030-12", "birth": "900101"}
    registered = httpx.post(
        f"{gw}/subscribe/customers/bench-cu", headers={"Authorization": access}, json=card, timeout=30
    ).json()
    assert registered["code"] == 0, registered
    return access


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=8, help="wrk's run per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every gateway and floor run, interleaved")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--pool", type=int, default=10, help="TOLLWAY_DB_POOL_SIZE of the gateway and the floor (10: the default)"
    )
    parser.add_argument("--sqlite", action="store_true", help="run on a SQLite file instead of PostgreSQL")
    parser.add_argument(
        "--embedded-sandbox",
        action="store_true",
        help="also measure again with the sandbox PG in the gateway's process (the embedded default)",
    )
    args = parser.parse_args()

    if args.sqlite:
        workdir = tempfile.mkdtemp(prefix="tollway-bench-")
        url = f"sqlite:///{workdir}/bench.db"
        asyncio.run(_migrate(url))
    else:
        url = ADMIN.rsplit("/", 1)[0] + "/" + DB_NAME
        asyncio.run(prepare_database(url))
    imp_key, imp_secret, imp_uid, _ = asyncio.run(seed(url))
    floor_port, gw_port, sandbox_port = _port(), _port(), _port()
    env = bench_env(url, sandbox_port, args.pool, TOLLWAY_PORT=str(gw_port))
    results: dict[str, list[Result]] = {}
    sandbox_cpu: dict[str, list[float]] = {"onetime": [], "again": []}
    # The sandbox, the gateway and the floor run side by side, and each round drives every gateway
    # endpoint and every floor once, in turn: a machine that slows down mid-run (other tenants,
    # frequency) slows both sides of a ratio alike. Only one process is driven at a time.
    sandbox_proc = serve("bench.sandbox:app", sandbox_port, {**env, "TOLLWAY_DB_POOL_SIZE": "20"})
    sandbox_pid = sandbox_proc.pid
    gw = f"http://127.0.0.1:{gw_port}"
    floor = f"http://127.0.0.1:{floor_port}"
    procs = [sandbox_proc]  # each is stopped however the run ends
    try:
        procs.append(serve("bench.gateway:app", gw_port, env))
        procs.append(serve("bench.floor:app", floor_port, env))
        gw_pid, floor_pid = procs[1].pid, procs[2].pid
        access = sign_in_and_register(gw, imp_key, imp_secret)
        token_body = json.dumps({"imp_key": imp_key, "imp_secret": imp_secret})
        token_script = lua(
            f'wrk.method = "POST"\nwrk.body = {json.dumps(token_body)}\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        lookup_script = lua(f'wrk.headers["Authorization"] = "{access}"\n')
        post = lua('wrk.method = "POST"\n')
        merchant_id = _merchant_id(url)
        same_row = httpx.get(f"{floor}/payment/{imp_uid}/{merchant_id}").json()
        assert same_row["response"]["imp_uid"] == imp_uid, same_row  # the floor reads the lookup's row
        for n in range(args.rounds):
            kw = {"seconds": args.seconds, "connections": args.connections, "warm": n == 0}

            def add(key: str, result: Result) -> None:
                results.setdefault(key, []).append(result)

            add(
                "payment",
                wrk("gateway: GET /payments/{imp_uid}", f"{gw}/payments/{imp_uid}", gw_pid, **kw, script=lookup_script),
            )
            add(
                "select",
                wrk(
                    "floor: the lookup's SELECT (same row)", f"{floor}/payment/{imp_uid}/{merchant_id}", floor_pid, **kw
                ),
            )
            add("small", wrk("floor: one small SELECT by key", f"{floor}/select/bench-floor", floor_pid, **kw))
            add(
                "token",
                wrk("gateway: POST /users/getToken (reuse)", f"{gw}/users/getToken", gw_pid, **kw, script=token_script),
            )
            for key, path, body in (("onetime", "onetime", ONETIME_BODY), ("again", "again", AGAIN_BODY)):
                cpu, charges = _cpu_seconds(sandbox_pid), _charges_at_sandbox(url, key)
                add(
                    key,
                    wrk(
                        f"gateway: POST /subscribe/payments/{path}",
                        f"{gw}/subscribe/payments/{path}",
                        gw_pid,
                        **kw,
                        script=fresh(access, body, n),
                    ),
                )
                # the sandbox's CPU over warm-up and run, per charge of both
                done = max(1, _charges_at_sandbox(url, key) - charges)
                sandbox_cpu[key].append((_cpu_seconds(sandbox_pid) - cpu) * 1000 / done)
            add(
                "again_floor",
                wrk(
                    "floor: again round trips (SELECT, INSERT, PG call, settle)",
                    f"{floor}/again/{merchant_id}",
                    floor_pid,
                    **kw,
                    script=post,
                ),
            )
            add("json", wrk("floor: bare JSON", f"{floor}/json", floor_pid, **kw))
            add("insert", wrk("floor: one INSERT", f"{floor}/insert", floor_pid, **kw, script=post))
            if not args.sqlite:
                # The round's payments leave thousands of dead row versions; autovacuum would clean
                # them within a minute, after the next round's lookups. Both sides read a vacuumed
                # table, as a database at rest between bursts is.
                asyncio.run(_vacuum(url))
        # wrk hangs up at the end with requests in flight, which the gateway still completes.
        time.sleep(2)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()

    if args.embedded_sandbox:
        embedded = {**env, "TOLLWAY_SANDBOX_URL": ""}
        proc = serve("bench.gateway:app", gw_port, embedded)
        try:
            results["again_embedded"] = [
                wrk(
                    "gateway: POST /subscribe/payments/again (in-process sandbox)",
                    f"{gw}/subscribe/payments/again",
                    proc.pid,
                    seconds=args.seconds,
                    connections=args.connections,
                    script=lambda phase: lua(payment_lua(access, AGAIN_BODY.replace('"ag-', f'"ae-{phase[0]}-'))),
                )
            ]
            time.sleep(2)
        finally:
            proc.terminate()
            proc.wait()
    report(results, sandbox_cpu, url, args)


def fresh(access: str, body: str, round_no: int) -> Callable[[str], str]:
    """Payment scripts whose merchant_uids no other run (round, warm-up or run) used."""

    def make(phase: str) -> str:
        tag = f"r{round_no}{phase[0]}-"
        return lua(payment_lua(access, body.replace('"ot-', f'"ot-{tag}').replace('"ag-', f'"ag-{tag}')))

    return make


def _median(values: list[float]) -> float:
    return statistics.median(values)


def report(results: dict[str, list[Result]], sandbox_cpu: dict[str, list[float]], url: str, args: Any) -> None:
    where = "SQLite file" if args.sqlite else "PostgreSQL on loopback"
    print(
        f"\nwrk -t2 -c{args.connections} -d{args.seconds}s, {args.rounds} interleaved rounds (median; range in"
        f" brackets), one uvicorn process each, pool {args.pool}, {where}\n"
    )
    print("| endpoint | req/s | p50 ms | p99 ms | server CPU per request |")
    print("|---|---:|---:|---:|---:|")
    for runs in results.values():
        cpus = [r.cpu_ms for r in runs]
        spread = f" ({min(cpus):.2f}–{max(cpus):.2f})" if len(runs) > 1 else ""
        print(
            f"| {runs[0].name} | {_median([r.rps for r in runs]):,.0f} | {_median([r.p50_ms for r in runs]):.2f}"
            f" | {_median([r.p99_ms for r in runs]):.2f} | {_median(cpus):.2f} ms{spread} |"
        )
    opened, paid, charges = asyncio.run(count_onetime(url))
    print(f"\nonetime and again runs: {opened} payments opened, {paid} paid, {charges} charges at the sandbox")
    if not opened == paid == charges:
        raise SystemExit("the payment runs left unpaid payments or extra charges; the benchmark is invalid")
    print("\n| CPU per request (each round's ratio to the floor of the same round) | gateway | floor | ratio | bar |")
    print("|---|---:|---:|---:|---|")
    for key, floor_key, bar in RATIOS:
        mine, floors = results[key], results[floor_key]
        ratios = [r.cpu_ms / f.cpu_ms for r, f in zip(mine, floors, strict=True)]
        ratio = _median(ratios)
        verdict = "" if bar is None else (f"≤ {bar:.0f}× met" if ratio <= bar else f"≤ {bar:.0f}× **missed**")
        print(
            f"| {mine[0].name} vs {floors[0].name} | {_median([r.cpu_ms for r in mine]):.2f} ms"
            f" | {_median([f.cpu_ms for f in floors]):.2f} ms | {ratio:.2f}× ({min(ratios):.2f}–{max(ratios):.2f})"
            f" | {verdict} |"
        )
    for key, per_charge in sandbox_cpu.items():
        cpu = _median(per_charge)
        verdict = "≤ 1 ms met" if cpu <= 1.0 else "≤ 1 ms **missed**"
        spread = f"({min(per_charge):.2f}–{max(per_charge):.2f})"
        print(f"| sandbox PG per charge (during {key}) | {cpu:.2f} ms {spread} | | | {verdict} |")


async def _vacuum(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    from tollway.db import migrate

    await migrate.upgrade(url)


def _charges_at_sandbox(url: str, kind: str) -> int:
    """Charges the sandbox made for one run's payments (warm-up included)."""
    prefix = {"onetime": "ot-%", "again": "ag-%"}[kind]
    query = "SELECT count(*) FROM sandbox_payments WHERE order_id IN (SELECT imp_uid FROM payments WHERE merchant_uid LIKE {})"  # noqa: E501
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1]) as lite:
            return max(1, int(lite.execute(query.format("?"), (prefix,)).fetchone()[0]))

    async def read() -> int:
        conn = await asyncpg.connect(url)
        try:
            return max(1, int(await conn.fetchval(query.format("$1"), prefix)))
        finally:
            await conn.close()

    return asyncio.run(read())


if __name__ == "__main__":
    main()
