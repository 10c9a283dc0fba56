"""Refusing clients that keep failing to sign in, in every process at once.

``guard(*scopes)`` wraps one sign-in attempt (``getToken``; the console's sign-in). Scopes name who
is trying: the address (``api.addr:1.2.3.4``) and what it tries (``api.key:<imp_key>``,
``console.email:<email>``). The rules:

- an attempt whose scope is blocked is refused with HTTP 429 before any secret is checked;
- each ``Unauthorized`` inside the guard counts one failure for every scope, in the database
  (``auth_failures``), so all processes share the count; ``burst`` failures within ``window``
  seconds block the scope for ``lockout`` seconds;
- a success resets nothing: failures age out with the window, so a success with another key
  (or a guessed one) from the same address never clears an address's record;
- at most ``concurrency`` attempts are checked at once per process, and at most ``queue`` more
  wait (up to ``queue_timeout`` seconds) for their turn; the rest are refused with 429 within
  ``BUSY_HOLD``, before touching the database, so a flood never queues on the connection pool that
  authenticated lookups need, while a client's few concurrent ``getToken`` calls just wait.

A process remembers the blocks it has seen until they end (``_memo``), so a flood from a blocked
address costs no database round trip; ``ShedBlockedSignIns`` answers a known-blocked address's
``getToken`` in front of the whole stack (no routing, no body, no log line), which keeps its cost
to a fraction of a normal request. A blocked client's 429 is held back half to all of ``hold``
seconds (a tarpit: a client that keeps 1,500 calls in flight gets about 1,500 answers per
``hold``, so the event loop stays free for everyone else; a sleeping request costs no CPU and
holds no connection). Every refusal is counted in ``tollway_auth_refusals_total``.
Scopes are stored as SHA-256 digests: no address or email sits in the table.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from tollway.api.envelope import fail
from tollway.clock import Clock
from tollway.db.auth_models import AuthFailure
from tollway.errors import TooManyRequests, Unauthorized
from tollway.observability.metrics import AUTH_REFUSALS

TOO_MANY = "요청이 너무 많습니다. 잠시 후 다시 시도해주세요."
#: how long a "not blocked" answer from the database is trusted by this process: a block counted
#: by another process reaches this one within that time (its own failures reach it at once)
CLEAR_SECONDS = 1.0
#: the most a refusal for being busy (every slot taken) is held back
BUSY_HOLD = 1.0


def client_address(request: HTTPConnection) -> str:
    """The caller's address: the peer, or what a trusted proxy said (``TOLLWAY_FORWARDED_ALLOW_IPS``,
    applied by the proxy-headers middleware before any route runs)."""
    return request.client.host if request.client else "unknown"


def _digest(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()


class _Slots:
    """At most ``size`` holders at once; the others wait in turn, each for a bounded time. Futures
    with one timer each: ``asyncio.Semaphore`` under ``asyncio.timeout`` cost a tenth of a reused
    token's CPU while sign-ins queued (a task lookup, a timeout object and its rescheduling)."""

    def __init__(self, size: int) -> None:
        self.free = size
        self._waiters: deque[asyncio.Future[bool]] = deque()

    def locked(self) -> bool:
        return self.free <= 0

    async def take(self, patience: float) -> bool:
        """Takes a slot, waiting up to ``patience`` seconds; False when none came in time."""
        if self.free > 0:
            self.free -= 1
            return True
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        timer = loop.call_later(patience, _expire, waiter)
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self.give()  # handed a slot just as this task was cancelled
            raise
        finally:
            timer.cancel()

    def give(self) -> None:
        """Gives a slot back: to the longest waiter still waiting, else to the free count."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)
                return
        self.free += 1


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


class AuthThrottle:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        burst: int = 10,
        window: float = 60.0,
        lockout: float = 60.0,
        concurrency: int = 5,
        queue: int = 64,
        queue_timeout: float = 2.0,
        hold: float = 0.0,
        max_held: int = 20_000,
        memo_size: int = 50_000,
        prune_every: int = 100,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.burst = max(1, burst)
        self.window = window
        self.lockout = lockout
        self.concurrency = max(1, concurrency)
        self._slots = _Slots(self.concurrency)
        self._queue = queue
        self._queue_timeout = queue_timeout
        self._waiting = 0
        self._hold = hold
        self._max_held = max_held
        self._held = 0
        self._memo: OrderedDict[str, float] = OrderedDict()
        #: scopes the database found unblocked, until when that answer is trusted here
        self._clear: OrderedDict[str, float] = OrderedDict()
        self._memo_size = memo_size
        self._prune_every = prune_every
        self._since_prune = 0

    @asynccontextmanager
    async def guard(self, *scopes: str) -> AsyncIterator[None]:
        """One sign-in attempt: refused (429) when busy or blocked; an ``Unauthorized`` raised
        inside counts as a failure for every scope and goes on up unchanged."""
        digests = [_digest(s) for s in scopes]
        known = await self.known_refusal(digests)  # before taking a slot: a flood never fills them
        if known is not None:
            raise known
        await self._take_slot()
        try:
            await self._refuse_if_blocked(digests)
            try:
                yield
            except Unauthorized:
                await self._count_failure(digests)
                raise
        finally:
            self._slots.give()

    def _busy(self) -> TooManyRequests:
        AUTH_REFUSALS.labels("busy").inc()
        return TooManyRequests(TOO_MANY, detail="too many sign-in attempts at once on this server; retry shortly")

    def saturated(self) -> bool:
        """Every slot taken and the waiting room full: the next attempt is refused."""
        return self._slots.locked() and self._waiting >= self._queue

    async def busy_refusal(self) -> TooManyRequests:
        await self._pause(min(self._hold, BUSY_HOLD))  # quick: the client did nothing wrong (yet)
        return self._busy()

    async def _take_slot(self) -> None:
        if self.saturated():
            raise await self.busy_refusal()
        if not self._slots.locked():
            await self._slots.take(0)  # free: no wait
            return
        self._waiting += 1
        try:
            taken = await self._slots.take(self._queue_timeout)
        finally:
            self._waiting -= 1
        if not taken:
            raise self._busy()

    async def _pause(self, most: float) -> None:
        """The tarpit: a jittered wait before a 429 (bounded in number; past that, no wait)."""
        if most <= 0 or self._held >= self._max_held:
            return
        self._held += 1
        try:
            await asyncio.sleep(most * random.uniform(0.5, 1.0))  # jitter, not a secret
        finally:
            self._held -= 1

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _refuse(self, until: float, now: float) -> TooManyRequests:
        AUTH_REFUSALS.labels("blocked").inc()
        wait = max(1, math.ceil(until - now))
        return TooManyRequests(
            TOO_MANY,
            retry_after=wait,
            detail=f"too many failed sign-ins from this client or for this key; retry in {wait} s",
        )

    async def known_refusal(self, digests: list[str]) -> TooManyRequests | None:
        """The 429 for a scope this process knows is blocked (after the tarpit's wait), else None.
        No database: this is what a flood from a blocked client costs."""
        now = self._now()
        for d in digests:
            until = self._memo.get(d)
            if until is not None:
                if until > now:
                    refusal = self._refuse(until, now)
                    await self._pause(min(self._hold, until - now))
                    return refusal
                del self._memo[d]
        return None

    async def known_address_refusal(self, address: str) -> TooManyRequests | None:
        return await self.known_refusal([_digest(f"api.addr:{address}")]) if self._memo else None

    async def _refuse_if_blocked(self, digests: list[str]) -> None:
        now = self._now()
        if all(self._clear.get(d, 0.0) > now for d in digests):
            return  # asked the database less than CLEAR_SECONDS ago; failures here are counted anyway
        async with self._sessions() as session:
            until = await session.scalar(
                select(func.max(AuthFailure.blocked_until)).where(
                    AuthFailure.scope.in_(digests), AuthFailure.blocked_until > now
                )
            )
        if until is not None:
            for d in digests:
                self._remember(d, until)  # the others may not be blocked, but this attempt is
            raise self._refuse(until, now)
        for d in digests:
            self._clear[d] = now + CLEAR_SECONDS
            self._clear.move_to_end(d)
        while len(self._clear) > self._memo_size:
            self._clear.popitem(last=False)

    async def _count_failure(self, digests: list[str]) -> None:
        now = self._now()
        for d in digests:
            self._clear.pop(d, None)
        row = AuthFailure
        async with self._sessions() as session:
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            for d in digests:
                stale = row.window_start <= now - self.window
                failures = case((stale, 1), else_=row.failures + 1)
                statement = (
                    insert(row)
                    .values(
                        scope=d,
                        window_start=now,
                        failures=1,
                        blocked_until=now + self.lockout if self.burst <= 1 else 0.0,
                    )
                    .on_conflict_do_update(
                        index_elements=[row.scope],
                        set_={
                            "failures": failures,
                            "window_start": case((stale, now), else_=row.window_start),
                            "blocked_until": case(
                                (failures >= self.burst, now + self.lockout), else_=row.blocked_until
                            ),
                        },
                    )
                    .returning(row.blocked_until)
                )
                until = float((await session.execute(statement)).scalar_one())
                if until > now:
                    self._remember(d, until)
            self._since_prune += 1
            if self._since_prune >= self._prune_every:  # the table only holds what still counts
                self._since_prune = 0
                await session.execute(
                    delete(AuthFailure).where(
                        AuthFailure.window_start < now - self.window, AuthFailure.blocked_until < now
                    )
                )
            await session.commit()

    def _remember(self, digest: str, until: float) -> None:
        self._memo[digest] = until
        self._memo.move_to_end(digest)
        if len(self._memo) > self._memo_size:
            self._memo.popitem(last=False)


class ShedBlockedSignIns:
    """``POST /users/getToken`` from an address this process knows is blocked, or while every
    sign-in slot and the waiting room are taken: the 429 envelope straight away (after the
    tarpit), before logging, routing or reading the body. Sits inside
    the proxy-headers and path middlewares (so the address and path are the real ones)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/users/getToken":
            throttle: AuthThrottle = scope["app"].state.services.throttle
            client = scope.get("client")
            refusal = await throttle.known_address_refusal(client[0] if client else "unknown")
            if refusal is None and throttle.saturated():
                refusal = await throttle.busy_refusal()
            if refusal is not None:
                response = fail(429, refusal.code, refusal.message, {"Retry-After": str(refusal.retry_after)})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
