"""A merchant's allowed origins, and whether the installation is still sandbox-only.

An origin is ``scheme://host[:port]`` (http or https, no path), as a browser sends it in ``Origin``.
When a merchant has allowed origins, its checkout windows are opened only from them, framed only by
them, and send the buyer (``m_redirect_url``) and notifications from the browser (``notice_url``)
only to them. With none, anything goes, as with i'mport: that is the state of a new merchant, and
``tollway serve`` warns about it once the merchant has a live channel.

One function per rule, called by the CLI, the console and the checkout alike. Callers commit.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.clock import Clock
from tollway.db.console_models import MerchantOrigin
from tollway.db.models import Merchant, PgChannel
from tollway.errors import InvalidRequest

MAX_ORIGINS = 50
#: the longest origin kept (the column's width)
MAX_ORIGIN_LENGTH = 300


def normalize_origin(text: str) -> str:
    """``https://Shop.example:443/`` → ``https://shop.example``; refuses anything not an origin."""
    value = text.strip()
    if len(value) > MAX_ORIGIN_LENGTH:
        raise InvalidRequest(f"not an origin: longer than {MAX_ORIGIN_LENGTH} characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise InvalidRequest(f"not an origin: {value!r}", detail="e.g. https://shop.example") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(f"not an origin: {value!r} (http:// or https:// and a host)")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidRequest(f"not an origin: {value!r} (scheme, host and port only: no path, query or user)")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}" + ("" if port in (None, default) else f":{port}")


def origin_of(url: str) -> str | None:
    """The origin of an absolute http(s) URL, or None."""
    try:
        return normalize_origin(urlsplit(url)._replace(path="", query="", fragment="").geturl())
    except InvalidRequest:
        return None


def allows(origins: list[str], url_or_origin: str) -> bool:
    """Whether a URL (or an origin) is on ``origins``; any is allowed while ``origins`` is empty."""
    if not origins:
        return True
    return origin_of(url_or_origin) in origins


async def list_origins(session: AsyncSession, merchant_id: int) -> list[str]:
    rows = await session.scalars(
        select(MerchantOrigin.origin).where(MerchantOrigin.merchant_id == merchant_id).order_by(MerchantOrigin.origin)
    )
    return list(rows)


async def add_origins(session: AsyncSession, clock: Clock, merchant_id: int, values: list[str]) -> list[str]:
    """Adds each origin (normalized; one already there is kept); returns the merchant's list."""
    wanted = [normalize_origin(v) for v in values if v.strip()]
    if not wanted:
        raise InvalidRequest("give at least one origin, e.g. https://shop.example")
    current = await list_origins(session, merchant_id)
    new = [o for o in dict.fromkeys(wanted) if o not in current]
    if len(current) + len(new) > MAX_ORIGINS:
        raise InvalidRequest(f"a merchant has at most {MAX_ORIGINS} allowed origins")
    for origin in new:
        session.add(MerchantOrigin(merchant_id=merchant_id, origin=origin, created_at=clock.now()))
    await session.flush()
    return sorted([*current, *new])


async def remove_origins(session: AsyncSession, merchant_id: int, values: list[str]) -> list[str]:
    """Removes each origin given (normalized); returns the merchant's list."""
    gone = [normalize_origin(v) for v in values if v.strip()]
    if gone:
        await session.execute(
            delete(MerchantOrigin).where(MerchantOrigin.merchant_id == merchant_id, MerchantOrigin.origin.in_(gone))
        )
    return await list_origins(session, merchant_id)


async def clear_origins(session: AsyncSession, merchant_id: int) -> None:
    await session.execute(delete(MerchantOrigin).where(MerchantOrigin.merchant_id == merchant_id))


async def sandbox_only(session: AsyncSession) -> bool:
    """True while no merchant has a live channel: the demo shop runs, webhooks may go to private
    addresses (``TOLLWAY_WEBHOOK_ALLOW_PRIVATE`` unset)."""
    return not await session.scalar(select(exists().where(PgChannel.sandbox.is_(False))))


async def live_without_origins(session: AsyncSession) -> list[str]:
    """User codes of merchants with a live channel and no allowed origin (an open redirect risk)."""
    live = select(PgChannel.merchant_id).where(PgChannel.sandbox.is_(False))
    has = select(MerchantOrigin.merchant_id)
    rows = await session.scalars(
        select(Merchant.user_code).where(Merchant.id.in_(live), Merchant.id.not_in(has)).order_by(Merchant.id)
    )
    return list(rows)
