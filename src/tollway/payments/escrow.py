"""Escrow logistics (``/escrows/logis/{imp_uid}``): V1 registers the delivery of an escrow payment
with the PG. Toss Payments' core API has no delivery registration (reference toss-v1 §2: escrow
exists there only as the ``useEscrow`` flag of a payment), so for a tosspayments payment the answer
is a refusal that says so. ``escrow: true`` on window and key-in payments still reaches Toss.
"""

from __future__ import annotations

from typing import NoReturn

from tollway.errors import InvalidRequest
from tollway.payments.queries import get_payment
from tollway.services import Services

NOT_SUPPORTED = "토스페이먼츠는 에스크로 배송정보 등록 API를 지원하지 않습니다."
DETAIL = (
    "Toss Payments' core API has no escrow delivery registration: register the delivery in Toss's "
    "merchant dashboard (상점관리자)"
)


async def refuse(services: Services, merchant_id: int, imp_uid: str) -> NoReturn:
    """The merchant's payment must exist (404 otherwise); its PG cannot take delivery information."""
    async with services.sessions() as session:
        payment = await get_payment(session, merchant_id, imp_uid)
    raise InvalidRequest(NOT_SUPPORTED, detail=f"{DETAIL} (payment {payment.imp_uid}, {payment.pg_provider})")
