"""Charging a card through a PG, for every flow that does (key-in, billing "again", schedules).

The order of steps is what makes it safe:

1. open the payment and mark its approval call *before* calling the PG, and commit: the payment
   now holds its merchant_uid, so a concurrent duplicate is refused by the database;
2. call the PG with an Idempotency-Key derived from the imp_uid (a replay can never charge twice);
3. record the outcome. When there is none (timeout, lost connection, 5xx) the payment stays
   ``ready`` with its call marked, and ``payments.reconcile`` settles it by looking the order up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.db.driver import Conn, IntegrityError, Statement, loaded
from tollway.db.models import Payment, PgChannel
from tollway.errors import BusinessError
from tollway.payments.ledger import ALREADY_PAID, PaymentRequest, mark_failed, new_payment, record_paid
from tollway.payments.pgsync import apply_approval, approval_of, fail_reason, load_for_update
from tollway.payments.states import PaymentStatus, PgOp, begin_approval
from tollway.pg.base import (
    Buyer,
    ChargeRequest,
    PgConnector,
    PgDeclined,
    PgError,
    PgPayment,
    PgRejected,
    PgUnknown,
)
from tollway.services import Services
from tollway.webhooks import outbox

IN_FLIGHT = (
    "같은 merchant_uid의 결제가 진행 중입니다. (a payment for merchant_uid {merchant_uid} is being processed; "
    "look it up with GET /payments/find/{merchant_uid})"
)
UNKNOWN_OUTCOME = (
    "PG사의 결제 결과를 확인하지 못했습니다. 결과를 자동으로 확인합니다. "
    "(no answer from the PG for {imp_uid}; it is being reconciled: look it up with GET /payments/{imp_uid})"
)

#: The PG says this order was already processed: a retry of a call whose answer was lost.
ALREADY_TAKEN = frozenset({"DUPLICATED_ORDER_ID", "ALREADY_PROCESSED_PAYMENT"})
#: One PG call: (connector, charge, idempotency key) → the PG's payment.
Charge = Callable[[PgConnector, ChargeRequest, str], Awaitable[PgPayment]]
#: Runs in the transaction that opens the payment (a schedule records its imp_uid there), or in
#: the one that records its outcome (the schedule records that too).
OnOpen = Callable[[Conn, Payment], Awaitable[None]]


@dataclass(frozen=True)
class ChargeOptions:
    interest_free: bool = False
    use_card_point: bool = False
    buyer_ip: str | None = None


class ApprovalRefused(BusinessError):
    """The PG refused the request (recorded as failed); ``payment`` is the failed attempt."""

    def __init__(self, message: str, payment: Payment) -> None:
        super().__init__(message, code=-1)
        self.payment = payment


async def holder_status(session: AsyncSession, merchant_id: int, merchant_uid: str) -> str | None:
    """The status of the payment holding ``merchant_uid`` (``paid``, or ``ready`` with its approval
    at the PG), or None when nothing holds it."""
    return await session.scalar(
        select(Payment.status).where(Payment.merchant_id == merchant_id, Payment.merchant_uid_hold == merchant_uid)
    )


def refusal(holder: str, merchant_uid: str) -> str:
    """Why a held merchant_uid cannot be charged again."""
    return (ALREADY_PAID if holder == PaymentStatus.PAID else IN_FLIGHT).format(merchant_uid=merchant_uid)


def charge_request(imp_uid: str, request: PaymentRequest, options: ChargeOptions) -> ChargeRequest:
    return ChargeRequest(
        order_id=imp_uid,
        order_name=(request.name or request.merchant_uid)[:100],
        amount=request.amount,
        tax_free=request.tax_free,
        installment_months=request.card_quota,
        interest_free=options.interest_free,
        use_card_point=options.use_card_point,
        buyer=Buyer(request.buyer_name, request.buyer_email, request.buyer_tel),
        buyer_ip=options.buyer_ip,
    )


_PAYMENTS = cast(Table, Payment.__table__)
_COLUMNS = tuple(c.key for c in _PAYMENTS.columns if c.key != "id")
_OPEN = Statement(insert(_PAYMENTS).values({k: bindparam(f"v_{k}") for k in _COLUMNS}).returning(_PAYMENTS.c.id))
_LOCK = Statement(select(_PAYMENTS).where(_PAYMENTS.c.id == bindparam("w_id")).with_for_update())
_HOLDER = Statement(
    select(_PAYMENTS.c.status).where(
        _PAYMENTS.c.merchant_id == bindparam("merchant"), _PAYMENTS.c.merchant_uid_hold == bindparam("uid")
    )
)
#: UPDATEs of the payment's changed columns, one per set of columns (a handful: paid, failed…) and
#: whether it is guarded (``_IN_FLIGHT``)
_UPDATES: dict[tuple[tuple[str, ...], bool], Statement] = {}
#: A ``ready`` payment whose approval call began at ``g_at`` and is still in flight, holding its
#: merchant_uid. Every other writer of such a row (reconciliation, a worker's recovery) settles
#: it through the state machine, which changes these columns first.
_IN_FLIGHT = (
    _PAYMENTS.c.status == PaymentStatus.READY.value,
    _PAYMENTS.c.pg_op == PgOp.APPROVE.value,
    _PAYMENTS.c.pg_op_key == bindparam("g_key"),
    _PAYMENTS.c.pg_op_at == bindparam("g_at"),
    _PAYMENTS.c.merchant_uid_hold == _PAYMENTS.c.merchant_uid,
)


def _values(payment: Payment) -> dict[str, Any]:
    return {k: getattr(payment, k) for k in _COLUMNS}


async def _save(conn: Conn, payment: Payment, before: dict[str, Any], in_flight: Payment | None = None) -> bool:
    """Writes the columns the state machine changed on ``payment`` (read as ``before``). With
    ``in_flight`` (the payment as its approval call began), only while the row still is so;
    returns whether it was written."""
    changed = {k: v for k, v in _values(payment).items() if before[k] != v}
    if not changed:
        return True
    keys = tuple(sorted(changed))
    statement = _UPDATES.get((keys, in_flight is not None))
    if statement is None:
        guard = _IN_FLIGHT if in_flight is not None else ()
        statement = _UPDATES[(keys, in_flight is not None)] = Statement(
            update(_PAYMENTS)
            .where(_PAYMENTS.c.id == bindparam("w_id"), *guard)
            .values({k: bindparam(f"v_{k}") for k in keys})
        )
    params = {f"v_{k}": v for k, v in changed.items()}
    if in_flight is not None:
        params.update(g_key=in_flight.pg_op_key, g_at=in_flight.pg_op_at)
    return await conn.execute(statement, w_id=payment.id, **params) == 1


async def open_for_approval(
    services: Services,
    merchant_id: int,
    channel: PgChannel,
    request: PaymentRequest,
    on_open: OnOpen | None = None,
) -> Payment:
    """Step 1: the ``ready`` payment, holding its merchant_uid, committed in one INSERT … RETURNING
    (with ``on_open``, in one transaction with what it writes). A collision rolls it back; only an
    imp_uid collision is tried again."""
    for _ in range(5):
        payment = new_payment(merchant_id, channel, request, services.clock.now())
        begin_approval(payment, services.clock.now())
        values = {f"v_{k}": v for k, v in _values(payment).items()}
        # Alone, the INSERT is the whole transaction (one round trip); with ``on_open`` it is not.
        opening = services.db.transaction if on_open is not None else services.db.connection
        try:
            async with opening() as conn:
                payment.id = await conn.scalar(_OPEN, **values)
                if on_open is not None:
                    await on_open(conn, payment)
        except IntegrityError as exc:
            if "merchant_uid_hold" in str(exc):
                async with services.db.connection() as conn:
                    holder = await conn.scalar(_HOLDER, merchant=merchant_id, uid=request.merchant_uid)
                raise BusinessError(refusal(holder or "", request.merchant_uid)) from None
            continue  # a rare imp_uid collision: draw another
        return payment
    raise RuntimeError("could not draw a free imp_uid in 5 tries")  # pragma: no cover


async def approve(
    services: Services,
    payment: Payment,
    channel: PgChannel,
    request: PaymentRequest,
    call: Charge,
    *,
    options: ChargeOptions = ChargeOptions(),
    refused: str | Callable[[PgError], str] = "{reason}",
    on_settle: OnOpen | None = None,
) -> Payment:
    """Steps 2 and 3 for an opened payment. Returns it ``paid`` or, for a decline, ``failed``;
    raises ``ApprovalRefused`` for a refused request and ``BusinessError`` (code -1) when the
    outcome is unknown (the payment is left pending for reconciliation)."""
    connector = await services.pg.for_channel(channel)
    charge = charge_request(payment.imp_uid, request, options)
    try:
        result = await call(connector, charge, f"tollway-{payment.imp_uid}-approve")
    except PgDeclined as exc:
        return await settle_failure(services, payment, fail_reason(exc), on_settle)
    except PgRejected as exc:
        if exc.code not in ALREADY_TAKEN:
            failed = await settle_failure(services, payment, fail_reason(exc), on_settle)
            text = refused(exc) if callable(refused) else refused.format(reason=fail_reason(exc))
            raise ApprovalRefused(text, failed) from None
        # The order (= this imp_uid) was processed by an earlier call whose answer was lost: what
        # the PG holds for it is the outcome.
        try:
            result = await connector.get_payment_by_order(payment.imp_uid)
        except PgError:
            raise BusinessError(UNKNOWN_OUTCOME.format(imp_uid=payment.imp_uid), code=-1) from None
        if not (result.is_approved or result.is_waiting_for_deposit):  # an issued virtual account is no failure
            reason = f"[{result.failure_code}] {result.failure_message}"
            return await settle_failure(services, payment, reason, on_settle)
    except PgUnknown:
        raise BusinessError(UNKNOWN_OUTCOME.format(imp_uid=payment.imp_uid), code=-1) from None
    return await settle_approval(services, payment, result, on_settle)


async def _settle_in_flight(
    services: Services,
    opened: Payment,
    change: Callable[[Payment], object],
    notify: PaymentStatus | None,
    on_settle: OnOpen | None,
    at: datetime,
) -> Payment | None:
    """Step 3 without reading the row first: ``change`` (the state machine's) is made to the payment
    as its approval call began (``opened``), and written in one transaction with its notification
    and ``on_settle`` only if the row is still so (``_IN_FLIGHT``); else None (nothing written)."""
    if opened.status != PaymentStatus.READY or opened.pg_op != PgOp.APPROVE or opened.pg_op_at is None:
        return None
    settled = loaded(Payment, {**_values(opened), "id": opened.id})
    before = _values(settled)
    change(settled)
    async with services.db.transaction() as conn:
        if not await _save(conn, settled, before, in_flight=opened):
            return None
        if notify is not None:
            await outbox.enqueue_on(conn, settled, notify, at)
        if on_settle is not None:
            await on_settle(conn, settled)
    return settled


async def settle_approval(
    services: Services, opened: Payment, result: PgPayment, on_settle: OnOpen | None = None
) -> Payment:
    """Step 3 for an approval: the row goes ``ready → paid`` through the state machine, its columns
    that changed are written, the ``paid`` notification is queued and ``on_settle`` runs, in one
    transaction on the driver's connection. The common case writes the payment as its approval call
    began (``_settle_in_flight``: no read, no row lock); a row that changed meanwhile is locked and
    read. What the plain card approval does not cover (a virtual account issued, cancels already
    made at the PG, a payment that no longer holds its merchant_uid) is recorded by
    ``pgsync.apply_approval`` on a session, as reconciliation does."""
    at = services.clock.now()
    if result.is_approved and not result.cancels:

        def paid_now(payment: Payment) -> None:
            record_paid(payment, approval_of(result), result.approved_at or at)

        settled = await _settle_in_flight(services, opened, paid_now, PaymentStatus.PAID, on_settle, at)
        if settled is not None:
            return settled
    payment_id = opened.id
    async with services.db.transaction() as conn:
        row = await conn.first(_LOCK, w_id=payment_id)
        paid = loaded(Payment, row._asdict())
        plain = result.is_approved and not result.cancels and paid.merchant_uid_hold == paid.merchant_uid
        if paid.status == PaymentStatus.READY and plain:
            before = _values(paid)
            record_paid(paid, approval_of(result), result.approved_at or at)
            await _save(conn, paid, before)
            await outbox.enqueue_on(conn, paid, PaymentStatus.PAID, at)
            if on_settle is not None:
                await on_settle(conn, paid)
            return paid
        if paid.status != PaymentStatus.READY and not result.cancels:  # settled meanwhile: nothing to record
            if on_settle is not None:
                await on_settle(conn, paid)
            return paid
    async with services.sessions() as session:
        locked = await load_for_update(session, payment_id)
        await apply_approval(session, locked, result, at)
        await session.commit()
    if on_settle is not None:  # its own transaction: recovery finishes a schedule from a settled payment
        async with services.db.transaction() as conn:
            await on_settle(conn, locked)
    return locked


async def settle_failure(services: Services, opened: Payment, reason: str, on_settle: OnOpen | None = None) -> Payment:
    """Step 3 for a refusal or a decline: ``ready → failed`` in one transaction (V1 notifies the
    failures of scheduled payments only), with ``on_settle``; as ``settle_approval``, without a read
    while the row is as its approval call began."""
    at = services.clock.now()
    scheduled = opened.customer_uid_usage == "payment.scheduled"
    settled = await _settle_in_flight(
        services,
        opened,
        lambda payment: mark_failed(payment, reason[:500], at),
        PaymentStatus.FAILED if scheduled else None,
        on_settle,
        at,
    )
    if settled is not None:
        return settled
    payment_id = opened.id
    async with services.db.transaction() as conn:
        row = await conn.first(_LOCK, w_id=payment_id)
        payment = loaded(Payment, row._asdict())
        if payment.status == PaymentStatus.READY:
            before = _values(payment)
            mark_failed(payment, reason[:500], at)
            await _save(conn, payment, before)
            if payment.customer_uid_usage == "payment.scheduled":
                await outbox.enqueue_on(conn, payment, PaymentStatus.FAILED, at)
        if on_settle is not None:
            await on_settle(conn, payment)
        return payment
