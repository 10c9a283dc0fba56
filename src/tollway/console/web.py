"""What every console page shares: templates, who is signed in and what they may do, CSRF, audit,
and the one place errors become pages.

Authorisation is decided here, on the server, for every route: ``page()`` resolves the session and
the merchant the URL names (a user of another merchant gets the same 404 as a missing one), and
``page(..., need=Can.CANCEL)`` refuses with 403 what the role may not do. Every POST carries the
session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``) and, when the browser sends
one, an ``Origin`` equal to the console's own.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tollway.console import i18n
from tollway.console.labels import FLASHES
from tollway.db.console_models import ConsoleUser
from tollway.db.models import Merchant
from tollway.errors import BusinessError, NotFound, TollwayError, Unauthorized
from tollway.merchants import audit, staff
from tollway.merchants.staff import Can, Role
from tollway.services import Services

BASE = "/console"
SESSION_COOKIE = "tollway_console"
PRE_COOKIE = "tollway_console_pre"  # the sign-in form's CSRF secret, before there is a session
LANG_COOKIE = "tollway_console_lang"
TEMPLATES = Path(__file__).parent / "templates"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["won"] = i18n.won
_env.filters["kst"] = i18n.kst
_env.filters["q"] = lambda value: quote(str(value), safe="")
_env.filters["flatten_pair"] = lambda pair: (pair[0], pair[1][0], i18n.won(pair[1][1]))
_env.filters["unix_kst"] = lambda value: i18n.kst(datetime.fromtimestamp(value, UTC)) if value else ""
_env.globals["zip"] = zip


class SignInRequired(Exception):
    pass


class Forbidden(Exception):
    pass


@dataclass
class Ctx:
    """A console request: the language, and (once signed in) the user, the merchant and the role."""

    request: Request
    services: Services
    lang: str
    user: ConsoleUser | None = None
    token: str | None = None
    merchant: Merchant | None = None
    role: str | None = None
    flash: str | None = None
    #: a sign-in form's fresh pre-session secret (its cookie is set by the same response)
    pre: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def can(self, action: Can) -> bool:
        return self.role is not None and staff.allowed(self.role, action)

    @property
    def csrf(self) -> str:
        secret = self.token or self.pre or self.request.cookies.get(PRE_COOKIE) or ""
        return staff.csrf_for(secret) if secret else ""

    @property
    def ip(self) -> str | None:
        return self.request.client.host if self.request.client else None

    @property
    def actor(self) -> audit.Actor:
        assert self.user is not None
        return audit.Actor(self.user.id, self.user.email, self.ip)

    @property
    def merchant_id(self) -> int:
        assert self.merchant is not None
        return self.merchant.id

    @property
    def home(self) -> str:
        """This merchant's console root, from stored values only."""
        assert self.merchant is not None
        return f"{BASE}/m/{quote(self.merchant.user_code, safe='')}"

    def gettext(self, message: str, **values: Any) -> str:
        text = i18n.translations(self.lang).gettext(message)
        return text % values if values else text

    def audit(self, session: Any, action: str, *, target: str | None = None, ok: bool = True, **detail: Any) -> None:
        audit.record(
            session,
            self.actor,
            self.services.clock.now(),
            merchant_id=self.merchant.id if self.merchant else (self.user.merchant_id if self.user else None),
            action=action,
            target=target,
            detail=detail or None,
            ok=ok,
        )


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def base_ctx(request: Request) -> Ctx:
    lang = i18n.pick(
        request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )
    return Ctx(request=request, services=services_of(request), lang=lang)


async def signed_in(request: Request) -> Ctx:
    ctx = base_ctx(request)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired
    services = ctx.services
    idle = services.settings.console_idle_minutes
    async with services.sessions() as session:
        found = await staff.resolve(session, services.clock, token, timedelta(minutes=idle))
    if found is None:
        raise SignInRequired
    ctx.user, ctx.token = found.user, token
    return ctx


async def page(request: Request, user_code: str | None = None, *, need: Can = Can.READ, post: bool = False) -> Ctx:
    """The signed-in context of a page of merchant ``user_code``, after every server-side check."""
    ctx = await signed_in(request)
    if post:
        await check_csrf(ctx)
    if user_code is None:
        return ctx
    assert ctx.user is not None
    async with ctx.services.sessions() as session:
        merchant = await session.scalar(select(Merchant).where(Merchant.user_code == user_code))
    if merchant is None:
        raise NotFound("존재하지 않는 가맹점입니다.")
    if ctx.user.role == Role.OPERATOR:
        ctx.role = Role.OPERATOR
    elif ctx.user.merchant_id == merchant.id:
        ctx.role = ctx.user.role
    else:  # another merchant's console does not exist for this user
        raise NotFound("존재하지 않는 가맹점입니다.")
    ctx.merchant = merchant
    ctx.flash = request.query_params.get("done")
    if not ctx.can(need):
        raise Forbidden
    return ctx


async def check_csrf(ctx: Ctx) -> None:
    request = ctx.request
    origin = request.headers.get("origin")
    if origin is not None and origin != _own_origin(request):
        raise Forbidden
    form = await request.form()
    presented = request.headers.get("x-csrf-token") or form.get("csrf")
    secret = ctx.token or request.cookies.get(PRE_COOKIE)
    if not secret or not isinstance(presented, str) or not staff.csrf_matches(secret, presented):
        raise Forbidden


def _own_origin(request: Request) -> str:
    url = request.url
    default = {"http": 80, "https": 443}.get(url.scheme)
    port = f":{url.port}" if url.port and url.port != default else ""
    return f"{url.scheme}://{url.hostname}{port}"


async def form_of(ctx: Ctx) -> Mapping[str, Any]:
    return await ctx.request.form()


def form_text(form: Mapping[str, Any], name: str, limit: int = 200) -> str:
    """A form field as trimmed text, at most ``limit`` characters ("" when absent or a file)."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def secure_cookies(request: Request, services: Services) -> bool:
    return request.url.scheme == "https" or services.settings.resolved_public_url().startswith("https://")


def set_cookie(response: Response, ctx: Ctx, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=BASE,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(ctx.request, ctx.services),
    )


def render(ctx: Ctx, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = _env.get_template(template).render(
        {"ctx": ctx, "_": ctx.gettext, "base": BASE, "Can": Can, "flashes": FLASHES, "section": None, **values}
    )
    response = HTMLResponse(html, status_code=status, headers=_headers(ctx))
    _remember_lang(ctx, response)
    return response


def redirect(ctx: Ctx, path: str, done: str | None = None) -> RedirectResponse:
    """A redirect to a console path built by the caller from stored values (never from input);
    ``done`` names one of the fixed confirmations the next page shows."""
    assert path.startswith(BASE + "/") or path == BASE
    target = f"{path}?done={quote(done, safe='')}" if done else path
    response = RedirectResponse(target, status_code=303, headers=_headers(ctx))
    _remember_lang(ctx, response)
    return response


def _headers(ctx: Ctx) -> dict[str, str]:
    return {
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        **ctx.headers,
    }


def _remember_lang(ctx: Ctx, response: Response) -> None:
    if ctx.request.query_params.get("lang") in i18n.LOCALES:
        set_cookie(response, ctx, LANG_COOKIE, ctx.lang, max_age=365 * 86400)


def error_page(request: Request, exc: Exception) -> Response:
    ctx = base_ctx(request)
    if isinstance(exc, SignInRequired):
        if request.method == "GET":
            return RedirectResponse(f"{BASE}/sign-in", status_code=303)
        return render(ctx, "error.html", 401, title=ctx.gettext("Please sign in again"), message=None)
    if isinstance(exc, Forbidden):
        return render(ctx, "error.html", 403, title=ctx.gettext("Not allowed"), message=None)
    if isinstance(exc, RequestValidationError):
        return render(ctx, "error.html", 400, title=ctx.gettext("Invalid request"), message=None)
    assert isinstance(exc, TollwayError)
    status = {NotFound: 404, Unauthorized: 401, BusinessError: 409}.get(type(exc), exc.http_status)
    titles = {404: "Not found", 401: "Please sign in again", 409: "Not possible"}
    title = ctx.gettext(titles.get(status, "Invalid request"))
    return render(
        ctx, "error.html", status if status >= 400 else 400, title=title, message=exc.message, detail=exc.detail
    )


class ConsoleRoute(APIRoute):
    """Turns what a console route raises into a page: sign-in redirects, 403, 404 and the domain's
    own errors, rendered in the user's language."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except (SignInRequired, Forbidden, RequestValidationError, TollwayError) as exc:
                return error_page(request, exc)

        return handle


not_found_router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@not_found_router.api_route("/console/{rest:path}", methods=["GET", "POST"])
async def not_found(request: Request, rest: str) -> Response:
    """Any other console path: an HTML 404 (after sign-in, so it tells a stranger nothing)."""
    del rest
    await signed_in(request)
    raise NotFound("페이지를 찾을 수 없습니다.")
