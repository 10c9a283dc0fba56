"""The console at size, run by hand (under ``flock /work/heavy.lock``):

    .venv/bin/python -m bench.console [--payments 1000000] [--requests 20]

On a fresh PostgreSQL database it seeds a merchant with ``--payments`` payments over 180 days (9 in
10 of them its own, the rest another merchant's): paid, declined with Toss codes, cancelled in
part, across pay methods, card companies and buyers; then ``ANALYZE``. It rolls up the closed days
as ``tollway serve``'s loop does (timed), starts the gateway as one uvicorn process, signs in to the
console over HTTP, and times each page ``--requests`` times after two warm-up requests: the
dashboard (30 days, 7 days), the payments page unfiltered, filtered by status and dates, by buyer
email, by buyer name within a month, its second page, and a CSV export of 100,000 payments with the
serving process's peak memory before and after. It prints a Markdown table (p50, p95, max in ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from bench.run import ADMIN, MASTER_KEY, ROOT, _port, prepare_database, serve

DB_NAME = "tollway_bench_console"
EMAIL = "owner@bench.test"
PASSWORD = "bench-console-password"  # noqa: S105 - a throwaway benchmark database

SEED_PAYMENTS = """
INSERT INTO payments (
  imp_uid, merchant_id, channel_id, merchant_uid, merchant_uid_hold, pay_method, channel, pg_provider, pg_tid,
  sandbox, escrow, card_quota, card_name, card_number, amount, cancel_amount, tax_free, currency,
  buyer_name, buyer_email, buyer_tel, name, status, started_at, paid_at, failed_at, updated_at,
  fail_reason, cash_receipt_issued)
SELECT
  'imp_b' || lpad(n::text, 12, '0'),
  CASE WHEN n % 10 = 0 THEN $2::int ELSE $1::int END,
  NULL,
  'order-' || n,
  CASE WHEN n % 20 < 17 THEN 'order-' || n END,
  (ARRAY['card','card','card','card','trans','vbank','kakaopay','tosspay'])[1 + n % 8],
  (ARRAY['pc','mobile','api'])[1 + n % 3],
  'tosspayments',
  CASE WHEN n % 20 < 17 THEN 'tgen_' || n END,
  n % 50 = 0, false, 0,
  (ARRAY['신한카드','현대카드','KB국민카드','삼성카드','롯데카드','BC카드'])[1 + n % 6],
  '43301234****' || lpad((n % 1000)::text, 3, '0') || '*',
  1000 * (1 + n % 200), CASE WHEN n % 20 = 0 THEN 500 ELSE 0 END, 0, 'KRW',
  '구매자' || (n % 40000), 'buyer' || (n % 40000) || '@example.com',
  '010-' || lpad((n % 10000)::text, 4, '0') || '-1234',
  '상품 ' || (n % 100),
  CASE WHEN n % 20 < 17 THEN 'paid' WHEN n % 20 < 19 THEN 'failed' ELSE 'ready' END,
  t, CASE WHEN n % 20 < 17 THEN t + interval '20 seconds' END,
  CASE WHEN n % 20 BETWEEN 17 AND 18 THEN t + interval '20 seconds' END,
  t + interval '20 seconds',
  CASE WHEN n % 20 BETWEEN 17 AND 18 THEN
    (ARRAY['[REJECT_CARD_COMPANY] 거절','[EXCEED_MAX_DAILY_PAYMENT_COUNT] 한도','[INVALID_CARD_EXPIRATION] 유효기간',
           '[NOT_ENOUGH_BALANCE] 잔액부족'])[1 + n % 4] END,
  false
FROM (SELECT n, $3::timestamptz - (n * $4::double precision) * interval '1 second' AS t
      FROM generate_series(1, $5::int) AS n) AS s
"""
SEED_CANCELS = """
INSERT INTO payment_cancels (payment_id, cancellation_id, pg_tid, amount, tax_free, reason, cancelled_at)
SELECT id, 'cancel-' || id, 'txrd_' || id, 500, 0, '부분 환불', paid_at + interval '1 hour'
FROM payments WHERE cancel_amount > 0
"""


async def seed(url: str, payments: int) -> tuple[str, datetime]:
    """Returns the big merchant's user code and the seeding's "now"."""
    await prepare_database(url, DB_NAME)
    from tollway.app import build_services
    from tollway.config import Settings
    from tollway.merchants import staff
    from tollway.merchants.service import add_channel, create_merchant
    from tollway.vault import Secret

    services = build_services(Settings(database_url=url, master_key=MASTER_KEY))
    await services.start()
    try:
        async with services.sessions() as session:
            big = (await create_merchant(session, services.clock, services.vault, "Bench Shop")).merchant
            other = (await create_merchant(session, services.clock, services.vault, "Other Shop")).merchant
            await add_channel(
                session, services.clock, services.vault, big, pg_provider="tosspayments", mid="bench_live",
                client_key="live_ck_bench", secret_key=Secret("live_sk_bench"), sandbox=False,
            )  # fmt: skip
            await staff.create_user(
                session, services.clock, merchant_id=big.id, email=EMAIL, role="owner", password=PASSWORD
            )
            await session.commit()
            code, big_id, other_id = big.user_code, big.id, other.id
    finally:
        await services.close()
    now = datetime.now(UTC)
    conn = await asyncpg.connect(url)
    try:
        started = time.monotonic()
        spacing = 180 * 86400 / payments  # seconds between two payments: 180 days in all
        await conn.execute(SEED_PAYMENTS, big_id, other_id, now, spacing, payments)
        await conn.execute(SEED_CANCELS)
        await conn.execute("ANALYZE")
        print(f"seeded {payments:,} payments in {time.monotonic() - started:.0f} s")
    finally:
        await conn.close()
    return code, now


async def roll_up(url: str) -> None:
    from tollway.app import build_services
    from tollway.config import Settings
    from tollway.payments import stats

    services = build_services(Settings(database_url=url, master_key=MASTER_KEY))
    await services.start()
    try:
        started = time.monotonic()
        written = await stats.roll_up_all(services, services.clock.now())
        print(f"rolled up {written} merchant-days in {time.monotonic() - started:.1f} s (tollway serve's loop)")
    finally:
        await services.close()


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _sign_in(http: httpx.Client) -> None:
    form = http.get("/console/sign-in").text
    csrf = form.split('name="csrf-token" content="')[1].split('"')[0]
    answer = http.post("/console/sign-in", data={"email": EMAIL, "password": PASSWORD, "csrf": csrf})
    if answer.status_code != 303:
        raise SystemExit(f"sign-in failed: {answer.status_code}")


def _time(http: httpx.Client, path: str, requests: int) -> list[float]:
    for _ in range(2):
        answer = http.get(path)
        if answer.status_code != 200:
            raise SystemExit(f"{path}: HTTP {answer.status_code}")
    took = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = http.get(path)
        took.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{path}: HTTP {answer.status_code}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()

    url = ADMIN.rsplit("/", 1)[0] + "/" + DB_NAME
    code, now = asyncio.run(seed(url, args.payments))
    asyncio.run(roll_up(url))
    port = _port()
    env = {
        **os.environ,
        "TOLLWAY_DATABASE_URL": url,
        "TOLLWAY_MASTER_KEY": MASTER_KEY,
        "PYTHONPATH": str(ROOT),
        "TOLLWAY_PORT": str(port),
        "TOLLWAY_RECONCILE_INTERVAL_SECONDS": "0",
        "TOLLWAY_WORKER_ENABLED": "false",
    }
    proc = serve("bench.gateway:app", port, env)
    day = (now + timedelta(hours=9)).date()
    month_ago = day - timedelta(days=30)
    home = f"/console/m/{code}"
    pages = {
        "dashboard, 30 days": f"{home}?range=30d&mode=live",
        "dashboard, 7 days": f"{home}?range=7d&mode=live",
        "dashboard, today": f"{home}?range=today&mode=live",
        "payments, unfiltered": f"{home}/payments",
        "payments, failed in the last 30 days": f"{home}/payments?status=failed&date_from={month_ago}&date_to={day}",
        "payments, by buyer email": f"{home}/payments?buyer_email=buyer1234@example.com",
        "payments, by buyer name in the last 30 days": f"{home}/payments?buyer_name=구매자1234&date_from={month_ago}",
        "payments, card digits and amount": f"{home}/payments?card_digits=123&amount=124000",
    }
    rows = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            _sign_in(http)
            second = http.get(f"{home}/payments").text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
            pages["payments, second page"] = second.replace("&amp;", "&")
            for name, path in pages.items():
                took = sorted(_time(http, path, args.requests))
                p95 = took[min(len(took) - 1, round(0.95 * (len(took) - 1)))]
                rows.append(f"| {name} | {statistics.median(took):.0f} | {p95:.0f} | {took[-1]:.0f} |")
            before = _peak_rss_mb(proc.pid)
            started = time.perf_counter()
            size = 0
            with http.stream("GET", f"{home}/payments.csv", params={"date_from": str(day - timedelta(days=20))}) as s:
                for chunk in s.iter_bytes():
                    size += len(chunk)
            took_csv = time.perf_counter() - started
            after = _peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
    print(f"\n{args.payments:,} payments; {args.requests} requests per page after 2 warm-ups (ms)\n")
    print("| page | p50 | p95 | max |")
    print("|---|---:|---:|---:|")
    print("\n".join(rows))
    print(
        f"\nCSV export of the last 20 days ({size / 1e6:.1f} MB): {took_csv:.1f} s; "
        f"serving process peak RSS {before:.0f} MB before, {after:.0f} MB after"
    )


if __name__ == "__main__":
    main()
