"""Webhooks: Toss's in (hints, re-read from the PG), and the merchant's notification log and replay."""

from __future__ import annotations

import asyncio
import contextlib
import time
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
from tollway.pg.base import PgError, PgPayment, PgUnknown
from tollway.services import Services
from tollway.webhooks import delivery, log

router = APIRouter()


#: a payment's PG lookup is made at most once in this many seconds per process, however many
#: webhooks (true, replayed or forged) name it; a hint that comes sooner is not dropped but answered
#: by one lookup when the time is up (so two true events in a row are both learned)
COLLAPSE_SECONDS = 5.0
_next_lookup: dict[str, float] = {}  # imp_uid → when the next lookup may be made
_deferred: dict[str, asyncio.Task[None]] = {}


def _when(imp_uid: str) -> float:
    """Seconds until this payment may be looked up (0: now, and the slot is taken)."""
    now = time.monotonic()
    if len(_next_lookup) > 10_000:
        for gone in [k for k, at in _next_lookup.items() if at < now]:
            del _next_lookup[gone]
    wait = max(0.0, _next_lookup.get(imp_uid, 0.0) - now)
    if wait == 0.0:
        _next_lookup[imp_uid] = now + COLLAPSE_SECONDS
    return wait


@router.post(
    "/webhooks/toss/{channel_key}",
    tags=["tollway"],
    summary="Toss Payments webhooks in (register this URL in Toss's developer center)",
    description="A hint only: Tollway reads the payment back from Toss and applies what Toss says through "
    "the state machine, so a forged or stale webhook changes nothing. The answer is a bare 200 whatever "
    "the hint named (it tells a caller nothing), or 503 when the PG could not be asked (Toss retries).",
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
        return Response(status_code=200)
    inner = body.get("data")
    data: dict[str, Any] = inner if isinstance(inner, dict) else body
    payment_key, order_id = data.get("paymentKey"), data.get("orderId")
    async with services.sessions() as session:
        channel = await session.scalar(select(PgChannel).where(PgChannel.channel_key == channel_key))
        conditions = []
        if isinstance(payment_key, str):
            conditions.append(Payment.pg_tid == payment_key)
        if isinstance(order_id, str):
            conditions.append(Payment.imp_uid == order_id)
        payment = (
            await session.scalar(select(Payment).where(Payment.channel_id == channel.id, or_(*conditions)).limit(1))
            if conditions and channel is not None
            else None
        )
    if channel is None or payment is None:
        return Response(status_code=200)
    wait = _when(payment.imp_uid)
    if wait == 0.0:
        try:
            await _look_up(services, channel, payment)
        except PgUnknown:
            _next_lookup.pop(payment.imp_uid, None)  # no answer from the PG: Toss's retry may ask again
            return Response(status_code=503)
        except PgError:
            pass  # the PG's answer (e.g. no such payment): the hint changes nothing
    elif payment.imp_uid not in _deferred:
        _deferred[payment.imp_uid] = asyncio.create_task(_later(services, channel, payment, wait))
    return Response(status_code=200)


async def _look_up(services: Services, channel: PgChannel, payment: Payment) -> None:
    connector = await services.pg.for_channel(channel)
    truth: PgPayment = (
        await connector.get_payment(payment.pg_tid)
        if payment.pg_tid
        else await connector.get_payment_by_order(payment.imp_uid)
    )
    await apply_truth(services, payment.id, truth, services.clock.now())


async def _later(services: Services, channel: PgChannel, payment: Payment, wait: float) -> None:
    """The one lookup owed to the hints that came within the window (the reconciler covers a failure)."""
    try:
        await asyncio.sleep(wait)
        _next_lookup[payment.imp_uid] = time.monotonic() + COLLAPSE_SECONDS
        with contextlib.suppress(Exception):
            await _look_up(services, channel, payment)
    finally:
        _deferred.pop(payment.imp_uid, None)


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
