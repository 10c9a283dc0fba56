"""Latency at half load, and memory over a long run, run by hand (issue 16's last two bars):

    .venv/bin/python -m bench.steady [--requests 100000] [--connections 16]

1. **p99 at half of the maximum load.** Measures the gateway's maximum lookup rate
   (``GET /payments/{imp_uid}``, wrk as ``bench.run`` drives it), then offers half of it to the
   gateway and the same rate to the one-SELECT floor (``bench/floor.py``): each of wrk's
   connections waits between its requests (wrk's ``delay()``) so that together they send that rate.
   Prints each side's rate, p50 and p99.
2. **RSS over a long run.** Sends ``--requests`` requests to one gateway process (nine lookups to
   one ``again`` charge, in rounds) and reads its resident memory (``VmRSS``, and the peak
   ``VmHWM``) from ``/proc`` after each round. Prints the series: a leak shows as growth round
   after round once the first round has warmed the caches and pools.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
from pathlib import Path

from bench.run import (
    ADMIN,
    AGAIN_BODY,
    DB_NAME,
    _port,
    bench_env,
    lua,
    payment_lua,
    prepare_database,
    seed,
    serve,
    sign_in_and_register,
    wrk,
)


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    values = {k: int(v) / 1024 for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M)}
    return values["VmRSS"], values["VmHWM"]


def paced(connections: int, rate: float, auth: str | None = None) -> str:
    """A wrk script whose connections together send about ``rate`` requests a second."""
    gap_ms = max(1, round(connections * 1000 / rate))
    header = f'wrk.headers["Authorization"] = "{auth}"\n' if auth else ""
    return lua(f"{header}function delay()\n  return {gap_ms}\nend\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--pool", type=int, default=10, help="TOLLWAY_DB_POOL_SIZE (10: the default)")
    args = parser.parse_args()

    url = ADMIN.rsplit("/", 1)[0] + "/" + DB_NAME
    asyncio.run(prepare_database(url))
    imp_key, imp_secret, imp_uid, _ = asyncio.run(seed(url))
    gw_port, floor_port, sandbox_port = _port(), _port(), _port()
    env = bench_env(url, sandbox_port, args.pool)
    sandbox = serve("bench.sandbox:app", sandbox_port, {**env, "TOLLWAY_DB_POOL_SIZE": "20"})
    gateway = serve("bench.gateway:app", gw_port, env)
    gw, floor = f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{floor_port}"
    lines: list[str] = []
    try:
        token = sign_in_and_register(gw, imp_key, imp_secret)
        lookup = f"{gw}/payments/{imp_uid}"
        kw = {"seconds": args.seconds, "connections": 32}
        peak = wrk(
            "gateway: lookup, unpaced",
            lookup,
            gateway.pid,
            **kw,
            script=lua(f'wrk.headers["Authorization"] = "{token}"\n'),
        )
        half = peak.rps / 2
        paced_kw = {"seconds": args.seconds, "connections": args.connections}
        gw_half = wrk(
            "gateway: lookup at half load", lookup, gateway.pid, **paced_kw, script=paced(args.connections, half, token)
        )

        # memory: rounds of about nine lookups to one again charge, until --requests
        series = [("start", *rss_mb(gateway.pid))]
        sent, again_rate, per_round = 0, peak.rps / 8, args.requests // 4
        lookup_script = lua(f'wrk.headers["Authorization"] = "{token}"\n')
        for n in range(12):
            if sent >= args.requests:
                break
            sent += run_for(lookup, per_round * 0.9 / peak.rps, lookup_script, args.connections)[0]
            charges, seconds = run_for(
                f"{gw}/subscribe/payments/again",
                per_round * 0.1 / again_rate,
                lua(payment_lua(token, AGAIN_BODY.replace('"ag-', f'"rss{n}-'))),
                args.connections,
            )
            sent, again_rate = sent + charges, charges / seconds
            series.append((f"after {sent:,} requests", *rss_mb(gateway.pid)))
    finally:
        gateway.terminate()
        gateway.wait()

    floor_proc = serve("bench.floor:app", floor_port, env)
    try:
        floor_half = wrk(
            "floor: one SELECT at the same rate",
            f"{floor}/select/bench-floor",
            floor_proc.pid,
            **paced_kw,
            script=paced(args.connections, half),
        )
    finally:
        floor_proc.terminate()
        floor_proc.wait()
        sandbox.terminate()
        sandbox.wait()

    lines.append(
        f"\nmaximum lookup rate {peak.rps:,.0f}/s (wrk -c32); half of it offered to both, wrk -c{args.connections}\n"
    )
    lines.append("| | req/s | p50 ms | p99 ms | CPU per request |")
    lines.append("|---|---:|---:|---:|---:|")
    for r in (gw_half, floor_half):
        lines.append(f"| {r.name} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.cpu_ms:.2f} ms |")
    gap = gw_half.p99_ms - floor_half.p99_ms
    lines.append(f"\np99 gap: {gap:.2f} ms ({'within' if gap <= 10 else '**beyond**'} the 10 ms bar)\n")
    lines.append("| gateway process | VmRSS MB | VmHWM MB |")
    lines.append("|---|---:|---:|")
    lines.extend(f"| {label} | {rss:.1f} | {hwm:.1f} |" for label, rss, hwm in series)
    print("\n".join(lines))


def run_for(target: str, seconds: float, script: str, connections: int) -> tuple[int, float]:
    """wrk against ``target`` for about ``seconds``; (requests completed, seconds taken)."""
    whole = max(1, round(seconds))
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{whole}s", "-s", script, target],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(re.search(r"(\d+) requests in", out).group(1)), whole  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
