"""Revoking a REST key pair: the one way, for the CLI and the console alike. Callers commit.

Revoking marks the key (``revoked_at``; the row stays, for the audit trail and the console's
list) and deletes its live token row, so no process can find the token in the database again.
Processes that checked the token recently trust their cache for at most
``tokens.CACHE_SECONDS``; the process that revoked can drop its own at once
(``TokenService.forget_key``) after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.clock import Clock
from tollway.db.models import AccessToken, ApiKey
from tollway.errors import NotFound


@dataclass(frozen=True)
class RevokedKey:
    api_key_id: int
    imp_key: str
    revoked_at: datetime
    #: False when it had been revoked before (nothing changed this time)
    newly: bool
    #: the merchant's keys still active afterwards
    active_left: int


async def revoke_api_key(session: AsyncSession, clock: Clock, merchant_id: int, imp_key: str) -> RevokedKey:
    """Revokes ``imp_key`` of this merchant (idempotent). Unknown, or another merchant's: ``NotFound``."""
    key = await session.scalar(
        select(ApiKey).where(ApiKey.merchant_id == merchant_id, ApiKey.imp_key == imp_key).with_for_update()
    )
    if key is None:
        raise NotFound("등록되지 않은 REST API 키입니다.", detail=f"this merchant has no imp_key {imp_key!r}")
    newly = key.revoked_at is None
    if newly:
        key.revoked_at = clock.now()
    await session.execute(delete(AccessToken).where(AccessToken.api_key_id == key.id))
    await session.flush()
    left = await session.scalar(
        select(func.count()).select_from(ApiKey).where(ApiKey.merchant_id == merchant_id, ApiKey.revoked_at.is_(None))
    )
    assert key.revoked_at is not None
    return RevokedKey(key.id, key.imp_key, key.revoked_at, newly, int(left or 0))
