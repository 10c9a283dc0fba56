"""``tollway serve``'s background loops stop on an event after the round they are in: none is
cancelled mid-write (a roll-up cancelled mid-transaction left SQLite's write lock behind, and the
drain's own writes waited 30 s for it)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tollway.checkout import flow
from tollway.payments import reconcile, stats
from tollway.services import Services


async def test_a_roll_up_in_progress_finishes_before_the_loop_stops(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    rounds: list[str] = []
    started = asyncio.Event()

    async def slow_roll_up(*_: Any) -> int:
        started.set()
        await asyncio.sleep(0.2)
        rounds.append("done")
        return 0

    monkeypatch.setattr(stats, "roll_up_all", slow_roll_up)
    stop = asyncio.Event()
    loop = asyncio.create_task(stats.run_periodically(services, 600, stop))
    await started.wait()
    stop.set()  # mid-roll-up
    await asyncio.wait_for(loop, 5)
    assert rounds == ["done"]


@pytest.mark.parametrize("which", ["reconcile", "expire"])
async def test_a_resting_loop_stops_at_once(services: Services, which: str) -> None:
    stop = asyncio.Event()
    run = reconcile.run_periodically if which == "reconcile" else flow.expire_periodically
    loop = asyncio.create_task(run(services, 600, stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(loop, 1)  # not after its 600 s interval
