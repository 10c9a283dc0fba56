"""PG settings: the merchant's Toss channels (the secret key is entered once and never shown),
the default channel, V1's rules for choosing one, and a harmless call to test a channel's keys."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import Response

from tollway.console.web import ConsoleRoute, Ctx, form_of, form_text, page, redirect, render
from tollway.db.models import PgChannel
from tollway.errors import NotFound
from tollway.merchants.service import API_VERSIONS, add_channel, list_channels, set_default_channel
from tollway.merchants.staff import Can
from tollway.pg.probe import probe
from tollway.vault import Secret

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/console/m/{user_code}/channels")
async def channels(request: Request, user_code: str) -> Response:
    ctx = await page(request, user_code)
    async with ctx.services.sessions() as session:
        rows = await list_channels(session, ctx.merchant_id)
    return render(ctx, "channels.html", section="channels", rows=rows, versions=API_VERSIONS, result=None)


@router.post("/console/m/{user_code}/channels")
async def add(request: Request, user_code: str) -> Response:
    ctx = await page(request, user_code, need=Can.CHANNELS, post=True)
    form = await form_of(ctx)
    sandbox = form_text(form, "mode") != "live"
    async with ctx.services.sessions() as session:
        assert ctx.merchant is not None
        channel = await add_channel(
            session,
            ctx.services.clock,
            ctx.services.vault,
            ctx.merchant,
            pg_provider="tosspayments",
            mid=form_text(form, "mid", 64),
            client_key=form_text(form, "client_key"),
            secret_key=Secret(form_text(form, "secret_key")),
            api_version=form_text(form, "api_version", 16) or "1.4",
            sandbox=sandbox,
            channel_name=form_text(form, "name", 100) or None,
            make_default=form_text(form, "default") == "1",
        )
        ctx.audit(session, "channel.add", target=channel.mid, sandbox=sandbox, default=channel.is_default)
        await session.commit()
    return redirect(ctx, f"{ctx.home}/channels", "created")


async def _channel(ctx: Ctx, channel_key: str) -> PgChannel:
    async with ctx.services.sessions() as session:
        channel = await session.scalar(
            select(PgChannel).where(PgChannel.merchant_id == ctx.merchant_id, PgChannel.channel_key == channel_key)
        )
    if channel is None:
        raise NotFound("존재하지 않는 채널입니다.")
    return channel


@router.post("/console/m/{user_code}/channels/{channel_key}/default")
async def make_default(request: Request, user_code: str, channel_key: str) -> Response:
    ctx = await page(request, user_code, need=Can.CHANNELS, post=True)
    await _channel(ctx, channel_key)
    async with ctx.services.sessions() as session:
        channel = await set_default_channel(session, ctx.merchant_id, channel_key)
        ctx.audit(session, "channel.default", target=channel.mid)
        await session.commit()
    return redirect(ctx, f"{ctx.home}/channels", "saved")


@router.post("/console/m/{user_code}/channels/{channel_key}/test")
async def test_channel(request: Request, user_code: str, channel_key: str) -> Response:
    """Any role that may change channels may test one; the call changes nothing at the PG."""
    ctx = await page(request, user_code, need=Can.CHANNELS, post=True)
    channel = await _channel(ctx, channel_key)
    result = await probe(await ctx.services.pg.for_channel(channel))
    async with ctx.services.sessions() as session:
        ctx.audit(session, "channel.test", target=channel.mid, outcome=result.outcome, code=result.code)
        await session.commit()
        rows = await list_channels(session, ctx.merchant_id)
    return render(
        ctx, "channels.html", section="channels", rows=rows, versions=API_VERSIONS, result=result, tested=channel
    )
