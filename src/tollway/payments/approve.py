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

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.db.models import Payment, PgChannel
from tollway.errors import BusinessError
from tollway.payments.ledger import ALREADY_PAID, PaymentRequest, new_payment
from tollway.payments.pgsync import apply_approval, apply_failure, fail_reason, load_for_update
from tollway.payments.states import PaymentStatus, begin_approval
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
OnOpen = Callable[[AsyncSession, Payment], Awaitable[None]]


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


async def refuse_duplicate(session: AsyncSession, merchant_id: int, merchant_uid: str) -> None:
    holder = await holder_status(session, merchant_id, merchant_uid)
    raise BusinessError(refusal(holder or "", merchant_uid))


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


async def open_for_approval(
    services: Services,
    merchant_id: int,
    channel: PgChannel,
    request: PaymentRequest,
    on_open: OnOpen | None = None,
) -> Payment:
    """Step 1: the ``ready`` payment, holding its merchant_uid, committed in one INSERT (no savepoint:
    a collision rolls the whole transaction back, and only an imp_uid collision is tried again)."""
    # Alone, the INSERT is the whole transaction (one round trip); with ``on_open`` it is not.
    opening = services.sessions if on_open is not None else services.sessions.single
    for _ in range(5):
        async with opening() as session:
            payment = new_payment(merchant_id, channel, request, services.clock.now())
            begin_approval(payment, services.clock.now())
            session.add(payment)
            try:
                if on_open is not None:
                    await session.flush()
                    await on_open(session, payment)
                await session.commit()
            except IntegrityError as exc:
                await session.rollback()
                if "merchant_uid_hold" in str(exc.orig):
                    await refuse_duplicate(session, merchant_id, request.merchant_uid)
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
        return await settle_failure(services, payment.id, fail_reason(exc), on_settle)
    except PgRejected as exc:
        if exc.code not in ALREADY_TAKEN:
            failed = await settle_failure(services, payment.id, fail_reason(exc), on_settle)
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
            return await settle_failure(services, payment.id, reason, on_settle)
    except PgUnknown:
        raise BusinessError(UNKNOWN_OUTCOME.format(imp_uid=payment.imp_uid), code=-1) from None
    async with services.sessions() as session:
        paid = await load_for_update(session, payment.id)
        await apply_approval(session, paid, result, services.clock.now())
        if on_settle is not None:
            await on_settle(session, paid)
        await session.commit()
        return paid


async def settle_failure(services: Services, payment_id: int, reason: str, on_settle: OnOpen | None = None) -> Payment:
    async with services.sessions() as session:
        payment = await load_for_update(session, payment_id)
        await apply_failure(session, payment, reason, services.clock.now())
        if on_settle is not None:
            await session.flush()
            await on_settle(session, payment)
        await session.commit()
        return payment
