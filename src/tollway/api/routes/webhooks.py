"""Webhooks: Toss's in (hints, re-read from the PG), and the merchant's notification log and replay."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import or_, select
from starlette.responses import Response

from tollway.api.body import UNREADABLE, read_raw
from tollway.api.deps import PrincipalDep, ServicesDep
from tollway.api.envelope import ok
from tollway.api.fields import NO_CONTROLS
from tollway.clock import to_unix
from tollway.db.models import Payment, PgChannel, WebhookAttempt, WebhookNotification
from tollway.errors import InvalidRequest, NotFound
from tollway.payments.pgsync import apply_truth
from tollway.pg.base import PgError, PgPayment
from tollway.webhooks import delivery, log

router = APIRouter()


@router.post(
    "/webhooks/toss/{channel_key}",
    tags=["tollway"],
    summary="Toss Payments webhooks in (register this URL in Toss's developer center)",
    description="A hint only: Tollway reads the payment back from Toss and applies what Toss says through "
    "the state machine, so a forged or stale webhook changes nothing.",
)
async def toss_webhook(
    channel_key: Annotated[str, Path(max_length=64, pattern=NO_CONTROLS)], request: Request, services: ServicesDep
) -> Response:
    raw = await read_raw(request)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidRequest(UNREADABLE, detail="the body is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest(UNREADABLE, detail="the body is not a JSON object")
    inner = body.get("data")
    data: dict[str, Any] = inner if isinstance(inner, dict) else body
    payment_key, order_id = data.get("paymentKey"), data.get("orderId")
    async with services.sessions() as session:
        channel = await session.scalar(select(PgChannel).where(PgChannel.channel_key == channel_key))
        if channel is None:
            raise NotFound("요청하신 채널을 찾을 수 없습니다.", detail="no such channel")
        conditions = []
        if isinstance(payment_key, str):
            conditions.append(Payment.pg_tid == payment_key)
        if isinstance(order_id, str):
            conditions.append(Payment.imp_uid == order_id)
        payment = (
            await session.scalar(select(Payment).where(Payment.channel_id == channel.id, or_(*conditions)).limit(1))
            if conditions
            else None
        )
    if payment is None:
        return ok({"applied": False, "reason": "no such payment"})
    connector = await services.pg.for_channel(channel)
    try:
        truth: PgPayment = (
            await connector.get_payment(payment.pg_tid)
            if payment.pg_tid
            else await connector.get_payment_by_order(payment.imp_uid)
        )
    except PgError as exc:
        return ok({"applied": False, "reason": f"the PG could not confirm it ({exc.code})"})
    now = services.clock.now()
    changed, status = await apply_truth(services, payment.id, truth, now)
    return ok({"applied": changed, "status": status})


def _notification_v1(row: WebhookNotification, attempts: list[WebhookAttempt]) -> dict[str, Any]:
    return {
        "webhook_id": row.webhook_id,
        "imp_uid": row.imp_uid,
        "merchant_uid": row.merchant_uid,
        "status": row.status,
        "url": row.url,
        "state": row.state,
        "attempts": [
            {
                "attempted_at": to_unix(a.attempted_at),
                "status_code": a.status_code,
                "latency_ms": a.latency_ms,
                "excerpt": a.excerpt,
                "error": a.error,
            }
            for a in attempts
        ],
        "created_at": to_unix(row.created_at),
        "delivered_at": to_unix(row.delivered_at),
        "next_attempt_at": to_unix(row.next_attempt_at) if row.state == "pending" else 0,
        "last_error": row.last_error,
    }


@router.get("/tollway/webhooks", tags=["tollway"], summary="This merchant's notifications and their attempts")
async def list_webhooks(
    principal: PrincipalDep,
    services: ServicesDep,
    state: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    async with services.sessions() as session:
        found = await log.entries(session, principal.merchant_id, state=state, limit=limit)
    return ok([_notification_v1(e.notification, e.attempts) for e in found])


@router.post("/tollway/webhooks/{webhook_id}/replay", tags=["tollway"], summary="Send one notification again")
async def replay_webhook(
    webhook_id: Annotated[str, Path(max_length=64, pattern=NO_CONTROLS)], principal: PrincipalDep, services: ServicesDep
) -> Response:
    count = await delivery.replay(services, merchant_id=principal.merchant_id, webhook_id=webhook_id)
    if not count:
        raise NotFound("요청하신 웹훅을 찾을 수 없습니다.", detail=f"no delivered or failed notification {webhook_id}")
    return ok({"queued": count})
