"""``/receipts``: cash receipts (현금영수증) for a paid transfer or virtual account, and stand-alone."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from tollway.api.body import body_docs, read_body
from tollway.api.deps import PrincipalDep, ServicesDep
from tollway.api.envelope import Envelope, ok
from tollway.api.fields import ImpUidPath, MerchantUidPath
from tollway.api.schemas_more import ExternalReceiptBody, ReceiptBody
from tollway.payments import receipts

router = APIRouter(tags=["receipts"])
_ONE: dict[int | str, dict[str, Any]] = {
    200: {"model": Envelope[receipts.ReceiptV1]},
    400: {"model": Envelope[None]},
    404: {"model": Envelope[None]},
}
_EXTERNAL: dict[int | str, dict[str, Any]] = {
    200: {"model": Envelope[receipts.ExternalReceiptV1]},
    400: {"model": Envelope[None]},
    404: {"model": Envelope[None]},
}


def _order(body: ReceiptBody, **extra: Any) -> receipts.ReceiptOrder:
    return receipts.ReceiptOrder(
        identifier=receipts.parse_identifier(body.identifier, body.identifier_type),
        identifier_type=body.identifier_type,
        type=receipts.check_type(body.type),
        tax_free=body.tax_free,
        buyer_name=body.buyer_name,
        buyer_email=body.buyer_email,
        buyer_tel=body.buyer_tel,
        **extra,
    )


@router.get("/receipts/{imp_uid}", summary="현금영수증 발급내역 조회", responses=_ONE)
async def get_receipt(imp_uid: ImpUidPath, principal: PrincipalDep, services: ServicesDep) -> Response:
    return ok(await receipts.get_for_payment(services, principal.merchant_id, imp_uid))


@router.post(
    "/receipts/{imp_uid}",
    summary="현금영수증 발급",
    description="For a paid account transfer or virtual account, for what is left of it, through Toss's "
    "cash-receipt API. `type` person (소득공제, default) or company (지출증빙). The identifier is never stored "
    "(only masked). A second receipt for the same payment is refused until the first is cancelled.",
    responses=_ONE,
    openapi_extra=body_docs(ReceiptBody),
)
async def issue_receipt(
    imp_uid: ImpUidPath, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    body = await read_body(request, ReceiptBody)
    return ok(await receipts.issue_for_payment(services, principal.merchant_id, imp_uid, _order(body)))


@router.delete("/receipts/{imp_uid}", summary="현금영수증 발급취소", responses=_ONE)
async def cancel_receipt(imp_uid: ImpUidPath, principal: PrincipalDep, services: ServicesDep) -> Response:
    return ok(await receipts.cancel_for_payment(services, principal.merchant_id, imp_uid))


@router.get("/receipts/external/{merchant_uid}", summary="외부 현금영수증 발급내역 조회", responses=_EXTERNAL)
async def get_external(merchant_uid: MerchantUidPath, principal: PrincipalDep, services: ServicesDep) -> Response:
    return ok(await receipts.get_external(services, principal.merchant_id, merchant_uid))


@router.post(
    "/receipts/external/{merchant_uid}",
    summary="외부 현금영수증 발급",
    description="A cash receipt for cash taken outside Tollway, at the channel's PG (`channel_key` or `pg`, "
    "else the default channel).",
    responses=_EXTERNAL,
    openapi_extra=body_docs(ExternalReceiptBody),
)
async def issue_external(
    merchant_uid: MerchantUidPath, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    body = await read_body(request, ExternalReceiptBody)
    order = _order(body, name=body.name, amount=body.amount, pg=body.pg, channel_key=body.channel_key)
    return ok(await receipts.issue_external(services, principal.merchant_id, merchant_uid, order))


@router.delete("/receipts/external/{merchant_uid}", summary="외부 현금영수증 발급취소", responses=_EXTERNAL)
async def cancel_external(merchant_uid: MerchantUidPath, principal: PrincipalDep, services: ServicesDep) -> Response:
    return ok(await receipts.cancel_external(services, principal.merchant_id, merchant_uid))
