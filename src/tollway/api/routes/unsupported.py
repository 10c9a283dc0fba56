"""V1 endpoints for features Toss Payments lacks: identity verification, escrow delivery
registration and sub-merchant tiers. Each answers what i'mport answers when the feature is not
there, as a V1 envelope with a Korean message (and Tollway's explanation in ``Tollway-Detail``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.responses import Response

from tollway.api.deps import PrincipalDep, ServicesDep
from tollway.api.envelope import Envelope
from tollway.api.fields import ImpUidPath
from tollway.merchants import certifications, tiers
from tollway.payments import escrow

router = APIRouter()
#: 400: a path segment past its length or with a control character
_NOT_FOUND: dict[int | str, dict[str, Any]] = {400: {"model": Envelope[None]}, 404: {"model": Envelope[None]}}
_REFUSED: dict[int | str, dict[str, Any]] = {400: {"model": Envelope[None]}, 404: {"model": Envelope[None]}}


@router.get(
    "/certifications/{imp_uid}",
    tags=["certifications"],
    summary="본인인증 결과 조회",
    description="No certification provider is configured (Toss offers none): every id answers 404.",
    responses=_NOT_FOUND,
)
@router.delete(
    "/certifications/{imp_uid}",
    tags=["certifications"],
    summary="본인인증 결과 삭제",
    description="No certification provider is configured (Toss offers none): every id answers 404.",
    responses=_NOT_FOUND,
)
async def certification(imp_uid: ImpUidPath, _: PrincipalDep) -> Response:
    certifications.find(imp_uid)


@router.post(
    "/certifications/otp/request",
    tags=["certifications"],
    summary="본인인증 요청 (OTP)",
    description="No certification provider is configured (Toss offers none): answers a 400 (`code 1`).",
    responses={400: {"model": Envelope[None]}},
)
async def certification_otp(_: PrincipalDep) -> Response:
    certifications.request_otp()


@router.post(
    "/certifications/otp/confirm/{imp_uid}",
    tags=["certifications"],
    summary="본인인증 완료 (OTP)",
    description="No certification provider is configured (Toss offers none): answers a 400 (`code 1`).",
    responses={400: {"model": Envelope[None]}},
)
async def certification_otp_confirm(imp_uid: ImpUidPath, _: PrincipalDep) -> Response:
    del imp_uid  # no request was ever made to confirm
    certifications.request_otp()


@router.get("/escrows/logis/{imp_uid}", tags=["escrows"], summary="에스크로 배송정보 조회", responses=_REFUSED)
@router.post(
    "/escrows/logis/{imp_uid}",
    tags=["escrows"],
    summary="에스크로 배송정보 등록",
    description="Toss Payments' core API has no delivery registration: a tosspayments payment answers a 400 "
    "(`code 1`) that says so; an unknown imp_uid answers 404. `escrow: true` on payments still reaches Toss.",
    responses=_REFUSED,
)
@router.put("/escrows/logis/{imp_uid}", tags=["escrows"], summary="에스크로 배송정보 수정", responses=_REFUSED)
async def escrow_logis(imp_uid: ImpUidPath, principal: PrincipalDep, services: ServicesDep) -> Response:
    await escrow.refuse(services, principal.merchant_id, imp_uid)


@router.get(
    "/tiers/{tier_code}",
    tags=["tiers"],
    summary="하위 상점(Tier) 정보 조회",
    description="Tollway has no sub-merchant tiers: every tier code answers 404.",
    responses=_NOT_FOUND,
)
async def tier(tier_code: Annotated[str, Path(max_length=16)], _: PrincipalDep) -> Response:
    tiers.find(tier_code)
