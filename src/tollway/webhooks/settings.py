"""A merchant's notification settings (default URL, body format, attempts): one place for the CLI
and the console. Callers commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tollway.db.models import WebhookNotification, WebhookSettings
from tollway.errors import InvalidRequest
from tollway.webhooks.outbox import DEFAULT_ATTEMPTS, new_webhook_id
from tollway.webhooks.urls import url_problem

MAX_ATTEMPTS = 12
FORMATS = ("json", "form")
#: what a test notification carries: no payment has this imp_uid
TEST_IMP_UID = "imp_tollway_test"


@dataclass(frozen=True)
class Change:
    url: str | None = None  # "" clears it
    content_type: str | None = None
    attempts: int | None = None


def check_url(url: str) -> str:
    url = url.strip()
    if url_problem(url) is not None or len(url) > 500:
        raise InvalidRequest(
            "웹훅 URL은 http:// 또는 https:// 로 시작해야 합니다.", detail=f"not a webhook URL: {url!r}"
        )
    return url


async def configure(session: AsyncSession, merchant_id: int, change: Change, at: datetime) -> WebhookSettings:
    if change.content_type is not None and change.content_type not in FORMATS:
        raise InvalidRequest("format must be json or form")
    if change.attempts is not None and not 1 <= change.attempts <= MAX_ATTEMPTS:
        raise InvalidRequest(f"attempts must be between 1 and {MAX_ATTEMPTS}")
    row = await session.get(WebhookSettings, merchant_id)
    if row is None:
        row = WebhookSettings(merchant_id=merchant_id, content_type="json", max_attempts=DEFAULT_ATTEMPTS)
        session.add(row)
    if change.url is not None:
        row.default_url = check_url(change.url) if change.url.strip() else None
    if change.content_type is not None:
        row.content_type = change.content_type
    if change.attempts is not None:
        row.max_attempts = change.attempts
    row.updated_at = at
    await session.flush()
    return row


async def enqueue_test(session: AsyncSession, merchant_id: int, at: datetime) -> WebhookNotification:
    """A sample notification (``status: paid`` of no real payment) to the merchant's default URL,
    signed and logged like any other, attempted once."""
    row = await session.get(WebhookSettings, merchant_id)
    if row is None or not row.default_url:
        raise InvalidRequest("먼저 웹훅 URL을 설정해 주세요.", detail="set the default webhook URL first")
    test = WebhookNotification(
        webhook_id=new_webhook_id(),
        merchant_id=merchant_id,
        imp_uid=TEST_IMP_UID,
        merchant_uid="tollway-test",
        status="paid",
        url=row.default_url,
        content_type=row.content_type,
        max_attempts=1,
        state="pending",
        attempts=0,
        next_attempt_at=at,
        created_at=at,
    )
    session.add(test)
    await session.flush()
    return test
