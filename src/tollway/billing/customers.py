"""Billing customers: a ``customer_uid`` mapped 1:1 to a billing key held only by the gateway.

The billing key is sealed by the vault the moment the connector returns it and opened only to be
handed to the connector for a charge or a deletion. No response, log line or error carries it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import structlog
from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from typing_extensions import TypedDict

from tollway import v1texts
from tollway.billing.schedule_status import REVOKED, SCHEDULED
from tollway.clock import to_unix
from tollway.db.driver import Statement, loaded
from tollway.db.models import BillingCustomer, Payment, PaymentSchedule, PgChannel
from tollway.errors import BusinessError, NotFound
from tollway.merchants.channels import resolve_channel
from tollway.merchants.service import list_channels
from tollway.payments.approve import ApprovalRefused, ChargeOptions, OnOpen, approve, open_for_approval
from tollway.payments.ledger import PaymentRequest
from tollway.payments.pgsync import card_fields, card_refusal
from tollway.payments.queries import Page, to_v1_list
from tollway.payments.v1 import PagedPaymentsV1, paged
from tollway.pg.base import Buyer, CardData, ChargeRequest, PgBillingKey, PgConnector, PgError, PgNotFound, PgPayment
from tollway.services import Services
from tollway.vault import Secret

log = structlog.get_logger("tollway.billing")

BILLING_KEY_PURPOSE = "billing.key"
NOT_REGISTERED = "요청하신 customer_uid({customer_uid})로 등록된 정보를 찾을 수 없습니다."
#: ``again`` (and ``onetime``'s charge) for a customer_uid that has no card: i'mport's text, ``code 1``
UNKNOWN_BUYER = "등록되지 않은 구매자입니다."
ISSUE_FAILED = "카드정보 인증 및 빌키 발급에 실패하였습니다."
CHARGE_REFUSED = "결제 승인에 실패하였습니다. {reason}"
PENDING_SCHEDULES = (
    "예약된 결제가 남아 있어 삭제할 수 없습니다. (customer_uid {customer_uid} has {count} pending schedule(s): "
    "unschedule them first, or delete with force=true to revoke them)"
)


class CustomerV1(TypedDict):
    """V1's ``Customer`` (reference §5.1). Never the billing key."""

    customer_uid: str
    pg_provider: str
    pg_id: str
    sandbox: bool
    customer_id: str | None
    card_name: str | None
    card_code: str | None
    card_issuer_code: str | None
    card_issuer_name: str | None
    card_publisher_code: str | None
    card_publisher_name: str | None
    card_number: str | None
    card_type: int | None
    customer_name: str | None
    customer_tel: str | None
    customer_email: str | None
    customer_addr: str | None
    customer_postcode: str | None
    inserted: int
    updated: int


def customer_to_v1(c: BillingCustomer) -> CustomerV1:
    return {
        "customer_uid": c.customer_uid,
        "pg_provider": c.pg_provider,
        "pg_id": c.pg_id,
        "sandbox": c.sandbox,
        "customer_id": c.customer_id,
        "card_name": c.card_name,
        "card_code": c.card_code,
        "card_issuer_code": c.card_issuer_code,
        "card_issuer_name": c.card_issuer_name,
        "card_publisher_code": c.card_publisher_code,
        "card_publisher_name": c.card_publisher_name,
        "card_number": c.card_number,
        "card_type": c.card_type,
        "customer_name": c.customer_name,
        "customer_tel": c.customer_tel,
        "customer_email": c.customer_email,
        "customer_addr": c.customer_addr,
        "customer_postcode": c.customer_postcode,
        "inserted": to_unix(c.inserted),
        "updated": to_unix(c.updated),
    }


@dataclass(frozen=True)
class CustomerFields:
    name: str | None = None
    tel: str | None = None
    email: str | None = None
    addr: str | None = None
    postcode: str | None = None


@dataclass(frozen=True, repr=False)
class Registration:
    customer_uid: str
    card: CardData
    customer_id: str | None = None
    pg: str | None = None
    fields: CustomerFields = field(default_factory=CustomerFields)

    def __repr__(self) -> str:
        return f"Registration(customer_uid={self.customer_uid!r}, card=***)"


async def find_customer(services: Services, merchant_id: int, customer_uid: str) -> BillingCustomer | None:
    async with services.sessions() as session:
        return await session.scalar(
            select(BillingCustomer).where(
                BillingCustomer.merchant_id == merchant_id, BillingCustomer.customer_uid == customer_uid
            )
        )


async def get_customer(services: Services, merchant_id: int, customer_uid: str) -> BillingCustomer:
    """``GET``/``DELETE /subscribe/customers/{customer_uid}``: unknown is i'mport's HTTP 200, ``code 1``."""
    customer = await find_customer(services, merchant_id, customer_uid)
    if customer is None:
        raise BusinessError(NOT_REGISTERED.format(customer_uid=customer_uid))
    return customer


async def register(services: Services, merchant_id: int, registration: Registration) -> BillingCustomer:
    """Issues a billing key from card data and stores it under ``customer_uid``. Registering the
    same customer_uid again replaces the card; the old key is then deleted at the PG."""
    async with services.sessions() as session:
        channel = resolve_channel(await list_channels(session, merchant_id), registration.pg)
    existing = await find_customer(services, merchant_id, registration.customer_uid)
    customer_key = registration.customer_id or (existing.customer_id if existing else None) or str(uuid.uuid4())
    fields = registration.fields
    connector = await services.pg.for_channel(channel)
    try:
        issued = await connector.issue_billing_key(
            registration.card,
            customer_key,
            Buyer(fields.name, fields.email, fields.tel),
            idempotency_key=f"tollway-customer-{merchant_id}-{uuid.uuid4().hex}",
        )
    except PgError as exc:
        raise BusinessError(card_refusal(ISSUE_FAILED, exc, always=True), code=-1) from None
    return await store(services, merchant_id, registration.customer_uid, channel, issued, fields)


async def store(
    services: Services,
    merchant_id: int,
    customer_uid: str,
    channel: PgChannel,
    issued: PgBillingKey,
    fields: CustomerFields,
) -> BillingCustomer:
    """Seals and stores an issued billing key (new customer, or replacing the card of one)."""
    now = services.clock.now()
    sealed = services.keyring.seal(issued.billing_key, BILLING_KEY_PURPOSE)
    card = card_fields(issued.card) if issued.card is not None else {}
    replaced: str | None = None
    async with services.sessions() as session:
        customer = await session.scalar(
            select(BillingCustomer)
            .where(BillingCustomer.merchant_id == merchant_id, BillingCustomer.customer_uid == customer_uid)
            .with_for_update()
        )
        if customer is None:
            customer = BillingCustomer(merchant_id=merchant_id, customer_uid=customer_uid, inserted=now)
            session.add(customer)
        else:
            replaced = customer.billing_key_sealed
        old_channel_id = customer.channel_id
        customer.channel_id = channel.id
        customer.pg_provider = channel.pg_provider
        customer.pg_id = channel.mid
        customer.sandbox = channel.sandbox
        customer.customer_id = issued.customer_key
        customer.billing_key_sealed = sealed
        customer.card_name = card.get("card_name")
        customer.card_code = card.get("card_code")
        customer.card_issuer_code = card.get("card_issuer_code")
        customer.card_issuer_name = card.get("card_issuer_name")
        customer.card_publisher_code = card.get("card_publisher_code")
        customer.card_publisher_name = card.get("card_publisher_name")
        customer.card_number = card.get("card_number")
        customer.card_type = card.get("card_type")
        customer.customer_name = fields.name or customer.customer_name
        customer.customer_tel = fields.tel or customer.customer_tel
        customer.customer_email = fields.email or customer.customer_email
        customer.customer_addr = fields.addr or customer.customer_addr
        customer.customer_postcode = fields.postcode or customer.customer_postcode
        customer.updated = now
        try:
            await session.commit()
        except IntegrityError:  # registered concurrently: the other registration won
            await session.rollback()
            raise BusinessError(f"customer_uid {customer_uid} was registered concurrently; try again") from None
        if replaced is not None and old_channel_id is not None:
            old_channel = await session.get(PgChannel, old_channel_id)
        else:
            old_channel = None
    if replaced is not None and old_channel is not None:
        await _delete_at_pg(services, old_channel, replaced, customer_uid)
    return customer


async def _delete_at_pg(services: Services, channel: PgChannel, sealed: str, customer_uid: str) -> None:
    """Best effort for a replaced card's old key (V1 leaves it at the PG; Tollway tries to clean up)."""
    try:
        connector = await services.pg.for_channel(channel)
        await connector.delete_billing_key(await services.keyring.open(sealed, BILLING_KEY_PURPOSE))
    except PgError as exc:
        log.warning("old billing key not deleted at the PG", customer_uid=customer_uid, code=exc.code)


async def delete(services: Services, merchant_id: int, customer_uid: str, *, force: bool = False) -> BillingCustomer:
    """Deletes the key at the PG, then the customer. Refused while schedules are pending unless ``force``
    (which revokes them)."""
    customer = await get_customer(services, merchant_id, customer_uid)
    async with services.sessions() as session:
        pending = await session.scalar(
            select(func.count())
            .select_from(PaymentSchedule)
            .where(
                PaymentSchedule.merchant_id == merchant_id,
                PaymentSchedule.customer_uid == customer_uid,
                PaymentSchedule.schedule_status.in_(("scheduled", "executing")),
            )
        )
        channel = await session.get(PgChannel, customer.channel_id)
    if pending and not force:
        raise BusinessError(PENDING_SCHEDULES.format(customer_uid=customer_uid, count=pending))
    if channel is not None:
        try:
            await (await services.pg.for_channel(channel)).delete_billing_key(
                await services.keyring.open(customer.billing_key_sealed, BILLING_KEY_PURPOSE)
            )
        except PgNotFound:
            pass  # already gone at the PG
        except PgError as exc:
            raise BusinessError(
                f"빌링키 삭제에 실패하였습니다. [{exc.code}] {exc.message} (nothing was deleted; try again)", code=-1
            ) from None
    async with services.sessions() as session:
        if pending:
            await _revoke_pending(session, merchant_id, customer_uid, services.clock.now())
        row = await session.get(BillingCustomer, customer.id)
        if row is not None:
            await session.delete(row)
        await session.commit()
    return customer


async def many(services: Services, merchant_id: int, customer_uids: Sequence[str]) -> tuple[list[CustomerV1], bool]:
    """(found customers in the asked order, whether some were missing)."""
    wanted = list(dict.fromkeys(customer_uids))
    async with services.sessions() as session:
        rows = await session.scalars(
            select(BillingCustomer).where(
                BillingCustomer.merchant_id == merchant_id, BillingCustomer.customer_uid.in_(wanted)
            )
        )
        by_uid = {c.customer_uid: c for c in rows}
    found = [customer_to_v1(by_uid[u]) for u in wanted if u in by_uid]
    return found, len(found) < len(wanted)


async def page_of(
    services: Services, merchant_id: int, *, before_id: int | None, limit: int = 50
) -> list[BillingCustomer]:
    """The merchant's billing customers, newest first; ``before_id`` pages back (the console)."""
    query = select(BillingCustomer).where(BillingCustomer.merchant_id == merchant_id)
    if before_id is not None:
        query = query.where(BillingCustomer.id < before_id)
    async with services.sessions() as session:
        return list(await session.scalars(query.order_by(BillingCustomer.id.desc()).limit(limit)))


async def payments_of(services: Services, merchant_id: int, customer_uid: str, page: Page) -> PagedPaymentsV1:
    async with services.sessions() as session:
        scope = (Payment.merchant_id == merchant_id, Payment.customer_uid == customer_uid)
        total = int(await session.scalar(select(func.count()).select_from(Payment).where(*scope)) or 0)
        if total == 0:
            # the same session: a second one would wait on this one's lock on SQLite
            known = await session.scalar(
                select(BillingCustomer.id).where(
                    BillingCustomer.merchant_id == merchant_id, BillingCustomer.customer_uid == customer_uid
                )
            )
            if known is None:
                raise NotFound(NOT_REGISTERED.format(customer_uid=customer_uid))
        v1texts.check_page(page.page, page.limit, total)
        rows = await session.scalars(
            select(Payment)
            .where(*scope)
            .order_by(Payment.started_at.desc(), Payment.id.desc())
            .offset(page.offset)
            .limit(page.limit)
        )
        return paged(total, page.page, page.limit, await to_v1_list(session, list(rows)))


# -- charging a stored key ------------------------------------------------------------------------


_CUSTOMERS = cast(Table, BillingCustomer.__table__)
_CHANNELS = cast(Table, PgChannel.__table__)
_CUSTOMER_COLUMNS = tuple(c.key for c in _CUSTOMERS.columns)
_CHANNEL_COLUMNS = tuple(c.key for c in _CHANNELS.columns)
#: the customer and its channel in one read, as plain values (``cu_*``, ``ch_*``)
_CUSTOMER_AND_CHANNEL = Statement(
    select(*(c.label(f"cu_{c.key}") for c in _CUSTOMERS.columns), *(c.label(f"ch_{c.key}") for c in _CHANNELS.columns))
    .join_from(_CUSTOMERS, _CHANNELS, _CHANNELS.c.id == _CUSTOMERS.c.channel_id)
    .where(_CUSTOMERS.c.merchant_id == bindparam("merchant"), _CUSTOMERS.c.customer_uid == bindparam("customer_uid"))
)


@dataclass(frozen=True)
class AgainOrder:
    customer_uid: str
    request: PaymentRequest
    options: ChargeOptions = field(default_factory=ChargeOptions)


async def charge(
    services: Services,
    merchant_id: int,
    order: AgainOrder,
    *,
    on_open: OnOpen | None = None,
    on_settle: OnOpen | None = None,
) -> Payment:
    """``POST /subscribe/payments/again`` (and every scheduled charge): one charge of the stored key."""
    async with services.db.connection() as conn:
        found = await conn.first(_CUSTOMER_AND_CHANNEL, merchant=merchant_id, customer_uid=order.customer_uid)
    if found is None:
        raise BusinessError(UNKNOWN_BUYER, detail=f"no customer_uid {order.customer_uid[:80]!r} is registered")
    values = found._asdict()
    customer = loaded(BillingCustomer, {k: values[f"cu_{k}"] for k in _CUSTOMER_COLUMNS})
    channel = loaded(PgChannel, {k: values[f"ch_{k}"] for k in _CHANNEL_COLUMNS})
    payment = await open_for_approval(services, merchant_id, channel, order.request, on_open)
    return await charge_opened(services, customer, channel, payment, order, on_settle=on_settle)


async def charge_opened(
    services: Services,
    customer: BillingCustomer,
    channel: PgChannel,
    payment: Payment,
    order: AgainOrder,
    *,
    on_settle: OnOpen | None = None,
) -> Payment:
    """Charges the customer's key for an opened payment (a first call, or the repeat of a lost one:
    the imp_uid and so the Idempotency-Key are the payment's own)."""
    billing_key: Secret = await services.keyring.open(customer.billing_key_sealed, BILLING_KEY_PURPOSE)
    customer_key = customer.customer_id

    async def call(connector: PgConnector, charge_request: ChargeRequest, idempotency_key: str) -> PgPayment:
        return await connector.charge_billing_key(
            billing_key, customer_key, charge_request, idempotency_key=idempotency_key
        )

    options, request = order.options, order.request
    return await approve(
        services, payment, channel, request, call, options=options, refused=CHARGE_REFUSED, on_settle=on_settle
    )


__all__ = ["ApprovalRefused", "charge"]


async def _revoke_pending(session: AsyncSession, merchant_id: int, customer_uid: str, at: datetime) -> int:
    result = await session.execute(
        update(PaymentSchedule)
        .where(
            PaymentSchedule.merchant_id == merchant_id,
            PaymentSchedule.customer_uid == customer_uid,
            PaymentSchedule.schedule_status == SCHEDULED,
        )
        .values(schedule_status=REVOKED, revoked_at=at, updated_at=at)
    )
    return int(getattr(result, "rowcount", 0) or 0)
