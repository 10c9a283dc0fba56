"""Failed sign-ins are counted in the database, per address and per key, and refused with 429."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.conftest import MerchantFixture, count_rows, make_merchant
from tollway.api.throttle import AuthThrottle, _Slots
from tollway.app import create_app
from tollway.clock import ManualClock
from tollway.errors import TooManyRequests, Unauthorized
from tollway.observability.metrics import AUTH_REFUSALS
from tollway.services import Services

TOO_MANY = "요청이 너무 많습니다. 잠시 후 다시 시도해주세요."


def _throttle(services: Services, burst: int = 3, **kw: float) -> AuthThrottle:
    services.throttle = AuthThrottle(services.sessions, services.clock, burst=burst, **kw)  # type: ignore[arg-type]
    return services.throttle


async def _wrong(client: httpx.AsyncClient, imp_key: str, **headers: str) -> httpx.Response:
    return await client.post(
        "/users/getToken", json={"imp_key": imp_key, "imp_secret": "wrong-secret-123"}, headers=headers
    )


async def _right(client: httpx.AsyncClient, m: MerchantFixture, **headers: str) -> httpx.Response:
    return await client.post(
        "/users/getToken", json={"imp_key": m.imp_key, "imp_secret": m.imp_secret}, headers=headers
    )


class TestGetTokenThrottle:
    async def test_a_burst_of_wrong_secrets_is_refused_with_429_and_a_v1_envelope(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture
    ) -> None:
        _throttle(services, burst=3, lockout=60)
        codes = [(await _wrong(client, merchant.imp_key)).status_code for _ in range(3)]
        assert codes == [401, 401, 401]
        refused = await _wrong(client, merchant.imp_key)
        assert refused.status_code == 429
        assert refused.json() == {"code": -1, "message": TOO_MANY, "response": None}
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # the right secret is refused too while the key and the address are blocked
        assert (await _right(client, merchant)).status_code == 429

    async def test_the_block_ends_after_the_lockout(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, clock: ManualClock
    ) -> None:
        _throttle(services, burst=2, lockout=30, window=10)
        for _ in range(2):
            await _wrong(client, merchant.imp_key)
        assert (await _right(client, merchant)).status_code == 429
        clock.advance(seconds=31)
        assert (await _right(client, merchant)).status_code == 200

    async def test_another_keys_success_does_not_reset_the_address(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture
    ) -> None:
        other = await make_merchant(services, "Other", mid="tossother")
        _throttle(services, burst=4)
        for _ in range(3):
            assert (await _wrong(client, merchant.imp_key)).status_code == 401
        assert (await _right(client, other)).status_code == 200  # an attacker's own key, say
        assert (await _wrong(client, merchant.imp_key)).status_code == 401  # the fourth failure
        assert (await _wrong(client, "some-other-key")).status_code == 429  # the address is blocked

    async def test_a_key_is_blocked_whatever_address_tries_it(
        self, services: Services, merchant: MerchantFixture
    ) -> None:
        services.settings.forwarded_allow_ips = "*"
        app = create_app(services=services)
        _throttle(services, burst=3)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tollway.test") as client:
            for i in range(3):  # three addresses, one key
                answer = await _wrong(client, merchant.imp_key, **{"x-forwarded-for": f"203.0.113.{i}"})
                assert answer.status_code == 401
            answer = await _wrong(client, merchant.imp_key, **{"x-forwarded-for": "203.0.113.99"})
            assert answer.status_code == 429
            # an untouched key from a fresh address is fine: the block is the key's
            other = await make_merchant(services, "Other", mid="tossother")
            assert (await _right(client, other, **{"x-forwarded-for": "203.0.113.100"})).status_code == 200

    async def test_a_known_blocked_address_is_answered_in_front_of_the_stack(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture
    ) -> None:
        _throttle(services, burst=2)
        for _ in range(2):
            await _wrong(client, merchant.imp_key)
        # not even a body: the route would answer 400, the shedding middleware answers first
        before = AUTH_REFUSALS.labels("blocked")._value.get()
        answer = await client.post("/users/getToken", content=b"{not json")
        assert answer.status_code == 429 and answer.json()["message"] == TOO_MANY
        assert "retry-after" in answer.headers
        assert AUTH_REFUSALS.labels("blocked")._value.get() == before + 1  # counted, though never routed

    async def test_forwarded_for_is_ignored_unless_the_peer_is_a_configured_proxy(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture
    ) -> None:
        assert services.settings.forwarded_allow_ips == ""  # the default: trust no proxy
        _throttle(services, burst=3)
        for i in range(3):  # a different claimed address each time: still one client
            assert (await _wrong(client, f"key-{i}", **{"x-forwarded-for": f"198.51.100.{i}"})).status_code == 401
        answer = await _wrong(client, "key-x", **{"x-forwarded-for": "198.51.100.200"})
        assert answer.status_code == 429

    async def test_beyond_the_bound_and_its_waiting_room_attempts_are_refused_at_once(self, services: Services) -> None:
        throttle = AuthThrottle(services.sessions, services.clock, concurrency=2, queue=0)
        release = asyncio.Event()
        inside = [asyncio.Event(), asyncio.Event()]

        async def attempt(i: int) -> None:
            async with throttle.guard("api.addr:a"):
                inside[i].set()
                await release.wait()

        holders = [asyncio.create_task(attempt(i)) for i in range(2)]
        for event in inside:
            await event.wait()
        with pytest.raises(TooManyRequests):
            async with throttle.guard("api.addr:b"):
                pass
        release.set()
        await asyncio.gather(*holders)
        async with throttle.guard("api.addr:b"):  # room again
            pass


async def test_records_that_no_longer_count_are_pruned(services: Services, clock: ManualClock) -> None:
    throttle = AuthThrottle(services.sessions, services.clock, burst=5, window=60, lockout=60, prune_every=1)
    for address in ("10.0.0.1", "10.0.0.2"):
        with pytest.raises(Unauthorized):
            async with throttle.guard(f"api.addr:{address}"):
                raise Unauthorized("no")
    assert await count_rows(services, "auth_failures") == 2
    clock.advance(seconds=61)
    with pytest.raises(Unauthorized):
        async with throttle.guard("api.addr:10.0.0.3"):
            raise Unauthorized("no")
    assert await count_rows(services, "auth_failures") == 1  # the two stale ones are gone


class TestSharedAcrossProcesses:
    async def test_a_block_counted_by_one_process_is_honoured_by_another(
        self, services: Services, merchant: MerchantFixture
    ) -> None:
        """Two throttles over one database stand for two processes: they share nothing but it."""
        first = AuthThrottle(services.sessions, services.clock, burst=3)
        second = AuthThrottle(services.sessions, services.clock, burst=3)
        for throttle in (first, second, first):  # failures split over both
            with pytest.raises(Unauthorized):
                async with throttle.guard("api.addr:10.0.0.1"):
                    raise Unauthorized("no")
        with pytest.raises(TooManyRequests):
            async with second.guard("api.addr:10.0.0.1"):
                pass


async def test_bad_tokens_are_answered_401_without_delay(client: httpx.AsyncClient, services: Services) -> None:
    """Tokens are 160 random bits: guessing them is hopeless, so a bad one is a plain 401 (the
    throttle guards key pairs and passwords)."""
    _throttle(services, burst=1)
    for _ in range(3):
        assert (await client.get("/users/pg", headers={"Authorization": "bad"})).status_code == 401


class TestSlots:
    """The sign-in slots: in turn, bounded waits, and no slot lost to a cancelled waiter."""

    async def test_waiters_are_served_in_turn_and_a_late_one_gives_up(self) -> None:
        slots = _Slots(1)
        assert await slots.take(0)
        served: list[str] = []

        async def wait(name: str, patience: float) -> None:
            if await slots.take(patience):
                served.append(name)

        first = asyncio.create_task(wait("first", 5))
        second = asyncio.create_task(wait("second", 5))
        late = asyncio.create_task(wait("late", 0.05))
        await asyncio.sleep(0.1)
        assert late.done() and served == []  # gave up: no slot came in time
        slots.give()
        await first
        assert served == ["first"] and not second.done()
        slots.give()
        await second
        slots.give()
        assert served == ["first", "second"] and slots.free == 1  # the one that gave up took none

    async def test_a_waiter_cancelled_as_it_is_served_gives_its_slot_back(self) -> None:
        slots = _Slots(1)
        assert await slots.take(0)
        waiter = asyncio.create_task(slots.take(5))
        await asyncio.sleep(0)
        slots.give()  # handed over…
        waiter.cancel()  # …and cancelled before it ran
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert slots.free == 1 and await slots.take(0)
