"""Signing in and out, the account page (password, second factor)."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import Response

from tollway.console.web import (
    BASE,
    PRE_COOKIE,
    SESSION_COOKIE,
    ConsoleRoute,
    Ctx,
    base_ctx,
    check_csrf,
    form_of,
    form_text,
    page,
    redirect,
    render,
    set_cookie,
)
from tollway.db.console_models import ConsoleUser
from tollway.db.models import Merchant
from tollway.errors import Unauthorized
from tollway.merchants import staff
from tollway.merchants.staff import Role

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/console/sign-in")
async def sign_in_form(request: Request) -> Response:
    ctx = base_ctx(request)
    fresh = None
    if not request.cookies.get(PRE_COOKIE):
        fresh = ctx.pre = secrets.token_urlsafe(24)
    response = render(ctx, "sign_in.html", error=False)
    if fresh:
        set_cookie(response, ctx, PRE_COOKIE, fresh)
    return response


@router.post("/console/sign-in")
async def sign_in(request: Request) -> Response:
    ctx = base_ctx(request)
    await check_csrf(ctx)
    form = await form_of(ctx)
    email, password, code = form_text(form, "email"), form_text(form, "password", 500), form_text(form, "code", 12)
    services = ctx.services
    # the same shared throttle as getToken: per address and per email, in every process
    attempt = services.throttle.guard(f"console.addr:{ctx.ip}", f"console.email:{email.strip().lower()}")
    try:
        async with attempt, services.sessions() as session:
            user = await staff.authenticate(session, services.keyring, email, password, code or None)
            token = await staff.open_session(session, services.clock, user, ctx.ip, request.headers.get("user-agent"))
            ctx.user, ctx.token = user, token
            ctx.audit(session, "sign_in", target=user.email)
            await session.commit()
    except Unauthorized:
        return render(ctx, "sign_in.html", 401, error=True)
    response = redirect(ctx, BASE)
    set_cookie(response, ctx, SESSION_COOKIE, token)
    response.delete_cookie(PRE_COOKIE, path=BASE)
    return response


@router.post("/console/sign-out")
async def sign_out(request: Request) -> Response:
    ctx = await page(request, post=True)
    assert ctx.token is not None
    async with ctx.services.sessions() as session:
        await staff.close_session(session, ctx.services.clock, ctx.token)
        ctx.audit(session, "sign_out")
        await session.commit()
    response = redirect(ctx, f"{BASE}/sign-in")
    response.delete_cookie(SESSION_COOKIE, path=BASE)
    return response


@router.get("/console")
async def home(request: Request) -> Response:
    ctx = await page(request)
    assert ctx.user is not None
    if ctx.user.role == Role.OPERATOR:
        return redirect(ctx, f"{BASE}/operator")
    async with ctx.services.sessions() as session:
        code = await session.scalar(select(Merchant.user_code).where(Merchant.id == ctx.user.merchant_id))
    return redirect(ctx, f"{BASE}/m/{quote(code or '', safe='')}")


async def _account_ctx(request: Request, *, post: bool = False) -> Ctx:
    ctx = await page(request, post=post)
    assert ctx.user is not None
    if ctx.user.merchant_id is not None:
        async with ctx.services.sessions() as session:
            ctx.merchant = await session.get(Merchant, ctx.user.merchant_id)
        ctx.role = ctx.user.role
    else:
        ctx.role = Role.OPERATOR
    ctx.flash = request.query_params.get("done")
    return ctx


@router.get("/console/account")
async def account(request: Request) -> Response:
    ctx = await _account_ctx(request)
    return render(ctx, "account.html", totp_secret=None, totp_uri=None)


@router.post("/console/account/password")
async def change_password(request: Request) -> Response:
    ctx = await _account_ctx(request, post=True)
    form = await form_of(ctx)
    services = ctx.services
    async with services.sessions() as session:
        user = await session.get(ConsoleUser, ctx.user.id if ctx.user else 0)
        assert user is not None
        await staff.change_password(
            session, services.clock, user, form_text(form, "current", 500), form_text(form, "new", 500)
        )
        ctx.user = user
        token = await staff.open_session(session, services.clock, user, ctx.ip, request.headers.get("user-agent"))
        ctx.audit(session, "password_change", target=user.email)
        await session.commit()
    response = redirect(ctx, f"{BASE}/account", "password")
    set_cookie(response, ctx, SESSION_COOKIE, token)
    return response


@router.post("/console/account/totp/start")
async def totp_start(request: Request) -> Response:
    ctx = await _account_ctx(request, post=True)
    assert ctx.user is not None
    secret = staff.new_totp_secret()
    return render(ctx, "account.html", totp_secret=secret, totp_uri=staff.totp_uri(secret, ctx.user.email))


@router.post("/console/account/totp/enable")
async def totp_enable(request: Request) -> Response:
    ctx = await _account_ctx(request, post=True)
    form = await form_of(ctx)
    async with ctx.services.sessions() as session:
        user = await session.get(ConsoleUser, ctx.user.id if ctx.user else 0)
        assert user is not None
        staff.enable_totp(ctx.services.keyring, user, form_text(form, "secret", 64), form_text(form, "code", 12))
        ctx.audit(session, "totp_enable", target=user.email)
        await session.commit()
    return redirect(ctx, f"{BASE}/account", "totp_on")


@router.post("/console/account/totp/disable")
async def totp_disable(request: Request) -> Response:
    ctx = await _account_ctx(request, post=True)
    async with ctx.services.sessions() as session:
        user = await session.get(ConsoleUser, ctx.user.id if ctx.user else 0)
        assert user is not None
        staff.disable_totp(user)
        ctx.audit(session, "totp_disable", target=user.email)
        await session.commit()
    return redirect(ctx, f"{BASE}/account", "totp_off")
