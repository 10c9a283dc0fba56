"""The delivery log: a merchant's notifications, newest first, each with its attempts
(``GET /tollway/webhooks`` and the console's webhooks page)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.db.models import WebhookAttempt, WebhookNotification
from tollway.errors import InvalidRequest

STATES = ("pending", "delivering", "delivered", "failed")


@dataclass(frozen=True)
class Entry:
    notification: WebhookNotification
    attempts: list[WebhookAttempt]


async def entries(
    session: AsyncSession, merchant_id: int, *, state: str | None = None, limit: int = 50, before: int | None = None
) -> list[Entry]:
    if state not in (None, *STATES):
        raise InvalidRequest("state must be pending, delivering, delivered or failed")
    if not 1 <= limit <= 500:
        raise InvalidRequest("limit must be between 1 and 500")
    query = select(WebhookNotification).where(WebhookNotification.merchant_id == merchant_id)
    if state:
        query = query.where(WebhookNotification.state == state)
    if before is not None:
        query = query.where(WebhookNotification.id < before)
    rows = list(await session.scalars(query.order_by(WebhookNotification.id.desc()).limit(limit)))
    attempts: dict[int, list[WebhookAttempt]] = {r.id: [] for r in rows}
    if attempts:
        for attempt in await session.scalars(
            select(WebhookAttempt).where(WebhookAttempt.notification_id.in_(list(attempts))).order_by(WebhookAttempt.id)
        ):
            attempts[attempt.notification_id].append(attempt)
    return [Entry(r, attempts[r.id]) for r in rows]
