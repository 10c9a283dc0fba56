"""The hot paths' data layer: SQLAlchemy Core statements, compiled once per dialect, run on the
driver's own connection (asyncpg on PostgreSQL, ``sqlite3`` on SQLite) and returning plain rows.

The tables and the statements stay SQLAlchemy's (one source of truth for the schema); what the hot
paths stop paying is the async session's and the ORM's per-statement machinery (issue 16,
docs/benchmarks.md). A statement is written once with named ``bindparam``s::

    BY_KEY = Statement(select(t.c.amount).where(t.c.merchant_uid == bindparam("uid")))
    async with services.db.connection() as conn:
        row = await conn.first(BY_KEY, uid="abc")

Its SQL text, parameter order and type processing (``UTCDateTime`` and the like) are worked out
on first use per dialect and reused; asyncpg prepares it once per connection (not at all behind
PgBouncer: ``statement_cache=False``). Rows are named tuples: ``row.amount``, ``row[0]``.

Connections come from the driver's own pool; ``TOLLWAY_DB_POOL_SIZE`` is split between it and the
engine's (``split_pool``), and both count ``tollway_db_pool_connections_in_use``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import inspect as orm_inspect
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import configure_mappers
from sqlalchemy.sql import ClauseElement

from tollway.db.pgpool import PgPool, clean_after
from tollway.observability.metrics import DB_POOL_IN_USE

Processor = Callable[[Any], Any] | None
_REQUIRED = object()


def split_pool(total: int) -> tuple[int, int]:
    """(the engine's connections, the driver's) out of ``TOLLWAY_DB_POOL_SIZE``: at least one each."""
    engine = max(1, total // 2)
    return engine, max(1, total - engine)


class IntegrityError(Exception):
    """A constraint refused a write; the message names the constraint (or its columns)."""


@dataclass(frozen=True)
class Compiled:
    sql: str
    names: tuple[str, ...]
    defaults: tuple[Any, ...]  # the values written into the statement (a LIMIT's), used when not given
    binds: tuple[Processor, ...]
    row: Callable[..., Any] | None  # the named tuple of the result columns, if it returns rows
    results: tuple[Processor, ...]

    def args(self, params: dict[str, Any]) -> list[Any]:
        values = (
            params[n] if d is _REQUIRED else params.get(n, d) for n, d in zip(self.names, self.defaults, strict=True)
        )
        return [value if proc is None else proc(value) for value, proc in zip(values, self.binds, strict=True)]

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Any]:
        make, procs = self.row, self.results
        assert make is not None, self.sql
        if not any(procs):
            return [make(*r) for r in raw]
        return [make(*(v if p is None else p(v) for v, p in zip(r, procs, strict=True))) for r in raw]


T = TypeVar("T")


def loaded(model: type[T], values: dict[str, Any]) -> T:
    """An unattached ORM object holding a row's ``values``, made as SQLAlchemy makes the objects it
    loads: no ``__init__``, no init events, each attribute set in place. ``Model(**row)`` cost 8% of
    an again payment's CPU (docs/benchmarks.md). The state machine's own changes to it are
    tracked as usual; it is never added to a session."""
    configure_mappers()  # what a first ``Model()`` would do; at once when nothing is new
    instance: T = orm_inspect(model).class_manager.new_instance()
    instance.__dict__.update(values)
    return instance


class Statement:
    """One Core statement, compiled on first use for each dialect."""

    __slots__ = ("_by_dialect", "statement")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._by_dialect: dict[str, Compiled] = {}

    def compiled(self, dialect: Dialect) -> Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = _compile(self.statement, dialect)
        return found


def _compile(statement: ClauseElement, dialect: Dialect) -> Compiled:
    compiled: Any = statement.compile(dialect=dialect)  # a SQLCompiler
    names = tuple(compiled.positiontup or ())
    binds = tuple(compiled.binds[n].type._cached_bind_processor(dialect) for n in names)
    defaults = tuple(_REQUIRED if compiled.binds[n].required else compiled.binds[n].effective_value for n in names)
    columns = compiled._result_columns  # (keyname, name, objects, type) of each result column
    row: Callable[..., Any] | None = None
    results: tuple[Processor, ...] = ()
    if columns:
        row = namedtuple("Row", [c[0] for c in columns], rename=True)  # type: ignore[misc,no-redef]
        results = tuple(c[3]._cached_result_processor(dialect, None) for c in columns)
    return Compiled(compiled.string, names, defaults, binds, row, results)


class Conn:
    """One driver connection, in autocommit or inside ``Driver.transaction()``."""

    dialect: Dialect

    async def all(self, statement: Statement, **params: Any) -> list[Any]:
        raise NotImplementedError

    async def execute(self, statement: Statement, **params: Any) -> int:
        """Runs a statement that returns no rows; returns how many rows it changed."""
        raise NotImplementedError

    async def first(self, statement: Statement, **params: Any) -> Any:
        rows = await self.all(statement, **params)
        return rows[0] if rows else None

    async def scalar(self, statement: Statement, **params: Any) -> Any:
        row = await self.first(statement, **params)
        return None if row is None else row[0]


class _PgConn(Conn):
    dialect = PGDialect_asyncpg()  # type: ignore[no-untyped-call]

    def __init__(self, raw: asyncpg.Connection) -> None:
        self.raw = raw

    async def all(self, statement: Statement, **params: Any) -> list[Any]:
        c = statement.compiled(self.dialect)
        try:
            return c.rows(await self.raw.fetch(c.sql, *c.args(params)))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(f"{exc} ({exc.constraint_name}; {exc.detail})") from exc

    async def execute(self, statement: Statement, **params: Any) -> int:
        c = statement.compiled(self.dialect)
        try:
            status = await self.raw.execute(c.sql, *c.args(params))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(f"{exc} ({exc.constraint_name}; {exc.detail})") from exc
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0


class _LiteConn(Conn):
    """A ``sqlite3`` connection used from one thread of its own: one thread hop per statement."""

    dialect = SQLiteDialect_aiosqlite()

    def __init__(self, path: str) -> None:
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tollway-sqlite")
        self.raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            self.raw.execute(f"PRAGMA {pragma}")

    async def _run(self, sql: str, args: list[Any]) -> tuple[list[Any], int]:
        def run() -> tuple[list[Any], int]:
            try:
                cursor = self.raw.execute(sql, args)
            except sqlite3.IntegrityError as exc:
                raise IntegrityError(str(exc)) from exc
            try:
                return cursor.fetchall(), cursor.rowcount
            finally:
                cursor.close()

        return await asyncio.get_running_loop().run_in_executor(self.thread, run)

    async def all(self, statement: Statement, **params: Any) -> list[Any]:
        c = statement.compiled(self.dialect)
        rows, _ = await self._run(c.sql, c.args(params))
        return c.rows(rows)

    async def execute(self, statement: Statement, **params: Any) -> int:
        c = statement.compiled(self.dialect)
        _, count = await self._run(c.sql, c.args(params))
        return count

    async def begin(self) -> None:
        # as the engine's: the write lock up front, so two transactions queue instead of failing
        await self._run("BEGIN IMMEDIATE", [])

    async def end(self, commit: bool) -> None:
        await self._run("COMMIT" if commit else "ROLLBACK", [])

    def close(self) -> None:
        self.thread.submit(self.raw.close).result()
        self.thread.shutdown()


class Driver:
    """The driver's pool for one database URL, opened on first use."""

    def __init__(self, url: str, *, size: int, statement_cache: bool = True) -> None:
        self.url = url
        self.size = size
        self.statement_cache = statement_cache
        self.sqlite = url.startswith("sqlite")
        self._pg: PgPool | None = None
        self._lite: asyncio.LifoQueue[_LiteConn] | None = None
        self._lite_all: list[_LiteConn] = []
        self._opening = asyncio.Lock()

    async def _open(self) -> None:
        async with self._opening:
            if self._pg is not None or self._lite is not None:
                return
            if self.sqlite:
                path = self.url.split("///", 1)[1]
                queue: asyncio.LifoQueue[_LiteConn] = asyncio.LifoQueue()
                for _ in range(self.size):
                    conn = _LiteConn(path)
                    self._lite_all.append(conn)
                    queue.put_nowait(conn)
                self._lite = queue
                return
            dsn = "postgresql://" + self.url.split("://", 1)[1]
            # Behind PgBouncer in transaction mode no prepared statement may outlive its use. No
            # reset exchange on release: this driver leaves no session state behind (no LISTEN,
            # no session SET, no cursor or session-level lock outlives a statement).
            cache = 1024 if self.statement_cache else 0
            self._pg = PgPool(dsn, self.size, statement_cache_size=cache)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        """A connection in autocommit: each statement on its own (behind PgBouncer, whose server
        connection may change between a statement's exchanges, in a transaction of its own)."""
        if not self.statement_cache and not self.sqlite:
            async with self.transaction() as conn:
                yield conn
            return
        async with self._acquire() as conn:
            yield conn

    @asynccontextmanager
    async def _acquire(self) -> AsyncIterator[Conn]:
        if self._pg is None and self._lite is None:
            await self._open()
        DB_POOL_IN_USE.inc()
        try:
            if self._pg is not None:
                raw = await self._pg.acquire()
                try:
                    yield _PgConn(raw)
                except BaseException as exc:
                    self._pg.release(raw, clean=clean_after(exc))
                    raise
                self._pg.release(raw, clean=True)
            else:
                assert self._lite is not None
                lite = await self._lite.get()
                try:
                    yield lite
                finally:
                    self._lite.put_nowait(lite)
        finally:
            DB_POOL_IN_USE.dec()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """A connection in one transaction: committed at the end, rolled back if the block raises."""
        async with self._acquire() as conn:
            if isinstance(conn, _PgConn):
                async with conn.raw.transaction():
                    yield conn
                return
            assert isinstance(conn, _LiteConn)
            await conn.begin()
            try:
                yield conn
            except BaseException:
                await conn.end(commit=False)
                raise
            await conn.end(commit=True)

    async def close(self) -> None:
        if self._pg is not None:
            await self._pg.close()
            self._pg = None
        for lite in self._lite_all:
            lite.close()
        self._lite_all, self._lite = [], None
