from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from tollway.api.deps import PrincipalDep
from tollway.api.envelope import Envelope, ok
from tollway.api.schemas import CodeV1
from tollway.codes import BANKS, CARDS, as_list
from tollway.errors import NotFound

router = APIRouter(tags=["codes"])
_CARD_LIST = as_list(CARDS)
_BANK_LIST = as_list(BANKS)


@router.get("/cards", summary="카드사 코드 전체 조회", responses={200: {"model": Envelope[list[CodeV1]]}})
async def cards(_: PrincipalDep) -> Response:
    return ok(_CARD_LIST)


@router.get("/cards/{card_standard_code}", summary="카드사 코드 조회", responses={200: {"model": Envelope[CodeV1]}})
async def card(card_standard_code: str, _: PrincipalDep) -> Response:
    if card_standard_code not in CARDS:
        raise NotFound("코드에 해당되는 카드사정보를 찾을 수 없습니다.")
    return ok({"code": card_standard_code, "name": CARDS[card_standard_code]})


@router.get("/banks", summary="은행 코드 전체 조회", responses={200: {"model": Envelope[list[CodeV1]]}})
async def banks(_: PrincipalDep) -> Response:
    return ok(_BANK_LIST)


@router.get("/banks/{bank_standard_code}", summary="은행 코드 조회", responses={200: {"model": Envelope[CodeV1]}})
async def bank(bank_standard_code: str, _: PrincipalDep) -> Response:
    if bank_standard_code not in BANKS:
        raise NotFound("코드에 해당되는 은행정보를 찾을 수 없습니다.")
    return ok({"code": bank_standard_code, "name": BANKS[bank_standard_code]})
