"""``/subscribe/payments/*``: non-authenticated (API) card payments."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from starlette.responses import Response

from tollway.api.body import body_docs, read_body
from tollway.api.card_input import card_data
from tollway.api.deps import PrincipalDep, ServicesDep
from tollway.api.envelope import Envelope, ok
from tollway.api.schemas import OnetimeBody
from tollway.billing import customers
from tollway.errors import InvalidRequest
from tollway.payments.approve import ChargeOptions
from tollway.payments.keyin import KeyInOrder, pay_key_in
from tollway.payments.ledger import PaymentRequest
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
    if body.currency not in (None, "", "KRW"):
        raise InvalidRequest("currency must be KRW for tosspayments")
    tax_free = body.tax_free or 0
    if tax_free > body.amount:
        raise InvalidRequest(f"tax_free ({tax_free}) cannot exceed amount ({body.amount})")
    quota = body.card_quota or 0
    if quota == 1:
        raise InvalidRequest("card_quota must be 0 (일시불) or 2 to 12 months")
    card = card_data(body.card_number, body.expiry, body.birth, body.pwd_2digit)
    order = KeyInOrder(
        request=PaymentRequest(
            merchant_uid=body.merchant_uid,
            amount=body.amount,
            name=body.name,
            pay_method="card",
            channel="api",
            tax_free=tax_free,
            vat_amount=body.vat_amount,
            buyer_name=body.buyer_name,
            buyer_email=body.buyer_email,
            buyer_tel=body.buyer_tel,
            buyer_addr=body.buyer_addr,
            buyer_postcode=body.buyer_postcode,
            custom_data=body.custom_data,
            user_agent=request.headers.get("user-agent"),
            notice_urls=body.notice_urls(),
            card_quota=quota,
        ),
        card=card,
        pg=body.pg,
        options=ChargeOptions(
            interest_free=bool(body.interest_free_by_merchant),
            use_card_point=bool(body.use_card_point),
            buyer_ip=body.browser_ip or (request.client.host if request.client else None),
        ),
    )
    if body.customer_uid:
        # Toss cannot issue a key and charge at once: the card becomes a billing key first, then
        # the key is charged; the key is kept under customer_uid.
        await customers.register(
            services,
            principal.merchant_id,
            customers.Registration(
                customer_uid=body.customer_uid,
                card=card,
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
