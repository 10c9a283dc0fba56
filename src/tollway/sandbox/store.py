"""The sandbox's persistent state: merchants (key pairs), payments, idempotency records, billing keys.

Payments are kept as Toss Payment documents (JSON) with the columns lookups need; every update is
``WHERE version = :seen`` so two concurrent cancels can never both apply to the same balance.

What every charge does (the idempotency claim, the payment's read and write, the billing key's
read) runs as Core statements on a connection, with no ORM session around it: the ORM's unit of
work and identity map were half of the sandbox's CPU per charge (docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Row, Update, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.db.engine import Sessions
from tollway.db.models import (
    SandboxBillingAuth,
    SandboxBillingKey,
    SandboxIdempotency,
    SandboxMerchant,
    SandboxPayment,
)

#: The public test keys of Toss's docs (reference §1.1), always accepted, as MID ``tosspayments``.
DOCS_SECRET_KEY = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"  # noqa: S105 - published test key
DOCS_CLIENT_KEY = "test_ck_D5GePWvyJnrK0W0k6q8gLzN97Eoq"
DOCS_MID = "tosspayments"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class SandboxKeyConflict(Exception):
    pass


async def register_merchant(session: AsyncSession, mid: str, client_key: str, secret_key: str, at: datetime) -> None:
    """Lets ``secret_key`` authenticate as ``mid`` at the sandbox. Idempotent; callers commit."""
    key_hash = digest(secret_key)
    existing = await session.get(SandboxMerchant, key_hash)
    if existing is not None:
        if existing.mid != mid:
            raise SandboxKeyConflict(f"this sandbox secret key already belongs to MID {existing.mid}")
        return
    async with session.begin_nested():
        session.add(SandboxMerchant(secret_key_hash=key_hash, mid=mid, client_key=client_key, created_at=at))


async def mid_for_secret(session: AsyncSession, secret_key: str) -> str | None:
    if secret_key == DOCS_SECRET_KEY:
        return DOCS_MID
    row = await session.get(SandboxMerchant, digest(secret_key))
    return row.mid if row else None


@dataclass
class StoredPayment:
    payment_key: str
    version: int
    doc: dict[str, Any]


@dataclass(frozen=True)
class Claimed:
    """An Idempotency-Key somebody already holds: still ``processing``, or ``done`` with its answer."""

    state: str
    status_code: int | None
    body: str | None


def _load(row: Row[Any]) -> StoredPayment:
    return StoredPayment(row.payment_key, row.version, orjson.loads(row.doc))


def _answered(key_hash: str, status_code: int, body: str) -> Update:
    """The idempotency record's answer, stored: later requests with its key replay it."""
    return (
        update(SandboxIdempotency)
        .where(SandboxIdempotency.key_hash == key_hash)
        .values(state="done", status_code=status_code, body=body)
    )


@dataclass(frozen=True)
class StoredBillingKey:
    customer_key: str
    doc: str


class Store:
    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions
        self._mids: dict[str, str] = {}  # secret digest → MID; a key's MID never changes
        self._client_mids: dict[str, str] = {}  # client key → MID, likewise

    # -- merchants -------------------------------------------------------------------------------

    async def mid_for_secret(self, secret_key: str) -> str | None:
        key_hash = digest(secret_key)
        mid = self._mids.get(key_hash)
        if mid is None:
            async with self.sessions.single() as session:
                mid = await mid_for_secret(session, secret_key)
            if mid is not None:
                self._mids[key_hash] = mid
        return mid

    async def mid_for_client_key(self, client_key: str) -> str | None:
        """The MID a browser-side client key belongs to (the docs' test client key included)."""
        if client_key == DOCS_CLIENT_KEY:
            return DOCS_MID
        if not client_key:
            return None
        mid = self._client_mids.get(client_key)
        if mid is None:
            async with self.sessions.single() as session:
                mid = await session.scalar(
                    select(SandboxMerchant.mid).where(SandboxMerchant.client_key == client_key).limit(1)
                )
            if mid is not None:
                self._client_mids[client_key] = mid
        return mid

    # -- idempotency -----------------------------------------------------------------------------

    async def claim(self, key_hash: str, at: datetime) -> Claimed | None:
        """None when this request now owns the key; else the existing record (processing or done)."""
        try:
            async with self.sessions.statements() as conn:
                await conn.execute(
                    insert(SandboxIdempotency).values(key_hash=key_hash, state="processing", created_at=at)
                )
            return None
        except IntegrityError:
            pass
        async with self.sessions.statements() as conn:
            row = (
                await conn.execute(
                    select(SandboxIdempotency.state, SandboxIdempotency.status_code, SandboxIdempotency.body).where(
                        SandboxIdempotency.key_hash == key_hash
                    )
                )
            ).one_or_none()
        # released between the two statements: held by nobody now, so say "processing" (retry)
        return Claimed(row.state, row.status_code, row.body) if row is not None else Claimed("processing", None, None)

    async def finish(self, key_hash: str, status_code: int, body: str) -> None:
        async with self.sessions.statements() as conn:
            await conn.execute(_answered(key_hash, status_code, body))

    async def release(self, key_hash: str) -> None:
        async with self.sessions.statements() as conn:
            await conn.execute(delete(SandboxIdempotency).where(SandboxIdempotency.key_hash == key_hash))

    async def forget_idempotency_before(self, cutoff: datetime) -> int:
        async with self.sessions() as session:
            result = await session.execute(delete(SandboxIdempotency).where(SandboxIdempotency.created_at < cutoff))
            await session.commit()
            return int(getattr(result, "rowcount", 0) or 0)

    # -- payments --------------------------------------------------------------------------------

    async def by_key(self, mid: str, payment_key: str) -> StoredPayment | None:
        return await self._payment(SandboxPayment.payment_key == payment_key, SandboxPayment.mid == mid)

    async def by_order(self, mid: str, order_id: str) -> StoredPayment | None:
        return await self._payment(SandboxPayment.mid == mid, SandboxPayment.order_id == order_id)

    async def for_receipt(self, payment_key: str) -> StoredPayment | None:
        """A payment by its key alone: the receipt page's URL is the only thing it is given."""
        return await self._payment(SandboxPayment.payment_key == payment_key)

    async def _payment(self, *where: ColumnElement[bool]) -> StoredPayment | None:
        async with self.sessions.statements() as conn:
            row = (await conn.execute(select(SandboxPayment.__table__).where(*where))).one_or_none()
        return _load(row) if row is not None else None

    async def insert(
        self,
        mid: str,
        doc: dict[str, Any],
        at: datetime,
        *,
        replace: tuple[str, ...] = (),
        finish: tuple[str, int, str] | None = None,
    ) -> bool:
        """Adds a payment (and, with ``finish``, stores the idempotent answer in the same
        transaction); False when the (mid, orderId) is taken. A payment of the same order in one
        of the ``replace`` statuses is replaced."""
        try:
            async with self.sessions.transaction() as conn:
                if finish is not None:
                    await conn.execute(_answered(*finish))
                if replace:
                    await conn.execute(
                        delete(SandboxPayment).where(
                            SandboxPayment.mid == mid,
                            SandboxPayment.order_id == doc["orderId"],
                            SandboxPayment.status.in_(replace),
                        )
                    )
                await conn.execute(
                    insert(SandboxPayment).values(
                        payment_key=doc["paymentKey"],
                        mid=mid,
                        order_id=doc["orderId"],
                        status=doc["status"],
                        version=0,
                        doc=orjson.dumps(doc).decode(),
                        created_at=at,
                        updated_at=at,
                    )
                )
        except IntegrityError:  # the (mid, orderId) is taken: nothing of this transaction stays
            return False
        return True

    async def replace(self, stored: StoredPayment, doc: dict[str, Any], at: datetime) -> bool:
        """Writes ``doc`` if nobody changed the payment since ``stored`` was read."""
        async with self.sessions.statements() as conn:
            result = await conn.execute(
                update(SandboxPayment)
                .where(SandboxPayment.payment_key == stored.payment_key, SandboxPayment.version == stored.version)
                .values(doc=orjson.dumps(doc).decode(), status=doc["status"], version=stored.version + 1, updated_at=at)
            )
            return bool(result.rowcount)

    async def ledger(self, mid: str) -> list[dict[str, Any]]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(SandboxPayment).where(SandboxPayment.mid == mid).order_by(SandboxPayment.created_at)
            )
            return [orjson.loads(row.doc) for row in rows]

    # -- billing ---------------------------------------------------------------------------------

    async def add_billing_key(
        self, mid: str, billing_key: str, customer_key: str, doc: dict[str, Any], at: datetime
    ) -> None:
        async with self.sessions() as session:
            session.add(
                SandboxBillingKey(
                    billing_key_hash=digest(billing_key),
                    mid=mid,
                    customer_key=customer_key,
                    doc=orjson.dumps(doc).decode(),
                    created_at=at,
                )
            )
            await session.commit()

    async def billing_key(self, mid: str, billing_key: str) -> StoredBillingKey | None:
        """The live key's customer and card document, or None."""
        async with self.sessions.statements() as conn:
            row = (
                await conn.execute(
                    select(SandboxBillingKey.customer_key, SandboxBillingKey.doc).where(
                        SandboxBillingKey.billing_key_hash == digest(billing_key),
                        SandboxBillingKey.mid == mid,
                        SandboxBillingKey.deleted_at.is_(None),
                    )
                )
            ).one_or_none()
        return StoredBillingKey(row.customer_key, row.doc) if row is not None else None

    async def delete_billing_key(self, mid: str, billing_key: str, at: datetime) -> bool:
        async with self.sessions.single() as session:
            result = await session.execute(
                update(SandboxBillingKey)
                .where(
                    SandboxBillingKey.billing_key_hash == digest(billing_key),
                    SandboxBillingKey.mid == mid,
                    SandboxBillingKey.deleted_at.is_(None),
                )
                .values(deleted_at=at)
            )
            await session.commit()
            return bool(getattr(result, "rowcount", 0))

    async def add_billing_auth(
        self, mid: str, auth_key: str, customer_key: str, doc: dict[str, Any], at: datetime
    ) -> None:
        async with self.sessions() as session:
            session.add(
                SandboxBillingAuth(
                    auth_key=auth_key, mid=mid, customer_key=customer_key, doc=orjson.dumps(doc).decode(), created_at=at
                )
            )
            await session.commit()

    async def use_billing_auth(self, mid: str, auth_key: str, customer_key: str, at: datetime) -> dict[str, Any] | None:
        """The card behind a one-time ``authKey``, consumed; None when unknown, used or not this customer's."""
        async with self.sessions() as session:
            result = await session.execute(
                update(SandboxBillingAuth)
                .where(
                    SandboxBillingAuth.auth_key == auth_key,
                    SandboxBillingAuth.mid == mid,
                    SandboxBillingAuth.customer_key == customer_key,
                    SandboxBillingAuth.used_at.is_(None),
                )
                .values(used_at=at)
            )
            if not getattr(result, "rowcount", 0):
                await session.rollback()
                return None
            row = await session.get(SandboxBillingAuth, auth_key)
            await session.commit()
            return orjson.loads(row.doc) if row is not None else None
