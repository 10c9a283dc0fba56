"""``/webhooks/toss/{channel_key}`` tells a caller nothing and cannot be used to make the gateway
hammer the PG (issue 13, item 9): a bare 200, and one lookup per payment within a few seconds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.routes.pg_helpers import onetime, v1_client
from tests.conftest import MerchantFixture
from tollway.api.routes import webhooks
from tollway.db.models import PgChannel
from tollway.services import Services


@pytest.fixture(autouse=True)
async def fresh_memory() -> AsyncIterator[None]:
    webhooks._next_lookup.clear()
    yield
    for task in list(webhooks._deferred.values()):
        task.cancel()
    webhooks._deferred.clear()


async def test_a_burst_of_webhooks_is_one_lookup_and_a_bare_200(
    live: str, merchant: MerchantFixture, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with v1_client(live, merchant) as api:
        paid = [
            (await api.post("/subscribe/payments/onetime", json=onetime(f"hook-{i}"))).json()["response"]
            for i in range(2)
        ]
    lookups: list[str] = []
    real = services.pg.for_channel

    async def counting(channel: PgChannel) -> Any:
        connector = await real(channel)

        class Counted:
            async def get_payment(self, key: str) -> Any:
                lookups.append(key)
                return await connector.get_payment(key)

            async def get_payment_by_order(self, order_id: str) -> Any:
                lookups.append(order_id)
                return await connector.get_payment_by_order(order_id)

        return Counted()

    monkeypatch.setattr(services.pg, "for_channel", counting)
    async with services.sessions() as session:
        key = await session.scalar(select(PgChannel.channel_key).where(PgChannel.id == merchant.channel_id))
    async with httpx.AsyncClient(base_url=live) as toss:
        for _ in range(10):
            for p in paid:
                answer = await toss.post(f"/webhooks/toss/{key}", json={"data": {"paymentKey": p["pg_tid"]}})
                assert answer.status_code == 200 and answer.content == b"", answer.text
        for unknown in ({"data": {"orderId": "imp_000000000000"}}, {}, []):
            answer = await toss.post(f"/webhooks/toss/{key}", json=unknown)
            assert answer.status_code == 200 and answer.content == b""
        other = await toss.post("/webhooks/toss/no-such-channel", json={"data": {"paymentKey": paid[0]["pg_tid"]}})
        assert other.status_code == 200 and other.content == b""
    assert sorted(lookups) == sorted(p["pg_tid"] for p in paid)  # one each, not ten ...
    assert sorted(webhooks._deferred) == sorted(p["imp_uid"] for p in paid)  # ... and one owed each, later
