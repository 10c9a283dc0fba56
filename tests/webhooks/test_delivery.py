"""Webhook delivery to a real HTTP receiver on loopback: once, retried, after outages and restarts,
signed (verified with the ``standardwebhooks`` library), never for a rolled-back change."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.api.routes.pg_helpers import onetime, reauth, v1_client
from tests.conftest import MerchantFixture, count_rows
from tollway.clock import ManualClock
from tollway.db.models import Payment, WebhookNotification, WebhookSettings
from tollway.payments.ledger import PaymentRequest, new_payment
from tollway.services import Services
from tollway.webhooks import outbox, signing
from tollway.webhooks.delivery import LEASE, Deliverer


@dataclass
class Receiver:
    port: int
    answers: list[int] = field(default_factory=list)  # statuses to answer first; then 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    server: uvicorn.Server | None = None
    task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        async def hook(request: Request) -> PlainTextResponse:
            self.received.append((dict(request.headers), await request.body()))
            status = self.answers.pop(0) if self.answers else 200
            return PlainTextResponse("ok" if status < 300 else "receiver is unwell", status_code=status)

        app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, port=self.port, log_level="warning", lifespan="off"))
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(300):
            if self.server.started:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the receiver did not start")

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.server = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver(free_port())
    await r.start()
    yield r
    await r.stop()


@pytest.fixture(autouse=True)
def real_time(clock: ManualClock) -> None:
    # webhook-timestamp must be near the receiver's real time for Standard Webhooks to accept it
    clock.set(datetime.now(UTC).replace(microsecond=0))


async def pay_with_hook(
    live: str, merchant: MerchantFixture, url: str, merchant_uid: str = "order-1"
) -> dict[str, Any]:
    async with v1_client(live, merchant) as api:
        body = (await api.post("/subscribe/payments/onetime", json=onetime(merchant_uid, notice_url=url))).json()
    assert body["code"] == 0 and body["response"]["status"] == "paid", body
    payment: dict[str, Any] = body["response"]
    return payment


async def secrets_of(services: Services, merchant: MerchantFixture) -> list[str]:
    async with services.sessions() as session:
        live = await signing.live_secrets(session, services.keyring, merchant.id, services.clock.now())
        await session.commit()
    return live


async def notifications(services: Services) -> list[WebhookNotification]:
    async with services.sessions() as session:
        return list(await session.scalars(select(WebhookNotification).order_by(WebhookNotification.id)))


async def test_a_payment_is_notified_once_with_v1_s_body_and_a_valid_signature(
    live: str, merchant: MerchantFixture, services: Services, receiver: Receiver
) -> None:
    paid = await pay_with_hook(live, merchant, receiver.url)
    stats = await Deliverer(services).run_until_idle()
    assert stats.delivered == 1 and (await Deliverer(services).run_until_idle()).delivered == 0
    ((headers, body),) = receiver.received
    assert headers["content-type"] == "application/json"
    (secret,) = await secrets_of(services, merchant)
    verified = Webhook(secret).verify(body, headers)
    assert verified == {"imp_uid": paid["imp_uid"], "merchant_uid": "order-1", "status": "paid"}
    (row,) = await notifications(services)
    assert (row.state, row.attempts, row.webhook_id) == ("delivered", 1, headers["webhook-id"])
    async with v1_client(live, merchant) as api:
        log = (await api.get("/tollway/webhooks")).json()["response"]
    assert log[0]["state"] == "delivered" and log[0]["attempts"][0]["status_code"] == 200
    assert log[0]["attempts"][0]["excerpt"] == "ok" and log[0]["attempts"][0]["latency_ms"] >= 0


async def test_a_500_then_a_200_is_delivered_with_both_attempts_logged(
    live: str, merchant: MerchantFixture, services: Services, receiver: Receiver, clock: ManualClock
) -> None:
    receiver.answers = [500]
    await pay_with_hook(live, merchant, receiver.url)
    first = await Deliverer(services).run_until_idle()
    assert (first.retried, first.delivered) == (1, 0)
    (row,) = await notifications(services)
    assert row.state == "pending" and row.next_attempt_at > clock.now() and row.last_error == "HTTP 500"
    assert (await Deliverer(services).run_until_idle()).delivered == 0  # not due yet
    clock.advance(seconds=15)
    assert (await Deliverer(services).run_until_idle()).delivered == 1
    async with v1_client(live, merchant) as api:
        await reauth(api, merchant)
        (entry,) = (await api.get("/tollway/webhooks")).json()["response"]
    assert [a["status_code"] for a in entry["attempts"]] == [500, 200]
    assert entry["attempts"][0]["excerpt"] == "receiver is unwell"
    assert len({h["webhook-id"] for h, _ in receiver.received}) == 1  # one id across retries


async def test_a_receiver_down_then_back_gets_it(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    down = Receiver(free_port())  # nothing listens yet
    await pay_with_hook(live, merchant, down.url)
    assert (await Deliverer(services).run_until_idle()).retried == 1
    (row,) = await notifications(services)
    assert row.last_error and "Connect" in row.last_error
    await down.start()
    try:
        clock.advance(seconds=15)
        assert (await Deliverer(services).run_until_idle()).delivered == 1
        assert len(down.received) == 1
    finally:
        await down.stop()


async def test_a_gateway_killed_mid_retry_delivers_after_restart(
    live: str, merchant: MerchantFixture, services: Services, receiver: Receiver, clock: ManualClock
) -> None:
    from tollway.app import build_services

    receiver.answers = [503, 503]
    await pay_with_hook(live, merchant, receiver.url, "order-a")
    await pay_with_hook(live, merchant, receiver.url, "order-b")
    assert (await Deliverer(services).run_until_idle()).retried == 2  # the receiver was unwell
    clock.advance(seconds=15)
    # a process claims one of the retries and dies before sending it
    (claimed,) = await Deliverer(services, name="dying").claim(1)
    restarted = build_services(services.settings, clock)  # a new process on the same database
    await restarted.start()
    try:
        survivor = Deliverer(restarted, name="restarted")
        assert (await survivor.run_until_idle()).delivered == 1  # the dead process's claim waits
        clock.advance(seconds=LEASE.total_seconds() + 1)
        assert (await survivor.run_until_idle()).delivered == 2  # …until its lease runs out
    finally:
        await restarted.close()
    assert claimed.webhook_id in {h["webhook-id"] for h, _ in receiver.received[2:]}
    assert {r.state for r in await notifications(services)} == {"delivered"}


async def test_a_rolled_back_change_sends_nothing(
    merchant: MerchantFixture, services: Services, receiver: Receiver
) -> None:
    from tollway.db.models import PgChannel

    async with services.sessions() as session:
        channel = await session.get(PgChannel, merchant.channel_id)
        assert channel is not None
        payment = new_payment(
            merchant.id, channel, PaymentRequest("rolled-back", 1000, notice_urls=(receiver.url,)), services.clock.now()
        )
        session.add(payment)
        await session.flush()
        assert len(await outbox.enqueue(session, payment, "paid", services.clock.now())) == 1
        await session.rollback()
    assert await count_rows(services, "webhook_notifications") == 0
    assert (await Deliverer(services).run_until_idle()).delivered == 0 and receiver.received == []


async def test_v1_strict_single_attempt_then_replay(
    live: str, merchant: MerchantFixture, services: Services, receiver: Receiver
) -> None:
    async with services.sessions() as session:
        now = services.clock.now()
        session.add(WebhookSettings(merchant_id=merchant.id, max_attempts=1, content_type="form", updated_at=now))
        await session.commit()
    receiver.answers = [500]
    paid = await pay_with_hook(live, merchant, receiver.url)
    assert (await Deliverer(services).run_until_idle()).failed == 1
    (row,) = await notifications(services)
    assert row.state == "failed"
    async with v1_client(live, merchant) as api:
        failed = (await api.get("/tollway/webhooks", params={"state": "failed"})).json()["response"]
        assert [f["webhook_id"] for f in failed] == [row.webhook_id]
        answer = await api.post(f"/tollway/webhooks/{row.webhook_id}/replay")
        assert answer.status_code == 200, answer.text
        queued = answer.json()
        assert queued["response"] == {"queued": 1}
    assert (await Deliverer(services).run_until_idle()).delivered == 1
    headers, body = receiver.received[-1]
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(body.decode())) == {"imp_uid": paid["imp_uid"], "merchant_uid": "order-1", "status": "paid"}
    (secret,) = await secrets_of(services, merchant)
    Webhook(secret).verify(body, headers, json_parse=False)  # raises when the signature does not match


async def test_the_default_url_cancels_with_enable_webhook_and_scheduled_failures(
    live: str, merchant: MerchantFixture, services: Services, receiver: Receiver
) -> None:
    async with services.sessions() as session:
        session.add(
            WebhookSettings(
                merchant_id=merchant.id,
                default_url=receiver.url,
                content_type="json",
                max_attempts=12,
                updated_at=services.clock.now(),
            )
        )
        await session.commit()
    async with v1_client(live, merchant) as api:
        paid = (await api.post("/subscribe/payments/onetime", json=onetime())).json()["response"]
        quiet = (await api.post("/payments/cancel", json={"imp_uid": paid["imp_uid"], "amount": 1000})).json()
        notify = {"imp_uid": paid["imp_uid"], "amount": 2000, "enable_webhook": True}
        loud = (await api.post("/payments/cancel", json=notify)).json()
        decline = onetime("order-2", card="4330-1234-1234-0013")
        declined = (await api.post("/subscribe/payments/onetime", json=decline)).json()
    assert quiet["code"] == loud["code"] == 0 and declined["response"]["status"] == "failed"
    await Deliverer(services).run_until_idle()
    bodies = [Webhook((await secrets_of(services, merchant))[0]).verify(b, h) for h, b in receiver.received]
    cancellation = loud["response"]["cancel_history"][-1]["cancellation_id"]
    assert sorted(bodies, key=lambda b: b["status"]) == [
        {"imp_uid": paid["imp_uid"], "merchant_uid": "order-1", "status": "cancelled", "cancellation_id": cancellation},
        {"imp_uid": paid["imp_uid"], "merchant_uid": "order-1", "status": "paid"},
    ]  # no notification for the quiet cancel, nor for an ordinary decline


async def test_a_rotated_secret_signs_with_both_during_the_overlap(
    live: str, merchant: MerchantFixture, services: Services, receiver: Receiver
) -> None:
    (old,) = await secrets_of(services, merchant)
    async with services.sessions() as session:
        new = await signing.rotate(session, services.keyring, merchant.id, services.clock.now())
        await session.commit()
    await pay_with_hook(live, merchant, receiver.url)
    await Deliverer(services).run_until_idle()
    ((headers, body),) = receiver.received
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)
    async with services.sessions() as session:
        stored = " ".join(str(v) for v in (await session.execute(select(*WebhookSettings.__table__.c))).all())
    assert old not in stored


async def test_a_forged_toss_webhook_changes_nothing_and_a_true_one_is_applied(
    live: str, merchant: MerchantFixture, services: Services, receiver: Receiver
) -> None:
    from tollway.db.models import PgChannel

    async with services.sessions() as session:
        channel = await session.get(PgChannel, merchant.channel_id)
        assert channel is not None
        ready = new_payment(merchant.id, channel, PaymentRequest("never-paid", 50000), services.clock.now())
        session.add(ready)
        await session.commit()
    paid = await pay_with_hook(live, merchant, receiver.url, "order-9")
    async with httpx.AsyncClient(base_url=live) as http:
        forged = await http.post(
            f"/webhooks/toss/{channel.channel_key}",
            json={"eventType": "PAYMENT_STATUS_CHANGED", "data": {"orderId": ready.imp_uid, "status": "DONE"}},
        )
        assert forged.status_code == 200 and forged.content == b""  # a bare 200: it tells a caller nothing
        # a cancel made in Toss's dashboard, then Toss's webhook about it
        auth = "Basic " + base64.b64encode(b"test_sk_tosstest:").decode()
        await http.post(
            f"/sandbox/toss/v1/payments/{paid['pg_tid']}/cancel",
            json={"cancelReason": "dashboard", "cancelAmount": 5000},
            headers={"Authorization": auth},
        )
        true = await http.post(
            f"/webhooks/toss/{channel.channel_key}",
            json={
                "eventType": "PAYMENT_STATUS_CHANGED",
                "data": {"paymentKey": paid["pg_tid"], "status": "PARTIAL_CANCELED"},
            },
        )
        assert true.status_code == 200 and true.content == b""
        unknown = await http.post("/webhooks/toss/no-such-channel", json={})
        assert unknown.status_code == 200 and unknown.content == b""
    async with services.sessions() as session:
        untouched = await session.get(Payment, ready.id)
        assert untouched is not None and untouched.status == "ready"
        after = await session.scalar(select(Payment).where(Payment.imp_uid == paid["imp_uid"]))
        assert after is not None and after.cancel_amount == 5000
    statuses = sorted(r.status for r in await notifications(services))
    assert statuses == ["cancelled", "paid"]


async def test_a_scheduled_charge_that_fails_is_notified(
    live: str, merchant: MerchantFixture, services: Services, receiver: Receiver, clock: ManualClock
) -> None:
    from tests.billing.test_customers import card
    from tollway.billing.worker import Worker
    from tollway.clock import to_unix

    async with v1_client(live, merchant) as api:
        assert (await api.post("/subscribe/customers/cu-poor", json=card("4330-1234-1234-0039"))).json()["code"] == 0
        entry = {"merchant_uid": "s-poor", "schedule_at": to_unix(clock.now()) + 60, "amount": 9900}
        body = {"customer_uid": "cu-poor", "schedules": [{**entry, "notice_url": receiver.url}]}
        assert (await api.post("/subscribe/payments/schedule", json=body)).json()["code"] == 0
    clock.advance(seconds=120)
    assert (await Worker(services).run_until_idle()).failed == 1
    await Deliverer(services).run_until_idle()
    ((headers, raw),) = receiver.received
    (secret,) = await secrets_of(services, merchant)
    assert Webhook(secret).verify(raw, headers)["status"] == "failed"


@pytest.mark.parametrize("url", ["http://bad host/hook", "ftp://example.com/hook", "https://ok.example/a\r\nX: y"])
async def test_a_url_that_can_never_be_delivered_to_fails_at_once(
    merchant: MerchantFixture, services: Services, url: str
) -> None:
    from tollway.db.models import PgChannel

    async with services.sessions() as session:
        channel = await session.get(PgChannel, merchant.channel_id)
        assert channel is not None
        payment = new_payment(
            merchant.id, channel, PaymentRequest("bad-url", 1000, notice_urls=(url,)), services.clock.now()
        )
        session.add(payment)
        await session.flush()
        await outbox.enqueue(session, payment, "paid", services.clock.now())
        await session.commit()
    stats = await Deliverer(services).run_until_idle()
    assert (stats.failed, stats.retried, stats.delivered) == (1, 0, 0)
    (row,) = await notifications(services)
    assert row.state == "failed" and row.attempts == 1 and "invalid URL" in (row.last_error or "")
