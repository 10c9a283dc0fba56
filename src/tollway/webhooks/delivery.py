"""Delivering the outbox: claimed by one worker at a time, retried with backoff, every attempt logged.

- A 2xx answer is delivered; anything else (or no answer) is retried after ``BACKOFF[n]`` ± 20%
  jitter, which reaches about 3 days over 12 attempts. A merchant can ask for fewer, down to
  V1-strict single attempts. After the last attempt the notification is ``failed`` and visible
  (``tollway webhooks list --state failed``), ready to be replayed.
- Claims use ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) and carry a lease: a delivery left by a
  crashed process is taken over after ``LEASE``, so deliveries survive restarts.
- V1's timeouts: 10 s to connect, 30 s to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import structlog
from sqlalchemy import or_, select, update

from tollway.clock import rest, to_unix
from tollway.db.models import WebhookAttempt, WebhookNotification
from tollway.merchants.origins import sandbox_only
from tollway.observability.logs import bound, new_request_id
from tollway.observability.metrics import WEBHOOK_ATTEMPTS
from tollway.services import Services
from tollway.webhooks import outbox, signing
from tollway.webhooks.urls import url_problem

log = structlog.get_logger("tollway.webhooks")

#: wait before attempt n+1 (after n failed attempts); 11 waits ≈ 2 days 23 hours in all
BACKOFF = (
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(hours=16),
    timedelta(hours=39),
)
LEASE = timedelta(minutes=2)  # the default of TOLLWAY_WEBHOOK_LEASE_SECONDS
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: how long a deliverer trusts its answer to "is the installation sandbox-only?"
SANDBOX_ONLY_TTL = 5.0


def backoff(failed_attempts: int, rng: random.Random | None = None) -> timedelta:
    base = BACKOFF[min(failed_attempts, len(BACKOFF)) - 1]
    jitter = (rng or random).uniform(0.8, 1.2)
    return base * jitter


@dataclass
class DeliveryStats:
    delivered: int = 0
    retried: int = 0
    failed: int = 0


class Deliverer:
    def __init__(
        self, services: Services, *, name: str | None = None, concurrency: int = 16, lease: timedelta | None = None
    ) -> None:
        self.services = services
        self.lease = lease if lease is not None else timedelta(seconds=services.settings.webhook_lease_seconds)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:wh{id(self) % 1000}"
        self.concurrency = concurrency
        self.stats = DeliveryStats()
        self._sandbox_only: tuple[bool, float] | None = None

    async def round(self) -> int:
        claimed = await self.claim(self.concurrency)
        if claimed:
            now = self.services.clock.now()
            secrets: dict[int, list[str]] = {}
            for merchant_id in {row.merchant_id for row in claimed}:  # one read (or creation) per merchant
                async with self.services.sessions() as session:
                    secrets[merchant_id] = await signing.live_secrets(session, self.services.keyring, merchant_id, now)
                    await session.commit()
            await asyncio.gather(*(self._deliver_logged(row, secrets[row.merchant_id]) for row in claimed))
        return len(claimed)

    async def _deliver_logged(self, row: WebhookNotification, secrets: list[str]) -> None:
        """Logged under the request id of the change it reports (or one of its own)."""
        with bound(request_id=row.request_id or new_request_id("wh-"), webhook_id=row.webhook_id):
            await self.deliver(row, secrets)

    async def hand_back(self) -> int:
        """Puts this deliverer's unfinished claims back in the queue (a stop cut a round short)."""
        async with self.services.sessions() as session:
            result = await session.execute(
                update(WebhookNotification)
                .where(WebhookNotification.claimed_by == self.name, WebhookNotification.state == "delivering")
                .values(state="pending", claimed_by=None, claimed_at=None)
            )
            await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)

    async def run_until_idle(self) -> DeliveryStats:
        while await self.round():
            pass
        return self.stats

    async def claim(self, limit: int) -> list[WebhookNotification]:
        now = self.services.clock.now()
        due = (
            select(WebhookNotification.id)
            .where(
                or_(
                    (WebhookNotification.state == "pending") & (WebhookNotification.next_attempt_at <= now),
                    (WebhookNotification.state == "delivering") & (WebhookNotification.claimed_at <= now - self.lease),
                )
            )
            .order_by(WebhookNotification.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self.services.sessions() as session:
            result = await session.execute(
                update(WebhookNotification)
                .where(WebhookNotification.id.in_(due.scalar_subquery()))
                .values(state="delivering", claimed_by=self.name, claimed_at=now)
                .returning(WebhookNotification)
                .execution_options(synchronize_session=False)
            )
            rows = list(result.scalars())
            await session.commit()
        return rows

    async def private_allowed(self) -> bool:
        """``TOLLWAY_WEBHOOK_ALLOW_PRIVATE``, or (unset) whether the installation is sandbox-only,
        looked up at most every few seconds."""
        setting = self.services.settings.webhook_allow_private
        if setting is not None:
            return setting
        now = time.monotonic()
        if self._sandbox_only is None or now - self._sandbox_only[1] > SANDBOX_ONLY_TTL:
            async with self.services.sessions() as session:
                self._sandbox_only = (await sandbox_only(session), now)
        return self._sandbox_only[0]

    async def deliver(self, row: WebhookNotification, secrets: list[str]) -> None:
        services = self.services
        now = services.clock.now()
        body, content_type = outbox.encode(row)
        timestamp = to_unix(now)
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Tollway-Webhooks/1",
            "webhook-id": row.webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(signing.sign(s, row.webhook_id, timestamp, body) for s in secrets),
        }
        if row.request_id:
            headers["X-Request-Id"] = row.request_id  # the merchant can match it to its own request
        started = time.monotonic()
        status: int | None = None
        excerpt: str | None = None
        error: str | None = None
        problem = url_problem(row.url)
        if problem is not None:  # no attempt can ever succeed: failed at once, with the reason
            await self._record(row, now, None, 0, None, f"invalid URL: {problem}", permanent=True)
            return
        try:
            http = services.http if await self.private_allowed() else services.webhook_http
            response = await http.post(row.url, content=body, headers=headers, limits=TIMEOUT)
            status = response.status_code
            excerpt = response.text[:200]
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        except (ValueError, OSError) as exc:  # what the transport raises for a URL it cannot use
            error = f"{type(exc).__name__}: {exc}"[:300]
        latency = int((time.monotonic() - started) * 1000)
        await self._record(row, now, status, latency, excerpt, error)

    async def _record(
        self,
        row: WebhookNotification,
        at: datetime,
        status: int | None,
        latency_ms: int,
        excerpt: str | None,
        error: str | None,
        *,
        permanent: bool = False,
    ) -> None:
        ok = status is not None and 200 <= status < 300
        attempts = row.attempts + 1
        if ok:
            values = {"state": "delivered", "delivered_at": at, "last_error": None}
            self.stats.delivered += 1
            WEBHOOK_ATTEMPTS.labels("delivered").inc()
        elif permanent or attempts >= row.max_attempts:
            values = {"state": "failed", "last_error": error or f"HTTP {status}"}
            self.stats.failed += 1
            WEBHOOK_ATTEMPTS.labels("failed").inc()
        else:
            WEBHOOK_ATTEMPTS.labels("retry").inc()
            values = {
                "state": "pending",
                "next_attempt_at": at + backoff(attempts),
                "last_error": error or f"HTTP {status}",
            }
            self.stats.retried += 1
        async with self.services.sessions() as session:
            session.add(
                WebhookAttempt(
                    notification_id=row.id,
                    attempted_at=at,
                    url=row.url,
                    status_code=status,
                    latency_ms=latency_ms,
                    excerpt=excerpt,
                    error=error,
                )
            )
            await session.execute(
                update(WebhookNotification)
                .where(WebhookNotification.id == row.id, WebhookNotification.claimed_by == self.name)
                .values(attempts=attempts, claimed_by=None, claimed_at=None, **values)
            )
            await session.commit()
        log.info("webhook attempt", webhook_id=row.webhook_id, status=status, state=values["state"], url=row.url)


async def replay(
    services: Services,
    *,
    merchant_id: int | None = None,
    webhook_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Queues notifications for delivery again: one by id, or every failed one in a time range."""
    conditions = []
    if webhook_id is not None:
        conditions.append(WebhookNotification.webhook_id == webhook_id)
    else:
        conditions.append(WebhookNotification.state == "failed")
        if since is not None:
            conditions.append(WebhookNotification.created_at >= since)
        if until is not None:
            conditions.append(WebhookNotification.created_at <= until)
    if merchant_id is not None:
        conditions.append(WebhookNotification.merchant_id == merchant_id)
    now = services.clock.now()
    async with services.sessions() as session:
        result = await session.execute(
            update(WebhookNotification)
            .where(*conditions, WebhookNotification.state.in_(("failed", "delivered")))
            .values(state="pending", next_attempt_at=now, attempts=0, claimed_by=None, claimed_at=None)
        )
        await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def run_periodically(services: Services, interval: float = 1.0, stop: asyncio.Event | None = None) -> None:
    """The delivery loop of ``tollway serve`` and ``tollway worker``. Setting ``stop`` drains it:
    no new claim, the round in flight finishes (each delivery times out after 30 s), then it
    returns. Cancelled instead, it hands back what it had claimed, so nothing waits for a lease."""
    deliverer = Deliverer(services)
    stop = stop or asyncio.Event()
    try:
        while not stop.is_set():
            try:
                if not await deliverer.round():
                    await rest(stop, interval)
            except Exception as exc:
                log.error("webhook round failed", error_type=type(exc).__name__)
                await rest(stop, interval)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(deliverer.hand_back())
