"""Repeated authentication failures from one client are slowed down."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.conftest import MerchantFixture
from tollway.api.throttle import AuthThrottle
from tollway.clock import ManualClock
from tollway.services import Services


class TestAuthThrottle:
    def test_free_failures_then_doubling_delays_up_to_a_cap(self) -> None:
        throttle = AuthThrottle(ManualClock(), free=3, base_delay=0.5, max_delay=4)
        delays = [throttle.record_failure("1.2.3.4") for _ in range(8)]
        assert delays == [0, 0, 0, 0.5, 1, 2, 4, 4]

    def test_the_window_forgets_old_failures(self) -> None:
        clock = ManualClock()
        throttle = AuthThrottle(clock, free=1, window=timedelta(minutes=10))
        throttle.record_failure("a")
        assert throttle.record_failure("a") > 0
        clock.advance(minutes=11)
        assert throttle.record_failure("a") == 0

    def test_clients_are_counted_apart_and_success_clears(self) -> None:
        throttle = AuthThrottle(ManualClock(), free=1)
        throttle.record_failure("a")
        assert throttle.record_failure("a") > 0
        assert throttle.record_failure("b") == 0
        throttle.succeeded("a")
        assert throttle.record_failure("a") == 0


async def test_failed_get_token_calls_are_held_back(
    client: httpx.AsyncClient, services: Services, merchant: MerchantFixture
) -> None:
    slept: list[float] = []

    async def record(delay: float) -> None:
        slept.append(delay)

    services.throttle = AuthThrottle(services.clock, free=2, base_delay=0.25, sleep=record)
    for _ in range(4):
        answer = await client.post(
            "/users/getToken", json={"imp_key": merchant.imp_key, "imp_secret": "nope-nope-nope"}
        )
        assert answer.status_code == 401
    assert slept == [0.25, 0.5]
    for _ in range(2):
        assert (await client.get("/users/pg", headers={"Authorization": "bad"})).status_code == 401
    assert slept == [0.25, 0.5, 1.0, 2.0]
    ok = await client.post("/users/getToken", json={"imp_key": merchant.imp_key, "imp_secret": merchant.imp_secret})
    assert ok.status_code == 200
    assert (await client.get("/users/pg", headers={"Authorization": "bad"})).status_code == 401
    assert slept == [0.25, 0.5, 1.0, 2.0]  # the success cleared the record
