"""Time as a dependency: every rule that depends on "now" asks a ``Clock``.

Tests and demos swap in a ``ManualClock`` to make time pass without waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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


def to_unix(value: datetime | None) -> int:
    """Wire timestamps are integer UNIX seconds, 0 when unset (V1)."""
    return int(value.timestamp()) if value is not None else 0


def from_unix(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)
