"""The outbox: a notification row written in the same transaction as the change it reports.

Nothing is sent for a change that rolled back, and nothing is lost for one that committed: the
delivery worker (``webhooks.delivery``) reads the outbox. V1's body is kept as it is
(``{imp_uid, merchant_uid, status}`` + ``cancellation_id`` on cancels), so existing receivers work.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.db.driver import Conn, Statement
from tollway.db.models import Payment, WebhookNotification, WebhookSettings
from tollway.observability.logs import current_request_id

DEFAULT_ATTEMPTS = 12
_OUTBOX_COLUMNS = frozenset(
    (
        "webhook_id",
        "merchant_id",
        "imp_uid",
        "merchant_uid",
        "status",
        "cancellation_id",
        "url",
        "content_type",
        "max_attempts",
        "state",
        "attempts",
        "next_attempt_at",
        "created_at",
        "request_id",
    )
)


def new_webhook_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def body_of(notification: WebhookNotification) -> dict[str, str]:
    body = {"imp_uid": notification.imp_uid, "merchant_uid": notification.merchant_uid, "status": notification.status}
    if notification.cancellation_id:
        body["cancellation_id"] = notification.cancellation_id
    return body


def encode(notification: WebhookNotification) -> tuple[bytes, str]:
    """(the exact bytes sent and signed, their Content-Type)."""
    body = body_of(notification)
    if notification.content_type == "form":
        from urllib.parse import urlencode

        return urlencode(body).encode(), "application/x-www-form-urlencoded"
    return orjson.dumps(body), "application/json"


async def enqueue(
    session: AsyncSession, payment: Payment, status: str, at: datetime, *, cancellation_id: str | None = None
) -> list[WebhookNotification]:
    """Adds the notifications of ``payment`` reaching ``status`` (callers are inside the change's
    transaction). The payment's ``notice_url`` (one or several) replaces the merchant's default URL,
    as in V1; with neither, there is nobody to notify."""
    settings = await session.get(WebhookSettings, payment.merchant_id)
    rows = [WebhookNotification(**values) for values in notifications(payment, settings, status, at, cancellation_id)]
    session.add_all(rows)
    return rows


def notifications(
    payment: Payment, settings: Any, status: str, at: datetime, cancellation_id: str | None = None
) -> list[dict[str, Any]]:
    """The outbox rows' values for ``payment`` reaching ``status``, given the merchant's webhook
    settings (a row of ``webhook_settings`` or None)."""
    urls: list[str] = json.loads(payment.notice_url) if payment.notice_url else []
    if not urls and settings is not None and settings.default_url:
        urls = [settings.default_url]
    return [
        {
            "webhook_id": new_webhook_id(),
            "merchant_id": payment.merchant_id,
            "imp_uid": payment.imp_uid,
            "merchant_uid": payment.merchant_uid,
            "status": status,
            "cancellation_id": cancellation_id,
            "url": url,
            "content_type": settings.content_type if settings else "json",
            "max_attempts": settings.max_attempts if settings else DEFAULT_ATTEMPTS,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
            "request_id": current_request_id(),
        }
        for url in dict.fromkeys(urls)
    ]


_NOTIFICATIONS = cast(Table, WebhookNotification.__table__)
_SETTINGS_OF = Statement(select(WebhookSettings.__table__).where(WebhookSettings.merchant_id == bindparam("merchant")))
_ADD = Statement(
    insert(_NOTIFICATIONS).values(
        {c.key: bindparam(f"v_{c.key}") for c in _NOTIFICATIONS.columns if c.key in _OUTBOX_COLUMNS}
    )
)


async def enqueue_on(
    conn: Conn, payment: Payment, status: str, at: datetime, *, cancellation_id: str | None = None
) -> int:
    """``enqueue`` on a driver connection (inside the change's transaction); returns how many rows."""
    settings = await conn.first(_SETTINGS_OF, merchant=payment.merchant_id)
    rows = notifications(payment, settings, status, at, cancellation_id)
    for values in rows:
        await conn.execute(_ADD, **{f"v_{k}": v for k, v in values.items()})
    return len(rows)


async def settings_for(session: AsyncSession, merchant_id: int) -> WebhookSettings | None:
    return await session.scalar(select(WebhookSettings).where(WebhookSettings.merchant_id == merchant_id))
