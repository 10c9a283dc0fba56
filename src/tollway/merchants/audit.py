"""The audit log: every state-changing console action (and console-user command), who, when, what,
from where. Written in the transaction of the change where the change is local, and right after it
where the change calls a PG (a cancel), with its outcome. ``detail`` never holds a secret."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.db.console_models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who acts: a console user (id and email) from an address, or a command (``user_id`` None)."""

    user_id: int | None
    email: str
    ip: str | None


CLI = Actor(None, "cli", None)


def record(
    session: AsyncSession,
    actor: Actor,
    at: datetime,
    *,
    merchant_id: int | None,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    ok: bool = True,
) -> AuditEntry:
    entry = AuditEntry(
        merchant_id=merchant_id,
        user_id=actor.user_id,
        actor=actor.email[:200],
        action=action,
        target=(target or "")[:200] or None,
        detail=orjson.dumps(detail).decode() if detail else None,
        ok=ok,
        ip=actor.ip,
        at=at,
    )
    session.add(entry)
    return entry


async def entries(
    session: AsyncSession, merchant_id: int, *, before: int | None = None, limit: int = 50
) -> list[AuditEntry]:
    """Newest first; ``before`` (an entry id) pages back."""
    query = select(AuditEntry).where(AuditEntry.merchant_id == merchant_id)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    return list(await session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))
