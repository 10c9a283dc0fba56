"""Engines for the two supported databases, configured for this gateway's access pattern."""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

from tollway.files import private_file, sqlite_path
from tollway.observability.metrics import DB_POOL_IN_USE

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def async_url(url: str) -> str:
    """``sqlite:///f.db`` → ``sqlite+aiosqlite:///f.db``; ``postgresql://…`` → ``postgresql+asyncpg://…``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    base = scheme.split("+", 1)[0]
    if base not in _DRIVERS:
        raise ValueError(f"unsupported database {base!r}: use sqlite:///path or postgresql://…")
    return f"{_DRIVERS[base]}://{rest}"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, *, pool_size: int = 10, statement_cache: bool = True) -> AsyncEngine:
    """``pool_size`` is the most connections the engine opens (PostgreSQL). ``statement_cache=False``
    is for PgBouncer in transaction mode: no prepared statement outlives the one it serves, and
    each has a unique name, since the next statement may reach another server connection."""
    full = async_url(url)
    if is_sqlite(full):
        path = sqlite_path(url)
        if path is not None:
            private_file(path)  # 0600 before SQLite creates it (or its WAL) world-readable
        engine = create_async_engine(full, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        _count_checkouts(engine)
        return engine
    connect_args: dict[str, Any] = {}
    if not statement_cache:
        connect_args = {
            "statement_cache_size": 0,  # asyncpg's own cache
            "prepared_statement_cache_size": 0,  # SQLAlchemy's cache of asyncpg statements
            "prepared_statement_name_func": _unique_statement_name,
        }
    # At most pool_size connections, every one kept once opened: "overflow" connections, closed
    # whenever they are handed back to a pool that has pool_size idle, were opened again at once
    # under load (45 connects a second, each re-preparing every statement, a third of the again
    # path's CPU). A request that finds them all busy waits for one (docs/operating.md).
    engine = create_async_engine(
        full, pool_size=pool_size, max_overflow=0, pool_pre_ping=False, connect_args=connect_args
    )
    _count_checkouts(engine)
    return engine


def _unique_statement_name() -> str:
    return f"__tollway_{uuid.uuid4().hex}__"


def _count_checkouts(engine: AsyncEngine) -> None:
    """Keeps ``tollway_db_pool_connections_in_use`` up to date."""
    event.listen(engine.sync_engine.pool, "checkout", lambda *_: DB_POOL_IN_USE.inc())
    event.listen(engine.sync_engine.pool, "checkin", lambda *_: DB_POOL_IN_USE.dec())


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own transaction handling is off: it would start a transaction only before a
    # write, so a SAVEPOINT would open one and its RELEASE would commit it. _sqlite_begin starts
    # every transaction instead.
    dbapi_conn.isolation_level = None
    # WAL lets readers run beside the one writer; a busy writer makes others wait instead of failing.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Sessions(async_sessionmaker[AsyncSession]):
    """The gateway's sessions. ``single()`` is for work that is one statement, or reads that need
    no common snapshot: on PostgreSQL it runs in autocommit, which spares the BEGIN and the
    COMMIT/ROLLBACK round trips around it (two of three round trips of a lone INSERT). On SQLite,
    where a round trip is a function call, it is an ordinary session."""

    def __init__(self, engine: AsyncEngine, *, autocommit: bool = True) -> None:
        super().__init__(engine, expire_on_commit=False, autoflush=False)
        postgres = engine.dialect.name == "postgresql"
        # Behind PgBouncer in transaction mode (autocommit=False) every statement runs in a
        # transaction: SQLAlchemy prepares a statement and then executes it, two exchanges that
        # PgBouncer may send to different server connections unless a transaction pins them.
        use_autocommit = postgres and autocommit
        self._single = engine.execution_options(isolation_level="AUTOCOMMIT") if use_autocommit else engine

    def single(self) -> AsyncSession:
        return self(bind=self._single)

    def statements(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection for Core statements, on the same terms as ``single()`` but with no ORM
        session around it (no identity map, no unit of work): each statement on its own on
        PostgreSQL, one transaction committed at the end on SQLite. The hottest lookups and the
        sandbox's charge path use it."""
        return self._single.begin()

    def transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection for Core statements in one transaction: committed at the end, rolled back
        if the block raises."""
        engine: AsyncEngine = self.kw["bind"]
        return engine.begin()


#: What read-only queries take: an ORM session, or a ``Sessions.statements()`` connection for Core.
Reader = AsyncSession | AsyncConnection


def sessionmaker(engine: AsyncEngine, *, autocommit: bool = True) -> Sessions:
    """``autocommit=False`` for PgBouncer in transaction mode (see ``Sessions``)."""
    return Sessions(engine, autocommit=autocommit)


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front, so two transactions never both read and then find
    # they cannot write (SQLITE_BUSY_SNAPSHOT, which no busy timeout waits out): they queue instead.
    conn.exec_driver_sql("BEGIN IMMEDIATE")
