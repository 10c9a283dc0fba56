"""``/subscribe/customers/*``, ``/subscribe/payments/again`` and scheduled payments."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tollway import v1texts
from tollway.api.body import body_docs, read_body
from tollway.api.card_input import card_data
from tollway.api.charge_input import charge_options, check_terms, payment_request
from tollway.api.deps import PrincipalDep, ServicesDep
from tollway.api.envelope import Envelope, ok
from tollway.api.fields import (
    CUSTOMER_UID_MAX,
    MAX_UNIX,
    NO_CONTROLS,
    CustomerUidPath,
    LimitQuery,
    MerchantUidPath,
    PageQuery,
    UnixQuery,
    array_query,
    check_ids,
)
from tollway.api.query import query_list
from tollway.api.schemas import (
    AgainBody,
    CardFields,
    CustomerBody,
    ScheduleAtBody,
    ScheduleBody,
    TestClockBody,
    UnscheduleBody,
)
from tollway.billing import customers, schedules, testclock
from tollway.errors import NotFound
from tollway.payments.pgsync import cancels_of
from tollway.payments.queries import parse_page
from tollway.payments.v1 import PagedPaymentsV1, PaymentV1, payment_to_v1
from tollway.services import Services

router = APIRouter(tags=["subscribe"])

_CUSTOMER: dict[int | str, dict[str, Any]] = {
    200: {"model": Envelope[customers.CustomerV1]},
    404: {"model": Envelope[None]},
}
_SCHEDULE: dict[int | str, dict[str, Any]] = {
    200: {"model": Envelope[schedules.ScheduleV1]},
    404: {"model": Envelope[None]},
}
_SCHEDULES: dict[int | str, dict[str, Any]] = {200: {"model": Envelope[schedules.PagedSchedulesV1]}}


def registration(customer_uid: str, body: CardFields, **extra: Any) -> customers.Registration:
    if not body.card_number or not body.expiry:
        raise v1texts.invalid("card_number" if not body.card_number else "expiry", "required", v1texts.MISSING)
    return customers.Registration(
        customer_uid=customer_uid, card=card_data(body.card_number, body.expiry, body.birth, body.pwd_2digit), **extra
    )


async def payment_v1(services: Services, payment: Any) -> PaymentV1:
    if not payment.cancel_amount:  # nothing cancelled: no history to read
        return payment_to_v1(payment)
    async with services.sessions() as session:
        return payment_to_v1(payment, await cancels_of(session, payment))


# -- customers -------------------------------------------------------------------------------------


@router.get(
    "/subscribe/customers",
    summary="여러 개의 빌링키 정보 조회",
    description="`customer_uid[]` (also `customer_uid[0]=` and repeated), at most 100. 207 when only some are found.",
    responses={
        200: {"model": Envelope[list[customers.CustomerV1]]},
        207: {"model": Envelope[list[customers.CustomerV1]]},
        400: {"model": Envelope[None]},
        404: {"model": Envelope[None]},
    },
    openapi_extra={"parameters": [array_query("customer_uid", CUSTOMER_UID_MAX)]},
)
async def many_customers(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    uids = query_list(request.query_params, "customer_uid")
    if not uids:
        raise v1texts.invalid("customer_uid", "give customer_uid[] at least once", v1texts.MISSING)
    if len(uids) > 100:
        raise v1texts.invalid("customer_uid", "at most 100 per call")
    check_ids("customer_uid", uids, CUSTOMER_UID_MAX)
    found, partial = await customers.many(services, principal.merchant_id, uids)
    if not found:
        raise NotFound("요청하신 customer_uid로 등록된 정보를 찾을 수 없습니다.")
    return ok(found, status=207 if partial else 200)


@router.post(
    "/subscribe/customers/{customer_uid}",
    summary="빌링키 발급 (카드정보로)",
    description="Issues a billing key at the channel's PG and keeps it on the gateway under `customer_uid`. "
    "Registering the same customer_uid again replaces the card. The key itself is never returned.",
    responses=_CUSTOMER,
    openapi_extra=body_docs(CustomerBody),
)
async def register_customer(
    customer_uid: CustomerUidPath, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    body = await read_body(request, CustomerBody)
    fields = customers.CustomerFields(
        body.customer_name, body.customer_tel, body.customer_email, body.customer_addr, body.customer_postcode
    )
    registered = await customers.register(
        services,
        principal.merchant_id,
        registration(customer_uid, body, customer_id=body.customer_id, pg=body.pg, fields=fields),
    )
    return ok(customers.customer_to_v1(registered))


@router.get("/subscribe/customers/{customer_uid}", summary="빌링키 정보 조회", responses=_CUSTOMER)
async def get_customer(customer_uid: CustomerUidPath, principal: PrincipalDep, services: ServicesDep) -> Response:
    return ok(customers.customer_to_v1(await customers.get_customer(services, principal.merchant_id, customer_uid)))


@router.delete(
    "/subscribe/customers/{customer_uid}",
    summary="빌링키 삭제",
    description="Deletes the key at the PG, then here. Refused while schedules are pending unless `force=true`, "
    "which revokes them.",
    responses=_CUSTOMER,
)
async def delete_customer(
    customer_uid: CustomerUidPath,
    principal: PrincipalDep,
    services: ServicesDep,
    force: Annotated[bool, Query(description="revoke pending schedules too")] = False,
    reason: Annotated[str | None, Query()] = None,
) -> Response:
    del reason  # accepted for V1 clients; Toss takes no reason
    deleted = await customers.delete(services, principal.merchant_id, customer_uid, force=force)
    return ok(customers.customer_to_v1(deleted))


@router.get(
    "/subscribe/customers/{customer_uid}/payments",
    summary="빌링키로 결제된 내역 조회",
    responses={200: {"model": Envelope[PagedPaymentsV1]}, 404: {"model": Envelope[None]}},
)
async def customer_payments(
    customer_uid: CustomerUidPath, principal: PrincipalDep, services: ServicesDep, page: PageQuery = None
) -> Response:
    return ok(await customers.payments_of(services, principal.merchant_id, customer_uid, parse_page(page, 20)))


# -- again -----------------------------------------------------------------------------------------


@router.post(
    "/subscribe/payments/again",
    summary="저장된 빌링키로 재결제",
    description='A decline answers `code 0` with `status: "failed"`; an unknown customer_uid answers `code 1` '
    '("등록되지 않은 구매자입니다.").',
    responses={200: {"model": Envelope[PaymentV1]}},
    openapi_extra=body_docs(AgainBody),
)
async def again(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    body = await read_body(request, AgainBody)
    order = customers.AgainOrder(
        customer_uid=body.customer_uid,
        request=payment_request(body, request, customer_uid=body.customer_uid, usage="payment"),
        options=charge_options(body, request),
    )
    payment = await customers.charge(services, principal.merchant_id, order)  # refusals: code -1
    return ok(await payment_v1(services, payment))


# -- schedules -------------------------------------------------------------------------------------


@router.post(
    "/subscribe/payments/schedule",
    summary="결제예약",
    description="Registers every schedule or none. Without a stored key for `customer_uid`, send the card "
    "fields and it is registered first. JSON bodies only (schedules is an array of objects).",
    responses={200: {"model": Envelope[list[schedules.ScheduleV1]]}},
    openapi_extra=body_docs(ScheduleBody, form=False),
)
async def schedule(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    body = await read_body(request, ScheduleBody)
    entries = []
    for item in body.schedules:
        tax_free, quota = check_terms(
            item.amount, item.tax_free, item.currency, item.card_quota, of=f"schedule {item.merchant_uid}"
        )
        entries.append(
            schedules.ScheduleEntry(
                merchant_uid=item.merchant_uid,
                schedule_at=item.schedule_at,
                amount=item.amount,
                name=item.name,
                tax_free=tax_free,
                card_quota=quota,
                interest_free=bool(item.interest_free_by_merchant),
                buyer_name=item.buyer_name,
                buyer_email=item.buyer_email,
                buyer_tel=item.buyer_tel,
                buyer_addr=item.buyer_addr,
                buyer_postcode=item.buyer_postcode,
                custom_data=item.custom_data,
                notice_urls=item.notice_urls(),
            )
        )
    card = registration(body.customer_uid, body, customer_id=body.customer_id, pg=body.pg) if body.card_number else None
    created = await schedules.create(
        services,
        principal.merchant_id,
        body.customer_uid,
        entries,
        registration=card,
        checking_amount=body.checking_amount or 0,
    )
    return ok(created)


@router.post(
    "/subscribe/payments/unschedule",
    summary="결제예약 취소",
    description="`merchant_uid` may be a string or an array; without it, every pending schedule of the customer.",
    responses={200: {"model": Envelope[list[schedules.ScheduleV1]]}},
    openapi_extra=body_docs(UnscheduleBody),
)
async def unschedule(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    body = await read_body(request, UnscheduleBody)
    revoked = await schedules.unschedule(services, principal.merchant_id, body.customer_uid, body.merchant_uids())
    return ok(revoked)


def _range(since: int | None, until: int | None, alt_since: int | None, alt_until: int | None) -> tuple[int, int]:
    start = since if since is not None else alt_since
    end = until if until is not None else alt_until
    if start is None or end is None:
        missing = "schedule_from" if start is None else "schedule_to"
        raise v1texts.invalid(missing, "schedule_from and schedule_to (or from and to), UNIX s", v1texts.MISSING)
    return start, end


FromQ = Annotated[int | None, Query(alias="from", ge=0, le=MAX_UNIX)]
ToQ = Annotated[int | None, Query(alias="to", ge=0, le=MAX_UNIX)]


@router.get(
    "/subscribe/payments/schedule",
    summary="예약결제 목록 조회",
    description="`schedule_from` ≤ schedule_at < `schedule_to` (also `from`/`to`), at most 3 months; paged.",
    responses=_SCHEDULES,
)
async def list_schedules(
    principal: PrincipalDep,
    services: ServicesDep,
    schedule_from: UnixQuery = None,
    schedule_to: UnixQuery = None,
    since: FromQ = None,
    until: ToQ = None,
    schedule_status: Annotated[str | None, Query(max_length=16)] = None,
    page: PageQuery = None,
    limit: LimitQuery = None,
    sorting: Annotated[str | None, Query(max_length=16)] = None,
    customer_uid: Annotated[str | None, Query(max_length=CUSTOMER_UID_MAX, pattern=NO_CONTROLS)] = None,
) -> Response:
    start, end = _range(schedule_from, schedule_to, since, until)
    return ok(
        await schedules.listing(
            services,
            principal.merchant_id,
            since=start,
            until=end,
            status=schedules.parse_status(schedule_status),
            page=page or 1,
            limit=limit or 20,
            oldest_first=sorting == "scheduled",
            customer_uid=customer_uid,
        )
    )


@router.get(
    "/subscribe/payments/schedule/customers/{customer_uid}",
    summary="customer_uid별 예약결제 목록",
    description="`from`/`to` (also `schedule_from`/`schedule_to`), `schedule-status` (also `schedule_status`).",
    responses=_SCHEDULES,
)
@router.get(
    "/subscribe/customers/{customer_uid}/schedules",
    summary="customer_uid별 예약결제 목록 (≡ /subscribe/payments/schedule/customers/{customer_uid})",
    responses=_SCHEDULES,
)
async def customer_schedules(
    request: Request,
    customer_uid: CustomerUidPath,
    principal: PrincipalDep,
    services: ServicesDep,
    page: PageQuery = None,
    limit: LimitQuery = None,
) -> Response:
    q = request.query_params

    def number(*names: str) -> int | None:
        for name in names:
            value = q.get(name)
            if value not in (None, ""):
                if not value.isdigit() or len(value) > 12 or int(value) > MAX_UNIX:
                    raise v1texts.invalid(name, "UNIX seconds", v1texts.INTEGER)
                return int(value)
        return None

    start, end = _range(number("from"), number("to"), number("schedule_from"), number("schedule_to"))
    status = q.get("schedule-status") or q.get("schedule_status")
    return ok(
        await schedules.listing(
            services,
            principal.merchant_id,
            since=start,
            until=end,
            status=schedules.parse_status(status),
            page=page or 1,
            limit=limit or 20,
            customer_uid=customer_uid,
        )
    )


@router.get("/subscribe/payments/schedule/{merchant_uid}", summary="예약결제 단건 조회", responses=_SCHEDULE)
async def get_schedule(merchant_uid: MerchantUidPath, principal: PrincipalDep, services: ServicesDep) -> Response:
    return ok(schedules.schedule_to_v1(await schedules.get(services, principal.merchant_id, merchant_uid)))


@router.put(
    "/subscribe/payments/schedule/{merchant_uid}",
    summary="예약 시각 변경",
    responses=_SCHEDULE,
    openapi_extra=body_docs(ScheduleAtBody),
)
async def change_schedule(
    merchant_uid: MerchantUidPath, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    body = await read_body(request, ScheduleAtBody)
    changed = await schedules.change_time(services, principal.merchant_id, merchant_uid, body.schedule_at, rearm=False)
    return ok(changed)


@router.post(
    "/subscribe/payments/schedule/{merchant_uid}/reschedule",
    summary="실패 또는 취소된 예약결제 재예약",
    responses=_SCHEDULE,
    openapi_extra=body_docs(ScheduleAtBody),
)
async def reschedule(
    merchant_uid: MerchantUidPath, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    body = await read_body(request, ScheduleAtBody)
    changed = await schedules.change_time(services, principal.merchant_id, merchant_uid, body.schedule_at, rearm=True)
    return ok(changed)


@router.post(
    "/subscribe/payments/schedule/{merchant_uid}/retry",
    summary="실패 또는 취소된 예약결제 즉시 재시도",
    responses={200: {"model": Envelope[PaymentV1]}},
)
async def retry_schedule(merchant_uid: MerchantUidPath, principal: PrincipalDep, services: ServicesDep) -> Response:
    payment = await schedules.retry(services, principal.merchant_id, merchant_uid)
    return ok(await payment_v1(services, payment))


# -- time travel (Tollway's own, sandbox channels only) ---------------------------------------------


@router.post(
    "/tollway/test-clock/advance",
    tags=["tollway"],
    summary="Move this sandbox merchant's clock forward (schedules become due earlier)",
    description="Only for merchants with a sandbox channel, and only sandbox customers' schedules move. "
    "Live channels never move.",
    openapi_extra=body_docs(TestClockBody),
)
async def advance_test_clock(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    body = await read_body(request, TestClockBody)
    offset, moved = await testclock.advance(services, principal.merchant_id, body.seconds)
    return ok({"offset_seconds": offset, "schedules_moved": moved})
