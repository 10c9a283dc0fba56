"""Time as a dependency: every rule that depends on "now" asks a ``Clock``.

Tests and demos swap in a ``ManualClock`` to make time pass without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, UTC-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)

    def set(self, when: datetime) -> None:
        self._now = when


async def rest(stop: asyncio.Event, seconds: float) -> None:
    """A periodic loop's pause: ``seconds``, or less when ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def to_unix(value: datetime | None) -> int:
    """Wire timestamps are integer UNIX seconds, 0 when unset (V1)."""
    return int(value.timestamp()) if value is not None else 0


def from_unix(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


#: Korea Standard Time (UTC+9, no daylight saving): the console's dates and the dashboard's days.
KST = timezone(timedelta(hours=9), "KST")


def kst_day(value: datetime) -> str:
    """The KST calendar day of an instant, ``YYYY-MM-DD``."""
    return value.astimezone(KST).strftime("%Y-%m-%d")


def kst_day_start(day: str) -> datetime:
    """The instant a KST day (``YYYY-MM-DD``) begins; ``ValueError`` for anything else."""
    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=KST)
