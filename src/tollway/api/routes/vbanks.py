"""``/vbanks``: virtual accounts by REST (issue, revoke; changes and holder lookups Toss cannot make)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tollway.api.body import body_docs, read_body
from tollway.api.charge_input import payment_request
from tollway.api.deps import PrincipalDep, ServicesDep
from tollway.api.envelope import Envelope, ok
from tollway.api.fields import ImpUidPath
from tollway.api.routes.billing import payment_v1
from tollway.api.schemas_more import VbankBody, VbankChangeBody
from tollway.errors import InvalidRequest
from tollway.payments import vbanks
from tollway.payments.v1 import PaymentV1, payment_to_v1

router = APIRouter(tags=["vbanks"])
_PAYMENT: dict[int | str, dict[str, Any]] = {
    200: {"model": Envelope[PaymentV1]},
    400: {"model": Envelope[None]},
    404: {"model": Envelope[None]},
}


@router.post(
    "/vbanks",
    summary="가상계좌 발급",
    description="Issues a virtual account at Toss (`POST /v1/virtual-accounts`): the payment is `ready` with "
    "`vbank_*` filled, and becomes `paid` (with a webhook) on the deposit. `buyer_name` is required by "
    "tosspayments; `vbank_holder` is ignored (the holder is the merchant's name); `vbank_key` asks for a "
    "fixed account. A merchant_uid that is already paid is refused.",
    responses=_PAYMENT,
    openapi_extra=body_docs(VbankBody),
)
async def issue(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    body = await read_body(request, VbankBody)
    order = vbanks.VbankOrder(
        request=payment_request(body, request, pay_method="vbank"),
        bank=body.vbank_code,
        due=body.vbank_due,
        account_key=body.vbank_key or None,
        pg=body.pg,
        channel_key=body.channel_key,
    )
    return ok(payment_to_v1(await vbanks.issue(services, principal.merchant_id, order)))


@router.get(
    "/vbanks/holder",
    summary="예금주 조회",
    description="Toss Payments has no account-holder lookup: answers a 400 (`code 1`) that says so.",
    responses={400: {"model": Envelope[None]}},
)
async def holder(
    _: PrincipalDep,
    bank_code: Annotated[str | None, Query(max_length=8)] = None,
    bank_num: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    if not bank_code:
        raise InvalidRequest("bank_code 파라메터가 누락되었습니다.")
    if not bank_num:
        raise InvalidRequest("bank_num 파라메터가 누락되었습니다.")
    vbanks.holder()


@router.put(
    "/vbanks/{imp_uid}",
    summary="가상계좌 발급정보 수정",
    description="Toss cannot change an issued account's amount or deadline: an unpaid account answers a 400 "
    "(`code 1`) that says so; revoke it (`DELETE`) and issue another.",
    responses=_PAYMENT,
    openapi_extra=body_docs(VbankChangeBody),
)
async def change(imp_uid: ImpUidPath, request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    await read_body(request, VbankChangeBody)
    await vbanks.change(services, principal.merchant_id, imp_uid)


@router.delete(
    "/vbanks/{imp_uid}",
    summary="가상계좌 발급취소",
    description="Cancels an unpaid virtual account at Toss: the payment becomes `cancelled`. A payment that is "
    "not a virtual account, or not `ready` (paid, already revoked), answers 400.",
    responses=_PAYMENT,
)
async def revoke(imp_uid: ImpUidPath, principal: PrincipalDep, services: ServicesDep) -> Response:
    return ok(await payment_v1(services, await vbanks.revoke(services, principal.merchant_id, imp_uid)))
