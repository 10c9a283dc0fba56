"""The operator's view: every merchant with its volume, creating a merchant (its REST key pair and
first owner shown once), and a way into any merchant's console, read-only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from tollway.console.web import ConsoleRoute, Ctx, Forbidden, form_of, page, render
from tollway.merchants import staff
from tollway.merchants.service import create_merchant, list_merchants
from tollway.merchants.staff import Role
from tollway.payments import stats

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


async def _operator(request: Request, *, post: bool = False) -> Ctx:
    ctx = await page(request, post=post)
    if ctx.user is None or ctx.user.role != Role.OPERATOR:
        raise Forbidden
    ctx.role = Role.OPERATOR
    return ctx


async def _render(ctx: Ctx, created: dict[str, str] | None = None) -> Response:
    async with ctx.services.sessions() as session:
        merchants = await list_merchants(session)
    volume = await stats.volumes(ctx.services, ctx.services.clock.now())
    return render(ctx, "operator.html", section="operator", merchants=merchants, volume=volume, created=created)


@router.get("/console/operator")
async def operator(request: Request) -> Response:
    return await _render(await _operator(request))


@router.post("/console/operator/merchants")
async def create(request: Request) -> Response:
    """The answer shows the new pair's secret and the owner's password once; only hashes are kept."""
    ctx = await _operator(request, post=True)
    form = await form_of(ctx)
    name = str(form.get("name") or "").strip()[:100] or "Merchant"
    owner = str(form.get("owner_email") or "").strip()
    services = ctx.services
    async with services.sessions() as session:
        new = await create_merchant(session, services.clock, services.vault, name)
        created = {
            "name": new.merchant.name,
            "user_code": new.merchant.user_code,
            "imp_key": new.key_pair.imp_key,
            "imp_secret": new.key_pair.imp_secret.reveal(),
        }
        if owner:
            user = await staff.create_user(
                session, services.clock, merchant_id=new.merchant.id, email=owner, role=Role.OWNER
            )
            created |= {"owner_email": user.user.email, "owner_password": user.generated_password or ""}
        ctx.merchant = new.merchant
        ctx.audit(session, "merchant.create", target=new.merchant.user_code, owner=owner or None)
        await session.commit()
    ctx.merchant = None
    return await _render(ctx, created)
