"""The sandbox's persistent state: merchants (key pairs), payments, idempotency records, billing keys.

Payments are kept as Toss Payment documents (JSON) with the columns lookups need; every update is
``WHERE version = :seen`` so two concurrent cancels can never both apply to the same balance.

What every charge does (the idempotency claim, the payment's read and write, the billing key's
read) runs as prepared statements on the driver's connection (``tollway.db.driver``), with no
ORM session or async engine around it: that machinery was most of the sandbox's CPU per charge
(docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.db.driver import Driver, IntegrityError, Statement
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


def _load(row: Any) -> StoredPayment:
    return StoredPayment(row.payment_key, row.version, orjson.loads(row.doc))


_IDEM = cast(Table, SandboxIdempotency.__table__)
_PAYMENTS = cast(Table, SandboxPayment.__table__)
_KEYS = cast(Table, SandboxBillingKey.__table__)
_CLAIM = Statement(insert(_IDEM).values(key_hash=bindparam("key"), state="processing", created_at=bindparam("at")))
_CLAIMED = Statement(
    select(_IDEM.c.state, _IDEM.c.status_code, _IDEM.c.body).where(_IDEM.c.key_hash == bindparam("key"))
)
#: The idempotency record's answer, stored: later requests with its key replay it.
_ANSWER = (
    update(_IDEM)
    .where(_IDEM.c.key_hash == bindparam("key"))
    .values(state="done", status_code=bindparam("status_code"), body=bindparam("body"))
)
_ANSWERED = Statement(_ANSWER)
_RELEASE = Statement(delete(_IDEM).where(_IDEM.c.key_hash == bindparam("key")))
_BY_KEY = Statement(
    select(_PAYMENTS).where(_PAYMENTS.c.payment_key == bindparam("payment_key"), _PAYMENTS.c.mid == bindparam("mid"))
)
_BY_PAYMENT_KEY = Statement(select(_PAYMENTS).where(_PAYMENTS.c.payment_key == bindparam("payment_key")))
_BY_ORDER = Statement(
    select(_PAYMENTS).where(_PAYMENTS.c.mid == bindparam("mid"), _PAYMENTS.c.order_id == bindparam("order_id"))
)
_NEW_PAYMENT = insert(_PAYMENTS).values(
    payment_key=bindparam("v_payment_key"),
    mid=bindparam("v_mid"),
    order_id=bindparam("v_order_id"),
    status=bindparam("v_status"),
    version=0,
    doc=bindparam("v_doc"),
    created_at=bindparam("v_at"),
    updated_at=bindparam("v_at"),
)
_ADD_PAYMENT = Statement(_NEW_PAYMENT)
#: PostgreSQL: the payment and its idempotent answer in one statement (a data-modifying CTE runs
#: once and with the INSERT, or not at all): one round trip where BEGIN, two statements and COMMIT
#: were four. SQLite has no UPDATE in a WITH, so it keeps the transaction.
_ADD_PAYMENT_ANSWERED = Statement(_NEW_PAYMENT.add_cte(_ANSWER.cte("answered")))
_REPLACE = Statement(
    update(_PAYMENTS)
    .where(_PAYMENTS.c.payment_key == bindparam("payment_key"), _PAYMENTS.c.version == bindparam("seen"))
    .values(
        doc=bindparam("v_doc"),
        status=bindparam("v_status"),
        version=bindparam("v_version"),
        updated_at=bindparam("v_at"),
    )
)
_DROP_ORDER = Statement(
    delete(_PAYMENTS).where(
        _PAYMENTS.c.mid == bindparam("mid"),
        _PAYMENTS.c.order_id == bindparam("order_id"),
        _PAYMENTS.c.status == bindparam("status"),
    )
)
_BILLING_KEY = Statement(
    select(_KEYS.c.customer_key, _KEYS.c.doc).where(
        _KEYS.c.billing_key_hash == bindparam("key"), _KEYS.c.mid == bindparam("mid"), _KEYS.c.deleted_at.is_(None)
    )
)


@dataclass(frozen=True)
class StoredBillingKey:
    customer_key: str
    doc: str


class Store:
    def __init__(self, sessions: Sessions, db: Driver) -> None:
        self.sessions = sessions
        self.db = db
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
            async with self.db.connection() as conn:
                await conn.execute(_CLAIM, key=key_hash, at=at)
            return None
        except IntegrityError:
            pass
        async with self.db.connection() as conn:
            row = await conn.first(_CLAIMED, key=key_hash)
        # released between the two statements: held by nobody now, so say "processing" (retry)
        return Claimed(row.state, row.status_code, row.body) if row is not None else Claimed("processing", None, None)

    async def finish(self, key_hash: str, status_code: int, body: str) -> None:
        async with self.db.connection() as conn:
            await conn.execute(_ANSWERED, key=key_hash, status_code=status_code, body=body)

    async def release(self, key_hash: str) -> None:
        async with self.db.connection() as conn:
            await conn.execute(_RELEASE, key=key_hash)

    async def forget_idempotency_before(self, cutoff: datetime) -> int:
        async with self.sessions() as session:
            result = await session.execute(delete(SandboxIdempotency).where(SandboxIdempotency.created_at < cutoff))
            await session.commit()
            return int(getattr(result, "rowcount", 0) or 0)

    # -- payments --------------------------------------------------------------------------------

    async def by_key(self, mid: str, payment_key: str) -> StoredPayment | None:
        async with self.db.connection() as conn:
            row = await conn.first(_BY_KEY, payment_key=payment_key, mid=mid)
        return _load(row) if row is not None else None

    async def by_order(self, mid: str, order_id: str) -> StoredPayment | None:
        async with self.db.connection() as conn:
            row = await conn.first(_BY_ORDER, mid=mid, order_id=order_id)
        return _load(row) if row is not None else None

    async def for_receipt(self, payment_key: str) -> StoredPayment | None:
        """A payment by its key alone: the receipt page's URL is the only thing it is given."""
        async with self.db.connection() as conn:
            row = await conn.first(_BY_PAYMENT_KEY, payment_key=payment_key)
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
        payment = {
            "v_payment_key": doc["paymentKey"],
            "v_mid": mid,
            "v_order_id": doc["orderId"],
            "v_status": doc["status"],
            "v_doc": orjson.dumps(doc).decode(),
            "v_at": at,
        }
        try:
            if finish is not None and not replace and not self.db.sqlite:
                key_hash, status_code, body = finish
                async with self.db.connection() as conn:
                    await conn.execute(
                        _ADD_PAYMENT_ANSWERED, key=key_hash, status_code=status_code, body=body, **payment
                    )
                return True
            async with self.db.transaction() as conn:
                if finish is not None:
                    key_hash, status_code, body = finish
                    await conn.execute(_ANSWERED, key=key_hash, status_code=status_code, body=body)
                for status in replace:
                    await conn.execute(_DROP_ORDER, mid=mid, order_id=doc["orderId"], status=status)
                await conn.execute(_ADD_PAYMENT, **payment)
        except IntegrityError:  # the (mid, orderId) is taken: nothing of this transaction stays
            return False
        return True

    async def replace(self, stored: StoredPayment, doc: dict[str, Any], at: datetime) -> bool:
        """Writes ``doc`` if nobody changed the payment since ``stored`` was read."""
        async with self.db.connection() as conn:
            changed = await conn.execute(
                _REPLACE,
                payment_key=stored.payment_key,
                seen=stored.version,
                v_doc=orjson.dumps(doc).decode(),
                v_status=doc["status"],
                v_version=stored.version + 1,
                v_at=at,
            )
            return bool(changed)

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
        async with self.db.connection() as conn:
            row = await conn.first(_BILLING_KEY, key=digest(billing_key), mid=mid)
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
