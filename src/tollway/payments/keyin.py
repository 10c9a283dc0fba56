"""Key-in one-time payments (``POST /subscribe/payments/onetime`` without ``customer_uid``).

The order of steps is what makes it safe:

1. open the payment and mark its approval call *before* calling the PG, and commit: the payment
   now holds its merchant_uid, so a concurrent duplicate is refused by the database;
2. call the PG with an Idempotency-Key derived from the imp_uid (a replay can never charge twice);
3. record the outcome. When there is none (timeout, lost connection, 5xx) the payment stays
   ``ready`` with its call marked, and ``payments.reconcile`` settles it by looking the order up.

The card data lives only in the ``CardData`` handed to the connector; only the masked number the
PG returns is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tollway.db.models import Payment
from tollway.errors import BusinessError
from tollway.merchants.channels import resolve_channel
from tollway.merchants.service import list_channels
from tollway.payments.ledger import ALREADY_PAID, PaymentRequest, open_payment
from tollway.payments.pgsync import apply_approval, apply_failure, fail_reason, load_for_update
from tollway.payments.states import PaymentStatus, begin_approval
from tollway.pg.base import Buyer, CardData, ChargeRequest, PgDeclined, PgRejected, PgUnknown
from tollway.services import Services

IN_FLIGHT = (
    "같은 merchant_uid의 결제가 진행 중입니다. (a payment for merchant_uid {merchant_uid} is being processed; "
    "look it up with GET /payments/find/{merchant_uid})"
)
CARD_REFUSED = "카드정보 인증에 실패하였습니다. {reason}"
UNKNOWN_OUTCOME = (
    "PG사의 결제 결과를 확인하지 못했습니다. 결과를 자동으로 확인합니다. "
    "(no answer from the PG for {imp_uid}; it is being reconciled: look it up with GET /payments/{imp_uid})"
)


@dataclass(frozen=True, repr=False)
class KeyInOrder:
    request: PaymentRequest
    card: CardData
    pg: str | None = None
    interest_free: bool = False
    use_card_point: bool = False
    buyer_ip: str | None = None

    def __repr__(self) -> str:
        return f"KeyInOrder(merchant_uid={self.request.merchant_uid!r}, card=***)"


async def _refuse_duplicate(services: Services, merchant_id: int, merchant_uid: str) -> None:
    async with services.sessions() as session:
        holder = await session.scalar(
            select(Payment.status).where(Payment.merchant_id == merchant_id, Payment.merchant_uid_hold == merchant_uid)
        )
    if holder == PaymentStatus.PAID:
        raise BusinessError(ALREADY_PAID.format(merchant_uid=merchant_uid))
    raise BusinessError(IN_FLIGHT.format(merchant_uid=merchant_uid))


async def pay_key_in(services: Services, merchant_id: int, order: KeyInOrder) -> Payment:
    """Returns the payment (``paid`` or, for a decline, ``failed``); raises ``BusinessError`` for a
    refused request (recorded as failed) and for an unknown outcome (left pending)."""
    request = order.request
    async with services.sessions() as session:
        channel = resolve_channel(await list_channels(session, merchant_id), order.pg)
        payment = await open_payment(session, merchant_id, channel, request, services.clock.now())
        begin_approval(payment, services.clock.now())
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            await _refuse_duplicate(services, merchant_id, request.merchant_uid)
            raise  # pragma: no cover - _refuse_duplicate always raises
        payment_id, imp_uid = payment.id, payment.imp_uid
    connector = services.pg.for_channel(channel)
    charge = ChargeRequest(
        order_id=imp_uid,
        order_name=(request.name or request.merchant_uid)[:100],
        amount=request.amount,
        tax_free=request.tax_free,
        installment_months=request.card_quota,
        interest_free=order.interest_free,
        use_card_point=order.use_card_point,
        buyer=Buyer(request.buyer_name, request.buyer_email, request.buyer_tel),
        buyer_ip=order.buyer_ip,
    )
    refused: PgRejected | None = None
    try:
        result = await connector.key_in(order.card, charge, idempotency_key=f"tollway-{imp_uid}-approve")
    except PgDeclined as exc:
        return await _settle_failure(services, payment_id, fail_reason(exc))
    except PgRejected as exc:
        refused = exc
    except PgUnknown:
        raise BusinessError(UNKNOWN_OUTCOME.format(imp_uid=imp_uid), code=-1) from None
    if refused is not None:
        await _settle_failure(services, payment_id, fail_reason(refused))
        raise BusinessError(CARD_REFUSED.format(reason=fail_reason(refused)), code=-1)
    async with services.sessions() as session:
        payment = await load_for_update(session, payment_id)
        await apply_approval(session, payment, result, services.clock.now())
        await session.commit()
        return payment


async def _settle_failure(services: Services, payment_id: int, reason: str) -> Payment:
    async with services.sessions() as session:
        payment = await load_for_update(session, payment_id)
        apply_failure(payment, reason, services.clock.now())
        await session.commit()
        return payment
