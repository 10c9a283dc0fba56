"""Keys and access (owners; managers see the keys and may revoke them): REST key pairs (a new
secret shown once; revoking), the user code, console users (invite with a one-time password, role,
disable), and the audit log; the allowed origins of the payment window and its redirects, for owners
and managers (``merchants/origins.py``, as the CLI)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from tollway.console.web import ConsoleRoute, Ctx, form_of, form_text, page, redirect, render
from tollway.errors import InvalidRequest
from tollway.merchants import audit, origins, staff
from tollway.merchants.keys import revoke_api_key
from tollway.merchants.service import add_api_key, api_keys
from tollway.merchants.staff import Can

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


async def _render(ctx: Ctx, **shown_once: str) -> Response:
    async with ctx.services.sessions() as session:
        keys = await api_keys(session, ctx.merchant_id) if ctx.can(Can.REVOKE_KEYS) else []
        users = await staff.users_of(session, ctx.merchant_id) if ctx.can(Can.USERS) else []
        allowed = await origins.list_origins(session, ctx.merchant_id)
    return render(
        ctx,
        "access.html",
        section="access",
        keys=keys,
        users=users,
        roles=staff.MERCHANT_ROLES,
        shown=shown_once,
        origins=allowed,
    )


@router.get("/console/m/{user_code}/access")
async def access(request: Request, user_code: str) -> Response:
    ctx = await page(request, user_code, need=Can.ORIGINS)  # owners and managers (managers also revoke keys)
    return await _render(ctx)


@router.post("/console/m/{user_code}/access/origins")
async def change_origins(request: Request, user_code: str) -> Response:
    """Adds (one or more, separated by spaces or lines) or removes an allowed origin."""
    ctx = await page(request, user_code, need=Can.ORIGINS, post=True)
    form = await form_of(ctx)
    change = form_text(form, "change")
    given = form_text(form, "origins").split()
    async with ctx.services.sessions() as session:
        if change == "add":
            now = await origins.add_origins(session, ctx.services.clock, ctx.merchant_id, given)
        elif change == "remove":
            now = await origins.remove_origins(session, ctx.merchant_id, given)
        else:
            raise InvalidRequest("알 수 없는 요청입니다.", detail=f"no origins change {change!r}")
        ctx.audit(session, f"origins.{change}", target=" ".join(given)[:200], origins=now)
        await session.commit()
    return redirect(ctx, f"{ctx.home}/access", "saved")


@router.post("/console/m/{user_code}/access/keys")
async def create_key(request: Request, user_code: str) -> Response:
    """The new secret is in this answer only: the database keeps its keyed hash (HMAC-SHA256, vault pepper)."""
    ctx = await page(request, user_code, need=Can.KEYS, post=True)
    assert ctx.merchant is not None
    async with ctx.services.sessions() as session:
        pair = await add_api_key(session, ctx.services.clock, ctx.services.vault, ctx.merchant)
        ctx.audit(session, "key.create", target=pair.imp_key)
        await session.commit()
    return await _render(ctx, imp_key=pair.imp_key, imp_secret=pair.imp_secret.reveal())


@router.post("/console/m/{user_code}/access/keys/revoke")
async def revoke_key(request: Request, user_code: str) -> Response:
    """The same domain function as ``tollway merchant revoke-key``: this process forgets the key's
    tokens at once, every other within ``tokens.CACHE_SECONDS``."""
    ctx = await page(request, user_code, need=Can.REVOKE_KEYS, post=True)
    imp_key = form_text(await form_of(ctx), "imp_key", 64)
    async with ctx.services.sessions() as session:
        revoked = await revoke_api_key(session, ctx.services.clock, ctx.merchant_id, imp_key)
        ctx.audit(session, "key.revoke", target=revoked.imp_key, active_left=revoked.active_left)
        await session.commit()
    ctx.services.tokens.forget_key(revoked.api_key_id)
    return redirect(ctx, f"{ctx.home}/access", "revoked")


@router.post("/console/m/{user_code}/access/users")
async def invite(request: Request, user_code: str) -> Response:
    """A new console user of this merchant; their one-time password is shown once, to hand over."""
    ctx = await page(request, user_code, need=Can.USERS, post=True)
    form = await form_of(ctx)
    role = form_text(form, "role")
    if role not in staff.MERCHANT_ROLES:
        raise InvalidRequest("역할이 올바르지 않습니다.", detail="role: owner, manager or viewer")
    async with ctx.services.sessions() as session:
        new = await staff.create_user(
            session, ctx.services.clock, merchant_id=ctx.merchant_id, email=form_text(form, "email"), role=role
        )
        ctx.audit(session, "user.invite", target=new.user.email, role=role)
        await session.commit()
    return await _render(ctx, user_email=new.user.email, user_password=new.generated_password or "")


@router.post("/console/m/{user_code}/access/users/{user_id}")
async def change_user(request: Request, user_code: str, user_id: int) -> Response:
    ctx = await page(request, user_code, need=Can.USERS, post=True)
    form = await form_of(ctx)
    change = form_text(form, "change")
    async with ctx.services.sessions() as session:
        if change == "role":
            user = await staff.set_role(session, ctx.merchant_id, user_id, form_text(form, "role"))
            ctx.audit(session, "user.role", target=user.email, role=user.role)
        elif change in ("disable", "enable"):
            user = await staff.set_disabled(session, ctx.services.clock, ctx.merchant_id, user_id, change == "disable")
            ctx.audit(session, f"user.{change}", target=user.email)
        else:
            raise InvalidRequest("알 수 없는 요청입니다.", detail=f"no user change {change!r}")
        await session.commit()
    return redirect(ctx, f"{ctx.home}/access", "saved")


@router.get("/console/m/{user_code}/audit")
async def audit_log(request: Request, user_code: str) -> Response:
    ctx = await page(request, user_code, need=Can.AUDIT)
    before = request.query_params.get("before")
    async with ctx.services.sessions() as session:
        rows = await audit.entries(
            session, ctx.merchant_id, before=int(before) if before and before.isdigit() else None
        )
    return render(ctx, "audit.html", section="audit", rows=rows)
