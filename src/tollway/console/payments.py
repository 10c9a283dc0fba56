"""Payments: search, CSV export, a payment's page with its timeline, and cancel (reviewed, then
sent through ``payments.cancel.cancel_payment``, the code behind ``POST /payments/cancel``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from tollway.console.web import ConsoleRoute, Ctx, form_of, form_text, page, redirect, render
from tollway.errors import InvalidRequest, NotFound
from tollway.merchants.staff import Can
from tollway.payments import search
from tollway.payments.cancel import CancelOrder, cancel_payment
from tollway.payments.ledger import cancellable_balance
from tollway.payments.queries import NOT_FOUND
from tollway.payments.timeline import payment_row, timeline
from tollway.payments.v1 import payment_to_v1

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

FILTER_FIELDS = (
    "imp_uid",
    "merchant_uid",
    "buyer_name",
    "buyer_email",
    "buyer_tel",
    "amount",
    "card_digits",
    "status",
    "pay_method",
    "channel",
    "mode",
    "date_from",
    "date_to",
)


def _filter_values(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "")[:200] for k in FILTER_FIELDS}


@router.get("/console/m/{user_code}/payments")
async def payments(request: Request, user_code: str) -> Response:
    ctx = await page(request, user_code)
    values = _filter_values(request)
    wanted = search.parse_filter(values)
    after = search.Cursor.decode(request.query_params.get("after"))
    async with ctx.services.sessions.statements() as conn:
        found = await search.search(conn, ctx.merchant_id, wanted, after)
    query = urlencode({k: v for k, v in values.items() if v})
    next_query = (
        urlencode({**{k: v for k, v in values.items() if v}, "after": found.next.encode()}) if found.next else None
    )
    return render(
        ctx,
        "payments.html",
        section="payments",
        values=values,
        rows=found.rows,
        query=query,
        next_query=next_query,
        pay_methods=search.PAY_METHODS,
        channels=search.CHANNELS,
    )


@router.get("/console/m/{user_code}/payments.csv")
async def payments_csv(request: Request, user_code: str) -> Response:
    ctx = await page(request, user_code)
    wanted = search.parse_filter(_filter_values(request))
    code = ctx.merchant.user_code if ctx.merchant else ""
    return StreamingResponse(
        search.export_csv(ctx.services.sessions, ctx.merchant_id, wanted),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="payments-{code}.csv"',
            "Cache-Control": "no-store",
        },
    )


async def _payment(ctx: Ctx, imp_uid: str) -> object:
    async with ctx.services.sessions.statements() as conn:
        row = await payment_row(conn, ctx.merchant_id, imp_uid)
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


def _safe_url(url: str | None) -> str | None:
    return url if url and url.startswith(("https://", "http://")) else None


@router.get("/console/m/{user_code}/payments/{imp_uid}")
async def payment(request: Request, user_code: str, imp_uid: str) -> Response:
    ctx = await page(request, user_code)
    async with ctx.services.sessions.statements() as conn:
        row = await payment_row(conn, ctx.merchant_id, imp_uid)
        if row is None:
            raise NotFound(NOT_FOUND)
        events = await timeline(conn, row)
    cancels = [e for e in events if e.kind == "cancel"]
    fields = {k: v for k, v in payment_to_v1(row, []).items() if k != "cancel_history"}
    return render(
        ctx,
        "payment.html",
        section="payments",
        p=row,
        fields=fields,
        events=events,
        cancels=cancels,
        balance=row.amount - row.cancel_amount,
        receipt_url=_safe_url(row.receipt_url),
    )


def _cancel_order(form: Mapping[str, Any], imp_uid: str, checksum: int | None) -> CancelOrder:
    def text(name: str, limit: int = 100) -> str | None:
        return form_text(form, name, limit) or None

    def number(name: str) -> int | None:
        value = text(name)
        if value is None:
            return None
        value = value.replace(",", "")
        if not value.isdigit():
            raise InvalidRequest("금액은 숫자로 입력해 주세요.", detail=f"{name} {value!r} is not a whole number")
        return int(value)

    return CancelOrder(
        imp_uid=imp_uid,
        merchant_uid=None,
        amount=number("amount"),
        tax_free=number("tax_free"),
        checksum=checksum,
        reason=text("reason", 200),
        refund_holder=text("refund_holder"),
        refund_bank=text("refund_bank", 8),
        refund_account=text("refund_account", 30),
        enable_webhook=True,  # V1 notifies cancels made in its console
    )


@router.post("/console/m/{user_code}/payments/{imp_uid}/cancel/review")
async def review_cancel(request: Request, user_code: str, imp_uid: str) -> Response:
    """The confirmation step: nothing is sent until the user confirms what this page shows."""
    ctx = await page(request, user_code, need=Can.CANCEL, post=True)
    row = await _payment(ctx, imp_uid)
    balance = row.amount - row.cancel_amount  # type: ignore[attr-defined]
    order = _cancel_order(await form_of(ctx), imp_uid, balance)
    amount = order.amount or balance
    if amount > balance or amount <= 0:
        raise InvalidRequest(
            "취소 요청 금액이 취소 가능 금액을 초과합니다.", detail=f"asked {amount}, cancellable {balance}"
        )
    return render(ctx, "cancel_review.html", section="payments", p=row, order=order, amount=amount, balance=balance)


@router.post("/console/m/{user_code}/payments/{imp_uid}/cancel")
async def cancel(request: Request, user_code: str, imp_uid: str) -> Response:
    ctx = await page(request, user_code, need=Can.CANCEL, post=True)
    await _payment(ctx, imp_uid)  # another merchant's payment: the same 404 as a missing one
    form = await form_of(ctx)
    checksum = form.get("checksum")
    if not isinstance(checksum, str) or not checksum.isdigit():
        raise InvalidRequest("취소 내용을 다시 확인해 주세요.", detail="the reviewed balance (checksum) is missing")
    order = _cancel_order(form, imp_uid, int(checksum))
    services = ctx.services
    try:
        cancelled = await cancel_payment(services, ctx.merchant_id, order)
    except Exception as exc:
        async with services.sessions() as session:
            ctx.audit(
                session, "payment.cancel", target=imp_uid, ok=False, amount=order.amount, error=type(exc).__name__
            )
            await session.commit()
        raise
    async with services.sessions() as session:
        ctx.audit(
            session,
            "payment.cancel",
            target=imp_uid,
            amount=order.amount or int(checksum),
            tax_free=order.tax_free or 0,
            balance=cancellable_balance(cancelled),
        )
        await session.commit()
    return redirect(ctx, f"{ctx.home}/payments/{quote(cancelled.imp_uid, safe='')}", "cancelled")
