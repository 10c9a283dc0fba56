"""The request id travels with the work a request causes: its PG call's log line, and the webhook
that reports its outcome (logged under it, and sent to the merchant as ``X-Request-Id``)."""

from __future__ import annotations

import httpx

from tests.api.routes.pg_helpers import onetime
from tests.conftest import MerchantFixture, token_for
from tests.webhooks.test_delivery import Receiver, free_port
from tollway.services import Services
from tollway.webhooks.delivery import Deliverer


async def test_a_webhook_carries_the_request_id_of_the_payment_it_reports(
    live: str, merchant: MerchantFixture, services: Services
) -> None:
    receiver = Receiver(free_port())
    await receiver.start()
    try:
        async with httpx.AsyncClient(base_url=live, timeout=30) as http:
            http.headers["Authorization"] = await token_for(http, merchant)
            paid = await http.post(
                "/subscribe/payments/onetime",
                json=onetime("rid-1", notice_url=receiver.url),
                headers={"X-Request-Id": "shop-order-rid-1"},
            )
            assert paid.headers["x-request-id"] == "shop-order-rid-1"
            unsent = await http.post("/subscribe/payments/onetime", json=onetime("rid-2", notice_url=receiver.url))
            made = unsent.headers["x-request-id"]
        await Deliverer(services).run_until_idle()
    finally:
        await receiver.stop()
    sent = sorted(headers["x-request-id"] for headers, _ in receiver.received)
    assert sent == sorted(["shop-order-rid-1", made])


async def test_an_unusable_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    for bad in ("x" * 200, "two words", "new\\nline"):
        answer = await client.get("/healthz", headers={"X-Request-Id": bad})
        assert answer.headers["x-request-id"] != bad and len(answer.headers["x-request-id"]) == 32
