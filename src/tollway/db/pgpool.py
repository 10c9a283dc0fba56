"""The driver's PostgreSQL connections: a small pool of asyncpg connections, without asyncpg's
``Pool`` machinery — a proxy object per acquire, a shielded task and a reset exchange per release
(together about a tenth of a lookup's CPU, docs/benchmarks.md).

Releasing is synchronous, so a cancelled task cannot interrupt it. A connection goes back only
when it is known to be between exchanges: open, outside a transaction, and left without an error
or with one that does not interrupt an exchange (PostgreSQL's own answer, or the caller's error
between statements). Anything else (a cancelled task or a timeout mid-statement, a lost socket)
terminates it; a new one is opened in its place when needed. A released connection (or a free
slot) goes to the longest waiter, else to the idle stack, most recently used first. One idle for
``IDLE_SECONDS`` is closed instead of reused (as asyncpg's pool does by default): a firewall or NAT
may have dropped it silently.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

import asyncpg
from asyncpg import Connection

#: errors that may leave a connection mid-exchange: it is terminated, never reused
_INTERRUPTING = (TimeoutError, asyncpg.InterfaceError, OSError)
#: a connection idle longer than this is closed, not reused (asyncpg's pool's default)
IDLE_SECONDS = 300.0


def clean_after(exc: BaseException | None) -> bool:
    """Whether a connection used by a block that ended with ``exc`` may be reused."""
    return exc is None or (isinstance(exc, Exception) and not isinstance(exc, _INTERRUPTING))


class PgPool:
    def __init__(self, dsn: str, size: int, *, statement_cache_size: int) -> None:
        self._dsn = dsn
        self._size = size
        self._statement_cache_size = statement_cache_size
        #: (connection, when it was released), the most recently released last
        self._idle: list[tuple[Connection, float]] = []
        #: connections open or being opened (at most ``size``)
        self._opened = 0
        #: each gets a connection, or None: a free slot to open one in
        self._waiters: deque[asyncio.Future[Connection | None]] = deque()
        self._closed = False

    @property
    def opened(self) -> int:
        return self._opened

    async def acquire(self) -> Connection:
        if self._closed:
            raise asyncpg.InterfaceError("the pool is closed")
        while self._idle:
            conn, since = self._idle.pop()
            if not conn.is_closed():
                if time.monotonic() - since < IDLE_SECONDS:
                    return conn
                conn.terminate()  # idle too long; the older ones below it were idle longer
                for older, _ in self._idle:
                    older.terminate()
                self._opened -= len(self._idle)
                self._idle.clear()
            self._opened -= 1  # closed while idle (a restarted server, too long idle): its slot is free
        if self._opened < self._size:
            self._opened += 1
            return await self._connect()
        waiter: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            given = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed over just as this task was cancelled
                self._pass_on(waiter.result())
            raise
        return given if given is not None else await self._connect()

    async def _connect(self) -> Connection:
        """Opens a connection in a slot already counted; a failure frees the slot."""
        try:
            conn: Connection = await asyncpg.connect(self._dsn, statement_cache_size=self._statement_cache_size)
        except BaseException:
            self._pass_on(None)
            raise
        return conn

    def release(self, conn: Connection, *, clean: bool) -> None:
        """Takes a connection back (``clean``: see ``clean_after``)."""
        if not clean or self._closed or conn.is_closed() or conn.is_in_transaction():
            conn.terminate()
            self._pass_on(None)
            return
        self._pass_on(conn)

    def _pass_on(self, conn: Connection | None) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if conn is None:
            self._opened -= 1
        else:
            self._idle.append((conn, time.monotonic()))

    async def close(self) -> None:
        """Closes the idle connections; those in use are terminated when released."""
        self._closed = True
        idle, self._idle = self._idle, []
        self._opened -= len(idle)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(asyncpg.InterfaceError("the pool is closed"))
        self._waiters.clear()
        for conn, _ in idle:
            try:
                await conn.close(timeout=5)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                conn.terminate()
