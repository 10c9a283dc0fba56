"""The hot paths' driver: Core statements compiled once per dialect, run on the raw driver, on both
databases alike (timestamps UTC-aware both ways, constraint errors named, transactions atomic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import Table, bindparam, insert, select

from tollway.db.driver import IntegrityError, Statement, split_pool
from tollway.db.models import SandboxIdempotency
from tollway.observability.metrics import DB_POOL_IN_USE
from tollway.services import Services

_T = cast(Table, SandboxIdempotency.__table__)
ADD = Statement(insert(_T).values(key_hash=bindparam("key"), state="processing", created_at=bindparam("at")))
READ = Statement(select(_T.c.key_hash, _T.c.created_at).where(_T.c.key_hash == bindparam("key")))
SOME = Statement(select(_T.c.key_hash).order_by(_T.c.key_hash).limit(2))


def test_the_pool_size_stays_the_total_split_between_engine_and_driver() -> None:
    assert split_pool(10) == (5, 5)
    assert split_pool(40) == (20, 20)
    assert split_pool(5) == (2, 3)
    assert split_pool(1) == (1, 1)


async def test_a_statement_round_trips_values_and_utc_timestamps(services: Services) -> None:
    at = datetime(2026, 11, 30, 9, 15, 1, 123000, tzinfo=UTC)
    async with services.db.connection() as conn:
        await conn.execute(ADD, key="k-1", at=at)
        row = await conn.first(READ, key="k-1")
        assert await conn.first(READ, key="nobody") is None
    assert row.key_hash == "k-1" and row[0] == "k-1"
    assert row.created_at == at and row.created_at.tzinfo is not None
    # the engine reads what the driver wrote, the same value
    async with services.sessions() as session:
        stored = await session.scalar(select(SandboxIdempotency.created_at).where(SandboxIdempotency.key_hash == "k-1"))
    assert stored == at


async def test_literal_parameters_of_a_statement_are_kept_and_missing_ones_refused(services: Services) -> None:
    now = datetime.now(UTC)
    async with services.db.connection() as conn:
        for key in ("a", "b", "c"):
            await conn.execute(ADD, key=key, at=now)
        assert [r.key_hash for r in await conn.all(SOME)] == ["a", "b"]  # its LIMIT 2
        with pytest.raises(KeyError):
            await conn.first(READ)


async def test_a_constraint_error_is_named_and_a_transaction_is_all_or_nothing(services: Services) -> None:
    now = datetime.now(UTC)
    async with services.db.connection() as conn:
        await conn.execute(ADD, key="taken", at=now)
    with pytest.raises(IntegrityError):
        async with services.db.transaction() as conn:
            await conn.execute(ADD, key="first-of-two", at=now + timedelta(seconds=1))
            await conn.execute(ADD, key="taken", at=now)
    async with services.db.connection() as conn:
        assert await conn.first(READ, key="first-of-two") is None  # rolled back with the failure
        assert await conn.scalar(READ, key="taken") == "taken"


def _in_use() -> float:
    return float(next(iter(DB_POOL_IN_USE.collect())).samples[0].value)


async def test_connections_count_in_the_pool_gauge_while_held(services: Services) -> None:
    before = _in_use()
    async with services.db.connection():
        assert _in_use() == before + 1
    assert _in_use() == before


def test_loaded_is_an_unattached_object_whose_changes_are_tracked() -> None:
    from sqlalchemy import inspect

    from tollway.db.driver import loaded
    from tollway.db.models import Payment

    payment = loaded(Payment, {"id": 7, "status": "ready", "amount": 1000, "name": None})
    assert (payment.id, payment.status, payment.amount, payment.name) == (7, "ready", 1000, None)
    assert inspect(payment).transient  # in no session, as Payment(**row) was
    payment.status = "paid"
    history = inspect(payment).attrs.status.history
    assert (list(history.added), list(history.deleted)) == (["paid"], ["ready"])
