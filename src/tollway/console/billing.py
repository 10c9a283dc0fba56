"""Billing customers (masked cards, their payments, deleting a key) and scheduled charges (by status
and date, a day-by-day view, reschedule, retry, revoke), through ``billing.customers`` and
``billing.schedules``: the services behind ``/subscribe/…``."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from tollway.billing import customers, schedules
from tollway.billing.schedule_status import SCHEDULED
from tollway.clock import KST, kst_day, kst_day_start, to_unix
from tollway.console.web import ConsoleRoute, form_of, page, redirect, render
from tollway.errors import InvalidRequest
from tollway.merchants.staff import Can
from tollway.payments.queries import Page

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None


@router.get("/console/m/{user_code}/billing")
async def billing(request: Request, user_code: str) -> Response:
    ctx = await page(request, user_code)
    rows = await customers.page_of(ctx.services, ctx.merchant_id, before_id=_int(request.query_params.get("before")))
    return render(ctx, "billing.html", section="billing", rows=rows, more=len(rows) == 50)


@router.get("/console/m/{user_code}/billing/{customer_uid}")
async def customer(request: Request, user_code: str, customer_uid: str) -> Response:
    ctx = await page(request, user_code)
    found = await customers.get_customer(ctx.services, ctx.merchant_id, customer_uid)
    paid = await customers.payments_of(ctx.services, ctx.merchant_id, customer_uid, Page(1, 50))
    now = ctx.services.clock.now()
    planned = await schedules.listing(
        ctx.services, ctx.merchant_id, since=to_unix(now - timedelta(days=31)), until=to_unix(now + timedelta(days=60)),
        status=None, page=1, limit=100, oldest_first=True, customer_uid=customer_uid,
    )  # fmt: skip
    return render(ctx, "customer.html", section="billing", c=found, payments=paid["list"], schedules=planned["list"])


@router.post("/console/m/{user_code}/billing/{customer_uid}/delete")
async def delete_customer(request: Request, user_code: str, customer_uid: str) -> Response:
    ctx = await page(request, user_code, need=Can.BILLING, post=True)
    form = await form_of(ctx)
    force = form.get("force") == "1"
    await customers.delete(ctx.services, ctx.merchant_id, customer_uid, force=force)
    async with ctx.services.sessions() as session:
        ctx.audit(session, "billing.delete_key", target=customer_uid, revoked_schedules=force)
        await session.commit()
    return redirect(ctx, f"{ctx.home}/billing", "deleted")


def _day(value: str | None, default: datetime) -> datetime:
    if not value:
        return default
    try:
        return kst_day_start(value[:10])
    except ValueError:
        raise InvalidRequest("날짜는 YYYY-MM-DD 형식으로 입력해 주세요.", detail=f"bad date {value!r}") from None


@router.get("/console/m/{user_code}/schedules")
async def schedule_list(request: Request, user_code: str) -> Response:
    ctx = await page(request, user_code)
    today = kst_day_start(kst_day(ctx.services.clock.now()))
    since = _day(request.query_params.get("date_from"), today - timedelta(days=7))
    until = _day(request.query_params.get("date_to"), today + timedelta(days=30)) + timedelta(days=1)
    status = schedules.parse_status(request.query_params.get("status"))
    found = await schedules.listing(
        ctx.services, ctx.merchant_id, since=to_unix(since), until=to_unix(until), status=status,
        page=1, limit=500, oldest_first=True,
    )  # fmt: skip
    days = [
        (day, list(items))
        for day, items in groupby(found["list"], key=lambda s: kst_day(datetime.fromtimestamp(s["schedule_at"], KST)))
    ]
    return render(
        ctx,
        "schedules.html",
        section="schedules",
        days=days,
        total=found["total"],
        status_filter=status or "",
        date_from=kst_day(since),
        date_to=kst_day(until - timedelta(days=1)),
        statuses=schedules.V1_STATUSES,
    )


@router.post("/console/m/{user_code}/schedules/{merchant_uid}/{action}")
async def schedule_action(request: Request, user_code: str, merchant_uid: str, action: str) -> Response:
    ctx = await page(request, user_code, need=Can.BILLING, post=True)
    form = await form_of(ctx)
    services = ctx.services
    detail: dict[str, Any]
    if action == "revoke":
        await schedules.unschedule(services, ctx.merchant_id, None, [merchant_uid])
        done, detail = "revoked", {}
    elif action == "retry":
        payment = await schedules.retry(services, ctx.merchant_id, merchant_uid)
        done, detail = "retried", {"imp_uid": payment.imp_uid, "status": payment.status}
    elif action == "reschedule":
        raw = form.get("schedule_at")
        try:
            at = datetime.strptime(str(raw or ""), "%Y-%m-%dT%H:%M").replace(tzinfo=KST)
        except ValueError:
            raise InvalidRequest("예약 시각을 다시 입력해 주세요.", detail=f"schedule_at {raw!r}") from None
        current = await schedules.get(services, ctx.merchant_id, merchant_uid)
        rearm = current.schedule_status != SCHEDULED
        await schedules.change_time(services, ctx.merchant_id, merchant_uid, to_unix(at), rearm=rearm)
        done, detail = "rescheduled", {"schedule_at": at.isoformat()}
    else:
        raise InvalidRequest("알 수 없는 요청입니다.", detail=f"no schedule action {action!r}")
    async with services.sessions() as session:
        ctx.audit(session, f"schedule.{action}", target=merchant_uid, **detail)
        await session.commit()
    return redirect(ctx, f"{ctx.home}/schedules", done)
