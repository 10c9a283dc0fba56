"""``/subscribe/payments/*``: non-authenticated (API) card payments."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from starlette.responses import Response

from tollway.api.body import body_docs, read_body
from tollway.api.card_input import card_data
from tollway.api.charge_input import charge_options, payment_request
from tollway.api.deps import PrincipalDep, ServicesDep
from tollway.api.envelope import Envelope, ok
from tollway.api.schemas import OnetimeBody
from tollway.api.schemas_more import ForeignBody
from tollway.billing import customers
from tollway.payments.keyin import KeyInOrder, pay_key_in
from tollway.payments.v1 import PaymentV1, payment_to_v1

router = APIRouter(tags=["subscribe"])


@router.post(
    "/subscribe/payments/onetime",
    summary="구매자로부터 별도의 인증과정을 거치지 않은 채, 카드정보만으로 결제를 진행",
    description='Key-in payment. A decline answers `code 0` with `status: "failed"` and `fail_reason`; '
    "refused card data answers `code -1`. The card data is never stored: the payment keeps only "
    "the masked number. A merchant_uid that is already paid (or being paid) is refused.",
    responses={200: {"model": Envelope[PaymentV1]}, 400: {"model": Envelope[None]}},
    openapi_extra=body_docs(OnetimeBody),
)
async def onetime(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    body = await read_body(request, OnetimeBody)
    order = key_in_order(body, request)
    if body.customer_uid:
        # Toss cannot issue a key and charge at once: the card becomes a billing key first, then
        # the key is charged; the key is kept under customer_uid.
        await customers.register(
            services,
            principal.merchant_id,
            customers.Registration(
                customer_uid=body.customer_uid,
                card=order.card,
                pg=body.pg,
                fields=customers.CustomerFields(
                    body.buyer_name, body.buyer_tel, body.buyer_email, body.buyer_addr, body.buyer_postcode
                ),
            ),
        )
        again = customers.AgainOrder(
            customer_uid=body.customer_uid,
            request=replace(order.request, customer_uid=body.customer_uid, customer_uid_usage="payment"),
            options=order.options,
        )
        payment = await customers.charge(services, principal.merchant_id, again)
    else:
        payment = await pay_key_in(services, principal.merchant_id, order)
    return ok(payment_to_v1(payment))


def key_in_order(body: OnetimeBody, request: Request, *, foreign: bool = False) -> KeyInOrder:
    """The key-in charge both ``onetime`` and ``foreign`` make (``foreign``: no identity number)."""
    return KeyInOrder(
        request=payment_request(body, request),
        card=card_data(body.card_number, body.expiry, body.birth, body.pwd_2digit, foreign=foreign),
        pg=body.pg,
        options=charge_options(body, request),
    )


@router.post(
    "/subscribe/payments/foreign",
    summary="해외카드 비인증 결제 (생년월일, 카드 비밀번호 없이)",
    description="A key-in payment with a card issued abroad: `birth` and `pwd_2digit` are not needed (and "
    "ignored), and Toss is called without the identity number. Otherwise exactly `onetime`: a decline answers "
    '`code 0` with `status: "failed"`, the card data is never stored, a paid merchant_uid is refused. '
    "No billing key is kept (`customer_uid` is ignored).",
    responses={200: {"model": Envelope[PaymentV1]}, 400: {"model": Envelope[None]}},
    openapi_extra=body_docs(ForeignBody),
)
async def foreign(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    body = await read_body(request, ForeignBody)
    payment = await pay_key_in(services, principal.merchant_id, key_in_order(body, request, foreign=True))
    return ok(payment_to_v1(payment))
