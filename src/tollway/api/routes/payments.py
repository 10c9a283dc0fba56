from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tollway.api.body import body_docs, read_body
from tollway.api.deps import PrincipalDep, ReadSessionDep, ServicesDep, SessionDep
from tollway.api.envelope import Envelope, ok
from tollway.api.fields import (
    IMP_UID_MAX,
    MAX_UNIX,
    MERCHANT_UID_MAX,
    ImpUidPath,
    LimitQuery,
    MerchantUidPath,
    PageQuery,
    StatusPath,
    array_query,
    check_ids,
)
from tollway.api.query import query_list
from tollway.api.schemas import BalanceV1, CancelBody, PrepareBody
from tollway.clock import from_unix
from tollway.db.models import Payment, PgChannel
from tollway.errors import BusinessError, NotFound
from tollway.payments import prepare as prepared
from tollway.payments import queries
from tollway.payments.cancel import CancelOrder, cancel_payment
from tollway.payments.pgsync import apply_truth, cancels_of
from tollway.payments.v1 import PagedPaymentsV1, PaymentV1, PrepareV1, payment_to_v1, prepare_to_v1
from tollway.pg.base import PgError
from tollway.pg.toss.connector import TossConnector

router = APIRouter(tags=["payments"])

Sorting = Annotated[
    str | None, Query(max_length=16, description="-started (default), started, -paid, paid, -updated, updated")
]
PageQ = PageQuery
LimitQ = LimitQuery
_PAGED: dict[int | str, dict[str, Any]] = {
    200: {"model": Envelope[PagedPaymentsV1]},
    400: {"model": Envelope[None]},
    404: {"model": Envelope[None]},
}
_ONE: dict[int | str, dict[str, Any]] = {200: {"model": Envelope[PaymentV1]}, 404: {"model": Envelope[None]}}


@router.get("/payments/status/{payment_status}", summary="상태별 결제내역 조회", responses=_PAGED)
async def by_status(
    payment_status: StatusPath,
    principal: PrincipalDep,
    session: ReadSessionDep,
    services: ServicesDep,
    page: PageQ = None,
    limit: LimitQ = None,
    since: Annotated[
        int | None, Query(alias="from", ge=0, le=MAX_UNIX, description="UNIX s, inclusive; default to - 90 days")
    ] = None,
    until: Annotated[
        int | None, Query(alias="to", ge=0, le=MAX_UNIX, description="UNIX s, inclusive; default now")
    ] = None,
    sorting: Sorting = None,
) -> Response:
    status = queries.parse_status(payment_status, allow_all=True)
    result = await queries.by_status(
        session,
        principal.merchant_id,
        status,
        queries.parse_page(page, limit),
        queries.parse_sorting(sorting),
        since=from_unix(since) if since is not None else None,
        until=from_unix(until) if until is not None else None,
        now=services.clock.now(),
    )
    return ok(result)


async def _find(
    principal: PrincipalDep, session: ReadSessionDep, merchant_uid: str, status: str | None, sorting: str | None
) -> Response:
    return ok(
        await queries.find_one(
            session,
            principal.merchant_id,
            merchant_uid,
            queries.parse_status(status),
            queries.parse_sorting(sorting),
        )
    )


@router.get("/payments/find/{merchant_uid}", summary="merchant_uid로 결제내역 조회", responses=_ONE)
async def find(
    merchant_uid: MerchantUidPath, principal: PrincipalDep, session: ReadSessionDep, sorting: Sorting = None
) -> Response:
    return await _find(principal, session, merchant_uid, None, sorting)


@router.get(
    "/payments/find/{merchant_uid}/{payment_status}",
    summary="merchant_uid와 상태로 결제내역 조회",
    responses=_ONE,
)
async def find_with_status(
    merchant_uid: MerchantUidPath,
    payment_status: StatusPath,
    principal: PrincipalDep,
    session: ReadSessionDep,
    sorting: Sorting = None,
) -> Response:
    return await _find(principal, session, merchant_uid, payment_status, sorting)


async def _find_all(
    principal: PrincipalDep,
    session: ReadSessionDep,
    merchant_uid: MerchantUidPath,
    status: str | None,
    page: int | None,
    limit: int | None,
    sorting: str | None,
) -> Response:
    result = await queries.find_all(
        session,
        principal.merchant_id,
        merchant_uid,
        queries.parse_status(status),
        queries.parse_page(page, limit),
        queries.parse_sorting(sorting),
    )
    return ok(result)


@router.get("/payments/findAll/{merchant_uid}", summary="merchant_uid로 결제내역 전체 조회", responses=_PAGED)
async def find_all(
    merchant_uid: MerchantUidPath,
    principal: PrincipalDep,
    session: ReadSessionDep,
    page: PageQ = None,
    limit: LimitQ = None,
    sorting: Sorting = None,
) -> Response:
    return await _find_all(principal, session, merchant_uid, None, page, limit, sorting)


@router.get(
    "/payments/findAll/{merchant_uid}/{payment_status}",
    summary="merchant_uid와 상태로 결제내역 전체 조회",
    responses=_PAGED,
)
async def find_all_with_status(
    merchant_uid: MerchantUidPath,
    payment_status: StatusPath,
    principal: PrincipalDep,
    session: ReadSessionDep,
    page: PageQ = None,
    limit: LimitQ = None,
    sorting: Sorting = None,
) -> Response:
    return await _find_all(principal, session, merchant_uid, payment_status, page, limit, sorting)


@router.post(
    "/payments/prepare",
    summary="결제금액 사전등록",
    description="A window payment for this merchant_uid with another amount is refused. "
    "Preparing a merchant_uid twice is refused (code 1); change it with PUT.",
    responses={200: {"model": Envelope[PrepareV1]}, 400: {"model": Envelope[None]}},
    openapi_extra=body_docs(PrepareBody),
)
async def prepare(request: Request, principal: PrincipalDep, session: SessionDep, services: ServicesDep) -> Response:
    body = await read_body(request, PrepareBody)
    row = await prepared.prepare(
        session, services.clock, principal.merchant_id, body.merchant_uid, body.amount, body.currency
    )
    await session.commit()
    return ok(prepare_to_v1(row))


@router.put(
    "/payments/prepare",
    summary="사전등록된 결제금액 수정",
    responses={200: {"model": Envelope[PrepareV1]}, 404: {"model": Envelope[None]}},
    openapi_extra=body_docs(PrepareBody),
)
async def change_prepare(
    request: Request, principal: PrincipalDep, session: SessionDep, services: ServicesDep
) -> Response:
    body = await read_body(request, PrepareBody)
    row = await prepared.change_prepared(
        session, services.clock, principal.merchant_id, body.merchant_uid, body.amount, body.currency
    )
    await session.commit()
    return ok(prepare_to_v1(row))


@router.get(
    "/payments/prepare/{merchant_uid}",
    summary="사전등록된 결제금액 조회",
    responses={200: {"model": Envelope[PrepareV1]}, 404: {"model": Envelope[None]}},
)
async def get_prepare(merchant_uid: MerchantUidPath, principal: PrincipalDep, session: ReadSessionDep) -> Response:
    return ok(prepare_to_v1(await prepared.get_prepared(session, principal.merchant_id, merchant_uid)))


@router.get(
    "/payments",
    summary="여러 개의 결제내역 조회",
    description="`imp_uid[]` and/or `merchant_uid[]` (also `x[0]=` and repeated `x=`), at most 100. "
    "HTTP 207 when only some were found; 404 when none.",
    responses={
        200: {"model": Envelope[list[PaymentV1]]},
        207: {"model": Envelope[list[PaymentV1]]},
        400: {"model": Envelope[None]},
        404: {"model": Envelope[None]},
    },
    openapi_extra={"parameters": [array_query("imp_uid", IMP_UID_MAX), array_query("merchant_uid", MERCHANT_UID_MAX)]},
)
async def many(request: Request, principal: PrincipalDep, session: ReadSessionDep) -> Response:
    params = request.query_params
    result = await queries.lookup_many(
        session,
        principal.merchant_id,
        check_ids("imp_uid", query_list(params, "imp_uid"), IMP_UID_MAX),
        check_ids("merchant_uid", query_list(params, "merchant_uid"), MERCHANT_UID_MAX),
    )
    if not result.found:
        raise NotFound(queries.NOT_FOUND)
    return ok(result.found, status=207 if result.missing else 200)


@router.get("/payments/{imp_uid}", summary="결제내역 단건조회", responses=_ONE)
async def one(
    imp_uid: ImpUidPath,
    principal: PrincipalDep,
    services: ServicesDep,
    include_sandbox: Annotated[bool, Query(description="include test-channel payments")] = False,
) -> Response:
    # The hottest lookup: on the driver's connection, not a session from a dependency (docs/benchmarks.md).
    return ok(await queries.lookup_one(services.db, principal.merchant_id, imp_uid, include_sandbox=include_sandbox))


@router.get(
    "/payments/{imp_uid}/balance",
    summary="결제수단별 금액 상세 조회",
    responses={200: {"model": Envelope[BalanceV1]}, 404: {"model": Envelope[None]}},
)
async def balance(imp_uid: ImpUidPath, principal: PrincipalDep, session: ReadSessionDep) -> Response:
    payment = await queries.get_payment(session, principal.merchant_id, imp_uid)
    cancels = (await queries.load_cancels(session, [payment])).get(payment.id, [])
    return ok(queries.balance_to_v1(payment, cancels))


@router.post(
    "/payments/cancel",
    summary="결제취소 (전액 또는 부분)",
    description="By `imp_uid` (wins) or `merchant_uid`. `amount` missing or 0 cancels everything left; "
    "`checksum` is the cancellable balance you expect before this cancel (a mismatch cancels nothing). "
    "Refusals answer HTTP 200 with `code != 0`, as V1 does.",
    responses={200: {"model": Envelope[PaymentV1]}, 400: {"model": Envelope[None]}},
    openapi_extra=body_docs(CancelBody),
)
async def cancel(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    body = await read_body(request, CancelBody)
    payment = await cancel_payment(
        services,
        principal.merchant_id,
        CancelOrder(
            imp_uid=body.imp_uid or None,
            merchant_uid=body.merchant_uid or None,
            amount=body.amount,
            tax_free=body.tax_free,
            checksum=body.checksum,
            reason=body.reason,
            refund_holder=body.refund_holder,
            refund_bank=body.refund_bank,
            refund_account=body.refund_account,
            enable_webhook=bool(body.enable_webhook),
        ),
    )
    async with services.sessions() as session:
        history = await cancels_of(session, payment)
    return ok(payment_to_v1(payment, history))


@router.post(
    "/tollway/sandbox/payments/{imp_uid}/deposit",
    tags=["tollway"],
    summary="Sandbox only: the buyer deposits into a payment's virtual account",
    description="Simulates the deposit into a virtual account issued by the sandbox PG (like Toss's developer "
    "center 입금처리): the sandbox marks it paid, then Tollway reads the payment back and records it as "
    "`paid` — the same path a live deposit takes through Toss's webhook. Refused for live channels.",
    responses={200: {"model": Envelope[PaymentV1]}},
)
async def sandbox_deposit(imp_uid: ImpUidPath, principal: PrincipalDep, services: ServicesDep) -> Response:
    async with services.sessions() as session:
        payment = await queries.get_payment(session, principal.merchant_id, imp_uid)
    if not payment.sandbox or payment.channel_id is None:
        raise BusinessError("입금 시뮬레이션은 샌드박스 결제건에만 쓸 수 있습니다. (sandbox payments only)")
    if payment.status != "ready" or payment.vbank_num is None or payment.pg_tid is None:
        raise BusinessError(
            f"입금을 기다리는 가상계좌 결제건이 아닙니다. (payment {imp_uid} is {payment.status}, "
            "not a virtual account waiting for its deposit)"
        )
    async with services.sessions() as session:
        channel = await session.get(PgChannel, payment.channel_id)
    assert channel is not None
    connector = await services.pg.for_channel(channel)
    if not isinstance(connector, TossConnector):  # pragma: no cover - every sandbox channel is Toss's
        raise BusinessError("this channel's PG cannot simulate deposits")
    try:
        truth = await connector.sandbox_deposit(payment.pg_tid)
    except PgError as exc:
        raise BusinessError(f"입금 시뮬레이션에 실패했습니다. [{exc.code}] {exc.message}") from None
    await apply_truth(services, payment.id, truth, services.clock.now())
    async with services.sessions() as session:
        done = await session.get(Payment, payment.id)
        assert done is not None
        return ok(payment_to_v1(done, await cancels_of(session, done)))
