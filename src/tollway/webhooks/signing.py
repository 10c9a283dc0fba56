"""Standard Webhooks signatures with per-merchant secrets; two are live during a rotation.

``webhook-signature: v1,<base64 HMAC-SHA256(secret, "{webhook-id}.{webhook-timestamp}.{body}")>``,
one entry per live secret, separated by spaces. Receivers verify with any Standard Webhooks
library. The secrets are sealed by the vault.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.db.models import WebhookSecret
from tollway.vault.keyring import Keyring

PURPOSE = "webhook.secret"
ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    payload = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, payload, hashlib.sha256).digest()).decode()


async def live_secrets(session: AsyncSession, keyring: Keyring, merchant_id: int, now: datetime) -> list[str]:
    """The merchant's live secrets, newest first; creates the first one when there is none."""
    rows = list(
        await session.scalars(
            select(WebhookSecret)
            .where(
                WebhookSecret.merchant_id == merchant_id,
                or_(WebhookSecret.expires_at.is_(None), WebhookSecret.expires_at > now),
            )
            .order_by(WebhookSecret.id.desc())
        )
    )
    if not rows:
        try:
            async with session.begin_nested():
                await rotate(session, keyring, merchant_id, now)
        except IntegrityError:
            pass  # another process created the merchant's first secret: use that one
        return await live_secrets(session, keyring, merchant_id, now)
    return [(await keyring.open(row.secret_sealed, PURPOSE)).reveal() for row in rows]


async def rotate(
    session: AsyncSession, keyring: Keyring, merchant_id: int, now: datetime, overlap: timedelta = ROTATION_OVERLAP
) -> str:
    """A new secret; the current ones keep signing for ``overlap`` so receivers can switch. Callers commit."""
    current = await session.scalars(
        select(WebhookSecret).where(WebhookSecret.merchant_id == merchant_id, WebhookSecret.expires_at.is_(None))
    )
    for row in current:
        row.expires_at = now + overlap
    await session.flush()  # one current secret at a time (a partial unique index)
    secret = new_secret()
    session.add(WebhookSecret(merchant_id=merchant_id, secret_sealed=keyring.seal(secret, PURPOSE), created_at=now))
    await session.flush()
    return secret
