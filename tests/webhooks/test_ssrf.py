"""Outgoing webhooks never reach loopback, private, link-local or metadata addresses unless the
operator allows it (issue 13, item 6); the address is judged as connected, not as named."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import MerchantFixture, add_live_channel
from tests.webhooks.test_delivery import Receiver, free_port, notifications, pay_with_hook
from tollway.clock import ManualClock
from tollway.http import PublicOnlyResolver, is_public
from tollway.services import Services
from tollway.webhooks.delivery import Deliverer


@pytest.fixture(autouse=True)
def real_time(clock: ManualClock) -> None:
    clock.set(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver(free_port())
    await r.start()
    yield r
    await r.stop()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.100.100.200",  # shared address space (a cloud's metadata too)
        "fd00:ec2::254",
        "fe80::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",  # noqa: S104 - an address judged, not bound
        "224.0.0.1",
        "not-an-ip",
    ],
)
def test_private_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"])
def test_public_addresses_are(address: str) -> None:
    assert is_public(address)


class _Rebinding:
    """A DNS answer that changes between lookups, as a rebinding attacker's server does."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, Any]]:
        address = self.answers.pop(0)
        return [{"hostname": host, "host": address, "port": port, "family": family, "proto": 0, "flags": 0}]

    async def close(self) -> None:
        pass


async def test_every_connection_judges_the_address_it_resolves_to() -> None:
    resolver = PublicOnlyResolver()
    resolver._inner = _Rebinding("93.184.216.34", "127.0.0.1")  # type: ignore[assignment]
    assert [r["host"] for r in await resolver.resolve("rebind.example", 80)] == ["93.184.216.34"]
    with pytest.raises(OSError, match="no public address"):
        await resolver.resolve("rebind.example", 80)


async def _live_installation(services: Services, merchant: MerchantFixture) -> None:
    await add_live_channel(services, merchant.id, "livemid")


@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}/hook", "http://localhost:{port}/hook"])
async def test_a_live_installation_refuses_a_private_target(
    live: str, merchant: MerchantFixture, services: Services, receiver: Receiver, target: str
) -> None:
    await _live_installation(services, merchant)
    await pay_with_hook(live, merchant, target.format(port=receiver.port))
    stats = await Deliverer(services).run_until_idle()
    assert stats.delivered == 0 and receiver.received == []
    (row,) = await notifications(services)
    assert row.state == "pending" and row.last_error and "public address" in row.last_error, row.last_error


async def test_the_operator_may_allow_private_targets(
    live: str, merchant: MerchantFixture, services: Services, receiver: Receiver
) -> None:
    await _live_installation(services, merchant)
    services.settings.webhook_allow_private = True
    await pay_with_hook(live, merchant, receiver.url)
    assert (await Deliverer(services).run_until_idle()).delivered == 1 and len(receiver.received) == 1


async def test_a_sandbox_only_installation_allows_them_unless_told_not_to(
    live: str, merchant: MerchantFixture, services: Services, receiver: Receiver
) -> None:
    await pay_with_hook(live, merchant, receiver.url, merchant_uid="order-a")
    assert (await Deliverer(services).run_until_idle()).delivered == 1
    services.settings.webhook_allow_private = False
    await pay_with_hook(live, merchant, receiver.url, merchant_uid="order-b")
    assert (await Deliverer(services).run_until_idle()).delivered == 0 and len(receiver.received) == 1
