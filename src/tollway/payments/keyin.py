"""Key-in one-time payments (``POST /subscribe/payments/onetime`` without ``customer_uid``).

The card data lives only in the ``CardData`` handed to the connector; only the masked number the
PG returns is stored. The charge itself follows ``payments.approve``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tollway.db.models import Payment
from tollway.merchants.channels import resolve_channel
from tollway.merchants.service import channels_of
from tollway.payments.approve import ChargeOptions, approve, open_for_approval
from tollway.payments.ledger import PaymentRequest
from tollway.payments.pgsync import card_refusal
from tollway.pg.base import CardData, ChargeRequest, PgConnector, PgError, PgPayment
from tollway.services import Services

CARD_REFUSED = "카드정보 인증에 실패하였습니다."


def refused(error: PgError) -> str:
    return card_refusal(CARD_REFUSED, error)


@dataclass(frozen=True, repr=False)
class KeyInOrder:
    request: PaymentRequest
    card: CardData
    pg: str | None = None
    options: ChargeOptions = field(default_factory=ChargeOptions)

    def __repr__(self) -> str:
        return f"KeyInOrder(merchant_uid={self.request.merchant_uid!r}, card=***)"


async def pay_key_in(services: Services, merchant_id: int, order: KeyInOrder) -> Payment:
    channel = resolve_channel(await channels_of(services.db, merchant_id), order.pg)
    payment = await open_for_approval(services, merchant_id, channel, order.request)

    async def call(connector: PgConnector, charge: ChargeRequest, idempotency_key: str) -> PgPayment:
        return await connector.key_in(order.card, charge, idempotency_key=idempotency_key)

    return await approve(services, payment, channel, order.request, call, options=order.options, refused=refused)
