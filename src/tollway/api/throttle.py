"""Slowing down clients that keep failing to authenticate.

Each client (by address) may fail ``free`` times in ``window``; every failure after that waits
longer before it is answered, doubling up to ``max_delay``. A success clears the client's record.
The memory is bounded: the oldest clients are forgotten first.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tollway.clock import Clock


@dataclass
class _Record:
    first: datetime
    count: int


class AuthThrottle:
    def __init__(
        self,
        clock: Clock,
        *,
        free: int = 5,
        window: timedelta = timedelta(minutes=10),
        base_delay: float = 0.25,
        max_delay: float = 8.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        size: int = 50_000,
    ) -> None:
        self._clock = clock
        self._free = free
        self._window = window
        self._base = base_delay
        self._max = max_delay
        self._sleep = sleep
        self._size = size
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def delay_for(self, client: str) -> float:
        """How long the client's latest failure is held back (0 while it is within its free failures)."""
        record = self._records.get(client)
        if record is None or record.count <= self._free:
            return 0.0
        return float(min(self._base * 2.0 ** (record.count - self._free - 1), self._max))

    def record_failure(self, client: str) -> float:
        now = self._clock.now()
        record = self._records.get(client)
        if record is None or now - record.first > self._window:
            record = _Record(now, 0)
        record.count += 1
        self._records[client] = record
        self._records.move_to_end(client)
        if len(self._records) > self._size:
            self._records.popitem(last=False)
        return self.delay_for(client)

    async def failed(self, client: str) -> None:
        delay = self.record_failure(client)
        if delay:
            await self._sleep(delay)

    def succeeded(self, client: str) -> None:
        if self._records:
            self._records.pop(client, None)
