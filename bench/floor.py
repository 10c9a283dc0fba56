"""Same-work floors: what the gateway's operations cost with the bare driver and no gateway logic.

A raw ASGI app (no framework) on the bare driver: asyncpg on PostgreSQL, the standard ``sqlite3``
module on SQLite (called on the event loop: a local file, no other writer in this process), orjson
for JSON, and one pooled aiohttp session for the PG (what the gateway's outgoing calls run on,
``tollway/http.py``). The gateway's numbers are read as ratios of CPU
per request to these (docs/benchmarks.md):

- ``GET /json``: the bare JSON answer;
- ``GET /payment/{imp_uid}/{merchant_id}``: the lookup's one SELECT, the same row of ``payments``
  by the same key, every column, as JSON (the same work as ``GET /payments/{imp_uid}``'s query);
- ``GET /select/{merchant_uid}``: one small SELECT by key (two columns of ``payment_prepares``:
  the floor of passes before 2026-11-30's third);
- ``POST /insert``: one INSERT;
- ``POST /again/{n}``: the round trips of ``POST /subscribe/payments/again`` against the sandbox PG
  — read the customer and its channel, insert the ``ready`` payment holding its merchant_uid, the
  billing-key charge over HTTP (with an Idempotency-Key), then settle: in one transaction the
  payment goes ``paid`` and the merchant's webhook settings are read for the outbox.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import orjson

URL = os.environ["TOLLWAY_DATABASE_URL"]
SANDBOX = os.environ.get("TOLLWAY_SANDBOX_URL", "")
SECRET = "test_sk_bench"  # noqa: S105 - the bench merchant's sandbox channel (bench.run seeds it)
POOL = int(os.environ.get("TOLLWAY_DB_POOL_SIZE", "10"))
SQLITE = URL.startswith("sqlite")

Scope = dict[str, Any]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

_INSERT_PAYMENT = (
    "INSERT INTO payments (imp_uid, merchant_id, channel_id, merchant_uid, merchant_uid_hold, pay_method, channel,"
    " pg_provider, pg_id, sandbox, escrow, card_quota, name, amount, cancel_amount, tax_free, currency,"
    " customer_uid, customer_uid_usage, status, started_at, updated_at, cash_receipt_issued, pg_op, pg_op_key,"
    " pg_op_at, pg_op_amount) VALUES ({}) RETURNING id"
)
_SETTLE = (
    "UPDATE payments SET status = 'paid', paid_at = {0}, updated_at = {0}, pg_tid = {1}, apply_num = {2},"
    " card_number = {3}, pg_op = NULL, pg_op_key = NULL, pg_op_at = NULL, pg_op_amount = NULL"
    " WHERE id = {4} AND status = 'ready' RETURNING imp_uid, merchant_uid, status, amount"
)
_CUSTOMER = (
    "SELECT c.customer_uid, c.customer_id, c.billing_key_sealed, ch.id, ch.mid, ch.pg_provider, ch.sandbox"
    " FROM billing_customers c JOIN pg_channels ch ON ch.id = c.channel_id"
    " WHERE c.merchant_id = {} AND c.customer_uid = {}"
)
_SETTINGS = "SELECT default_url, content_type, max_attempts FROM webhook_settings WHERE merchant_id = {}"


def _sql(template: str, count: int) -> tuple[str, str]:
    """(the PostgreSQL text with $n, the SQLite text with ?)."""
    dollars = [f"${i + 1}" for i in range(count)]
    return template.format(*dollars), template.format(*(["?"] * count))


INSERT_PAYMENT = _sql(_INSERT_PAYMENT.format(", ".join(["{}"] * 27)), 27)
SETTLE = (
    _SETTLE.format("$1", "$2", "$3", "$4", "$5"),
    _SETTLE.format("?1", "?2", "?3", "?4", "?5"),
)
CUSTOMER = _sql(_CUSTOMER, 2)
PAYMENT = _sql("SELECT * FROM payments WHERE imp_uid = {} AND merchant_id = {}", 2)
SETTINGS = _sql(_SETTINGS, 1)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """asyncpg still rolls back an open transaction on release; no reset query besides."""


class Db:
    """The bare driver: an asyncpg pool, or one sqlite3 connection."""

    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None
        self.lite: sqlite3.Connection | None = None

    async def open(self) -> None:
        if SQLITE:
            self.lite = sqlite3.connect(URL.split("///", 1)[1], isolation_level=None, check_same_thread=False)
            self.lite.execute("PRAGMA journal_mode=WAL")
            self.lite.execute("PRAGMA synchronous=NORMAL")
            self.lite.execute("PRAGMA busy_timeout=30000")
        else:
            # No reset query on release, as the gateway's driver (tollway.db.driver._keep_session): the
            # floor stays the cheapest way the driver can do the work.
            self.pool = await asyncpg.create_pool(URL, min_size=POOL, max_size=POOL, reset=_keep_session)

    async def row(self, sql: tuple[str, str], *args: Any) -> Any:
        if self.lite is not None:
            return self.lite.execute(sql[1], _lite(args)).fetchone()
        assert self.pool is not None
        return await self.pool.fetchrow(sql[0], *args)

    async def record(self, sql: tuple[str, str], *args: Any) -> dict[str, Any] | None:
        """One row as a dict of its columns."""
        if self.lite is not None:
            cursor = self.lite.execute(sql[1], _lite(args))
            found = cursor.fetchone()
            return None if found is None else dict(zip([d[0] for d in cursor.description], found, strict=True))
        assert self.pool is not None
        record = await self.pool.fetchrow(sql[0], *args)
        return None if record is None else dict(record)

    async def execute(self, sql: tuple[str, str], *args: Any) -> None:
        if self.lite is not None:
            self.lite.execute(sql[1], _lite(args))
            return
        assert self.pool is not None
        await self.pool.execute(sql[0], *args)

    async def settle(self, payment_id: int, now: datetime, tid: str, approve: str, card: str, merchant: int) -> Any:
        args = (now, tid, approve, card, payment_id)
        if self.lite is not None:
            self.lite.execute("BEGIN IMMEDIATE")
            row = self.lite.execute(SETTLE[1], _lite(args)).fetchone()
            self.lite.execute(SETTINGS[1], (merchant,)).fetchone()
            self.lite.execute("COMMIT")
            return row
        assert self.pool is not None
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(SETTLE[0], *args)
            await conn.fetchrow(SETTINGS[0], merchant)
            return row


def _lite(args: tuple[Any, ...]) -> tuple[Any, ...]:
    # SQLite keeps timestamps as naive UTC text, as the gateway's UTCDateTime does
    return tuple(a.replace(tzinfo=None).isoformat(" ") if isinstance(a, datetime) else a for a in args)


db = Db()
http: aiohttp.ClientSession | None = None
billing_key: str | None = None
_key_lock = asyncio.Lock()
AUTH = "Basic " + base64.b64encode(f"{SECRET}:".encode()).decode()


def _json(data: object) -> bytes:
    return orjson.dumps({"code": 0, "message": None, "response": data})


async def _billing_key(client: aiohttp.ClientSession) -> str:
    """The floor's own billing key at the sandbox (the gateway's is sealed in its vault)."""
    global billing_key
    async with _key_lock:
        if billing_key is None:
            async with client.post(
                f"{SANDBOX}/v1/billing/authorizations/card",
                headers={"Authorization": AUTH},
                json={
                    "customerKey": "floor-customer",
                    "cardNumber": "4330123412340005",
                    "cardExpirationYear": "30",
                    "cardExpirationMonth": "12",
                    "customerIdentityNumber": "900101",
                },
            ) as answer:
                answer.raise_for_status()
                billing_key = str((await answer.json())["billingKey"])
        return billing_key


async def again(merchant_id: int) -> bytes:
    assert http is not None
    customer = await db.row(CUSTOMER, merchant_id, "bench-cu")
    channel_id, mid, provider, sandbox = customer[3], customer[4], customer[5], customer[6]
    now = datetime.now(UTC)
    imp_uid = "imps_" + secrets.token_hex(6)
    merchant_uid = "fl-" + secrets.token_hex(8)
    row = await db.row(
        INSERT_PAYMENT,
        imp_uid, merchant_id, channel_id, merchant_uid, merchant_uid, "card", "api", provider, mid, sandbox,
        False, 0, "bench", 1000, 0, 0, "KRW", "bench-cu", "payment", "ready", now, now, False,
        "approve", imp_uid, now, 1000,
    )  # fmt: skip
    key = await _billing_key(http)
    async with http.post(
        f"{SANDBOX}/v1/billing/{key}",
        headers={"Authorization": AUTH, "Idempotency-Key": f"floor-{imp_uid}", "Content-Type": "application/json"},
        data=orjson.dumps({"customerKey": "floor-customer", "amount": 1000, "orderId": imp_uid, "orderName": "bench"}),
    ) as answer:
        answer.raise_for_status()
        pg = orjson.loads(await answer.read())
    card = pg.get("card") or {}
    settled = await db.settle(
        row[0], datetime.now(UTC), pg["paymentKey"], card.get("approveNo") or "", card.get("number") or "", merchant_id
    )
    return _json({"imp_uid": settled[0], "merchant_uid": settled[1], "status": settled[2], "amount": settled[3]})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    global http
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await db.open()
                http = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=200), timeout=aiohttp.ClientTimeout(total=30)
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path: str = scope["path"]
    while (await receive()).get("more_body"):
        pass
    status, body = 200, b""
    if path == "/json" or path == "/":
        body = _json({"hello": "world"})
    elif path.startswith("/payment/"):
        imp_uid, _, merchant = path.removeprefix("/payment/").partition("/")
        body = _json(await db.record(PAYMENT, imp_uid, int(merchant)))
    elif path.startswith("/select/"):
        row = await db.row(
            ("SELECT merchant_uid, amount FROM payment_prepares WHERE merchant_uid = $1",
             "SELECT merchant_uid, amount FROM payment_prepares WHERE merchant_uid = ?"),
            path.removeprefix("/select/"),
        )  # fmt: skip
        body = _json({"merchant_uid": row[0], "amount": row[1]})
    elif path == "/insert":
        now = datetime.now(UTC)
        await db.execute(
            ("INSERT INTO payment_prepares (merchant_id, merchant_uid, amount, currency, created_at, updated_at)"
             " VALUES ($1, $2, $3, $4, $5, $6)",
             "INSERT INTO payment_prepares (merchant_id, merchant_uid, amount, currency, created_at, updated_at)"
             " VALUES (?, ?, ?, ?, ?, ?)"),
            1, secrets.token_hex(8), 1000, None, now, now,
        )  # fmt: skip
        body = _json(None)
    elif path.startswith("/again/"):
        body = await again(int(path.removeprefix("/again/")))
    else:
        status, body = 404, b"{}"
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
