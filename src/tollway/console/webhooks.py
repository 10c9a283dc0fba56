"""Webhooks: settings, secret rotation (the new secret shown once), the delivery log with every
attempt, replay (one, or every failed one in a range) and a test notification, through
``tollway.webhooks``: the services behind ``tollway webhooks …`` and ``/tollway/webhooks``."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from sqlalchemy import or_, select
from starlette.responses import Response

from tollway.clock import kst_day_start
from tollway.console.web import ConsoleRoute, Ctx, form_of, form_text, page, redirect, render
from tollway.db.models import WebhookSecret
from tollway.errors import InvalidRequest
from tollway.merchants.staff import Can
from tollway.webhooks import delivery, log, signing
from tollway.webhooks.outbox import settings_for
from tollway.webhooks.settings import Change, configure, enqueue_test

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


async def _page(ctx: Ctx, new_secret: str | None = None) -> Response:
    request = ctx.request
    state = request.query_params.get("state") or None
    before = request.query_params.get("before")
    now = ctx.services.clock.now()
    async with ctx.services.sessions() as session:
        current = await settings_for(session, ctx.merchant_id)
        entries = await log.entries(
            session, ctx.merchant_id, state=state, before=int(before) if before and before.isdigit() else None
        )
        secrets = list(
            await session.scalars(
                select(WebhookSecret)
                .where(
                    WebhookSecret.merchant_id == ctx.merchant_id,
                    or_(WebhookSecret.expires_at.is_(None), WebhookSecret.expires_at > now),
                )
                .order_by(WebhookSecret.id.desc())
            )
        )
    return render(
        ctx,
        "webhooks.html",
        section="webhooks",
        current=current,
        entries=entries,
        state=state or "",
        states=log.STATES,
        secrets=secrets,
        new_secret=new_secret,
    )


@router.get("/console/m/{user_code}/webhooks")
async def webhooks(request: Request, user_code: str) -> Response:
    return await _page(await page(request, user_code))


@router.post("/console/m/{user_code}/webhooks/settings")
async def save_settings(request: Request, user_code: str) -> Response:
    ctx = await page(request, user_code, need=Can.WEBHOOKS, post=True)
    form = await form_of(ctx)
    attempts = form_text(form, "attempts")
    if attempts and not attempts.isdigit():
        raise InvalidRequest("시도 횟수는 숫자로 입력해 주세요.", detail="attempts: 1 to 12")
    change = Change(form_text(form, "url", 500), form_text(form, "format") or None, int(attempts) if attempts else None)
    async with ctx.services.sessions() as session:
        row = await configure(session, ctx.merchant_id, change, ctx.services.clock.now())
        ctx.audit(session, "webhooks.settings", url=row.default_url, format=row.content_type, attempts=row.max_attempts)
        await session.commit()
    return redirect(ctx, f"{ctx.home}/webhooks", "saved")


@router.post("/console/m/{user_code}/webhooks/rotate")
async def rotate_secret(request: Request, user_code: str) -> Response:
    """The new secret is in this answer only; afterwards the page lists secrets by date, never their value."""
    ctx = await page(request, user_code, need=Can.WEBHOOKS, post=True)
    async with ctx.services.sessions() as session:
        secret = await signing.rotate(session, ctx.services.keyring, ctx.merchant_id, ctx.services.clock.now())
        ctx.audit(session, "webhooks.rotate_secret")
        await session.commit()
    return await _page(ctx, new_secret=secret)


@router.post("/console/m/{user_code}/webhooks/test")
async def send_test(request: Request, user_code: str) -> Response:
    ctx = await page(request, user_code, need=Can.WEBHOOKS, post=True)
    async with ctx.services.sessions() as session:
        test = await enqueue_test(session, ctx.merchant_id, ctx.services.clock.now())
        ctx.audit(session, "webhooks.test", target=test.webhook_id)
        await session.commit()
    return redirect(ctx, f"{ctx.home}/webhooks", "queued")


@router.post("/console/m/{user_code}/webhooks/replay")
async def replay(request: Request, user_code: str) -> Response:
    """One notification (``webhook_id``), or every failed one created in ``date_from``..``date_to`` (KST)."""
    ctx = await page(request, user_code, need=Can.WEBHOOKS, post=True)
    form = await form_of(ctx)
    webhook_id = form_text(form, "webhook_id")
    since = until = None
    try:
        if form_text(form, "date_from"):
            since = kst_day_start(form_text(form, "date_from"))
        if form_text(form, "date_to"):
            until = kst_day_start(form_text(form, "date_to")) + timedelta(days=1)
    except ValueError:
        raise InvalidRequest("날짜는 YYYY-MM-DD 형식으로 입력해 주세요.") from None
    count = await delivery.replay(
        ctx.services, merchant_id=ctx.merchant_id, webhook_id=webhook_id or None, since=since, until=until
    )
    async with ctx.services.sessions() as session:
        ctx.audit(session, "webhooks.replay", target=webhook_id or "failed", queued=count)
        await session.commit()
    return redirect(ctx, f"{ctx.home}/webhooks", "queued")
