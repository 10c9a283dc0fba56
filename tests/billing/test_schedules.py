"""Scheduled payments and the worker, end to end through the sandbox PG."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.routes.pg_helpers import APPROVE, INSUFFICIENT, reauth, sandbox_ledger, v1_client
from tests.billing.test_customers import card
from tests.conftest import MerchantFixture, count_rows
from tests.v1_text import korean_only, said
from tollway.billing.worker import Worker
from tollway.clock import ManualClock, to_unix
from tollway.db.models import PaymentSchedule
from tollway.pg.base import PgUnknown
from tollway.pg.toss.connector import TossConnector
from tollway.services import Services

HOUR = 3600


def entry(merchant_uid: str, at: int, amount: int = 9900, **extra: Any) -> dict[str, Any]:
    return {"merchant_uid": merchant_uid, "schedule_at": at, "amount": amount, "name": "정기구독", **extra}


async def register(api: httpx.AsyncClient, customer_uid: str = "cu-1", number: str = APPROVE) -> None:
    answer = (await api.post(f"/subscribe/customers/{customer_uid}", json=card(number))).json()
    assert answer["code"] == 0, answer


async def schedule(api: httpx.AsyncClient, customer_uid: str, *entries: dict[str, Any], **extra: Any) -> Any:
    body = {"customer_uid": customer_uid, "schedules": entries, **extra}
    return (await api.post("/subscribe/payments/schedule", json=body)).json()


async def test_register_read_and_list_schedules(live: str, merchant: MerchantFixture, clock: ManualClock) -> None:
    now = to_unix(clock.now())
    async with v1_client(live, merchant) as api:
        await register(api)
        body = await schedule(api, "cu-1", entry("s-1", now + HOUR), entry("s-2", now + 2 * HOUR, 5000, buyer_name="X"))
        assert body["code"] == 0, body
        first, second = body["response"]
        assert (first["merchant_uid"], first["schedule_at"], first["amount"], first["schedule_status"]) == (
            "s-1",
            now + HOUR,
            9900,
            "scheduled",
        )
        assert first["imp_uid"] is None and first["payment_status"] is None and first["executed_at"] == 0
        assert (first["customer_uid"], first["pg_provider"], first["pg_id"], first["currency"]) == (
            "cu-1",
            "tosspayments",
            "tosstest",
            "KRW",
        )
        assert second["buyer_name"] == "X"
        assert (await api.get("/subscribe/payments/schedule/s-1")).json()["response"] == first
        assert (await api.get("/subscribe/payments/schedule/nope")).status_code == 404

        listed = (
            await api.get("/subscribe/payments/schedule", params={"schedule_from": now, "schedule_to": now + 3 * HOUR})
        ).json()["response"]
        assert listed["total"] == 2 and [s["merchant_uid"] for s in listed["list"]] == ["s-2", "s-1"]
        oldest = (
            await api.get(
                "/subscribe/payments/schedule",
                params={"from": now, "to": now + 3 * HOUR, "sorting": "scheduled", "limit": 1},
            )
        ).json()["response"]
        assert [s["merchant_uid"] for s in oldest["list"]] == ["s-1"] and oldest["next"] == 2
        by_customer = (
            await api.get(
                "/subscribe/payments/schedule/customers/cu-1",
                params={"from": now, "to": now + 3 * HOUR, "schedule-status": "scheduled"},
            )
        ).json()["response"]
        java_style = (
            await api.get(
                "/subscribe/customers/cu-1/schedules",
                params={"schedule_from": now, "schedule_to": now + 3 * HOUR, "schedule_status": "scheduled"},
            )
        ).json()["response"]
        assert by_customer == java_style and by_customer["total"] == 2
        revoked_only = (
            await api.get(
                "/subscribe/payments/schedule/customers/cu-1",
                params={"from": now, "to": now + 3 * HOUR, "schedule-status": "revoked"},
            )
        ).json()["response"]
        assert revoked_only["total"] == 0


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        ({"schedules": [entry("s-1", 0)]}, 400, "must be in the future"),
        ({"schedules": [entry("s-1", 10**10), entry("s-1", 10**10)]}, 400, "appears twice"),
        ({"schedules": [entry("s-1", 10**10, amount="9900")]}, 400, "not a string"),  # type: ignore[arg-type]
        ({"schedules": [entry("s-1", "soon")]}, 400, "schedule_at"),  # type: ignore[arg-type]
        ({"schedules": []}, 400, "schedules"),
        ({"schedules": [entry("s-1", 10**10, card_quota=1)]}, 400, "card_quota"),
    ],
)
async def test_bad_schedules_are_400_and_register_nothing(
    live: str, merchant: MerchantFixture, services: Services, body: dict[str, Any], status: int, expected: str
) -> None:
    async with v1_client(live, merchant) as api:
        await register(api)
        answer = await api.post("/subscribe/payments/schedule", json={"customer_uid": "cu-1", **body})
    assert answer.status_code == status and expected in said(answer), answer.text
    assert korean_only(answer.json()["message"])
    assert await count_rows(services, "payment_schedules") == 0


async def test_unknown_customers_need_a_card(live: str, merchant: MerchantFixture, clock: ManualClock) -> None:
    at = to_unix(clock.now()) + HOUR
    async with v1_client(live, merchant) as api:
        nobody = await schedule(api, "cu-new", entry("s-1", at))
        assert nobody["code"] == 1 and "등록된 고객정보가 없습니다" in nobody["message"]
        with_card = await schedule(api, "cu-new", entry("s-1", at), customer_id="buyer-7", **card())
        assert with_card["code"] == 0 and with_card["response"][0]["customer_id"] == "buyer-7"
        assert (await api.get("/subscribe/customers/cu-new")).json()["response"]["customer_id"] == "buyer-7"
        taken = await schedule(api, "cu-new", entry("s-1", at + 1))
        assert taken["code"] == 1 and "s-1" in taken["message"]  # i'mport names the merchant_uid


async def test_unschedule(live: str, merchant: MerchantFixture, clock: ManualClock) -> None:
    at = to_unix(clock.now()) + HOUR
    async with v1_client(live, merchant) as api:
        await register(api)
        await schedule(api, "cu-1", entry("s-1", at), entry("s-2", at), entry("s-3", at))
        body = {"customer_uid": "cu-1", "merchant_uid": "s-1"}
        one = (await api.post("/subscribe/payments/unschedule", json=body)).json()
        assert [s["merchant_uid"] for s in one["response"]] == ["s-1"]
        assert one["response"][0]["schedule_status"] == "revoked" and one["response"][0]["revoked_at"] > 0
        rest = (await api.post("/subscribe/payments/unschedule", json={"customer_uid": "cu-1"})).json()
        assert sorted(s["merchant_uid"] for s in rest["response"]) == ["s-2", "s-3"]
        nothing = (await api.post("/subscribe/payments/unschedule", json={"customer_uid": "cu-1"})).json()
        assert nothing == {"code": 1, "message": "취소할 예약결제 기록이 존재하지 않습니다.", "response": None}


async def test_the_worker_charges_due_schedules_once(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    now = to_unix(clock.now())
    async with v1_client(live, merchant) as api:
        await register(api)
        await register(api, "cu-poor", INSUFFICIENT)
        await schedule(api, "cu-1", entry("s-1", now + HOUR), entry("s-later", now + 48 * HOUR))
        await schedule(api, "cu-poor", entry("s-poor", now + HOUR))
        worker = Worker(services, concurrency=4)
        assert (await worker.run_until_idle()).claimed == 0  # nothing is due yet
        clock.advance(hours=2)
        await reauth(api, merchant)
        stats = await worker.run_until_idle()
        assert (stats.claimed, stats.paid, stats.failed) == (2, 1, 1)
        shown = await api.get("/subscribe/payments/schedule/s-1")
        paid = shown.json()["response"]
        assert paid is not None, shown.text
        assert (paid["schedule_status"], paid["payment_status"], paid["fail_reason"]) == ("executed", "paid", None)
        assert paid["executed_at"] > 0 and paid["imp_uid"]
        payment = (await api.get(f"/payments/{paid['imp_uid']}")).json()["response"]
        assert (payment["status"], payment["customer_uid_usage"], payment["merchant_uid"]) == (
            "paid",
            "payment.scheduled",
            "s-1",
        )
        poor = (await api.get("/subscribe/payments/schedule/s-poor")).json()["response"]
        assert (poor["payment_status"], poor["schedule_status"]) == ("failed", "executed")
        assert "REJECT_CARD_PAYMENT" in poor["fail_reason"]
        later = (await api.get("/subscribe/payments/schedule/s-later")).json()["response"]
        assert later["schedule_status"] == "scheduled"
        assert (await worker.run_until_idle()).claimed == 2  # nothing more was claimed

        # a failed schedule can be rescheduled, or retried at once
        past = await api.post("/subscribe/payments/schedule/s-poor/reschedule", json={"schedule_at": now})
        assert past.json()["code"] == 1 and "future" in said(past)
        assert past.json()["message"] == "schedule_at 파라메터가 올바르지 않습니다."
        again = (
            await api.post("/subscribe/payments/schedule/s-poor/reschedule", json={"schedule_at": now + 5 * HOUR})
        ).json()["response"]
        assert (again["schedule_status"], again["payment_status"], again["imp_uid"]) == ("scheduled", None, None)
        refused_retry = await api.post("/subscribe/payments/schedule/s-1/retry")
        assert refused_retry.json()["code"] == 1 and "not failed or revoked" in said(refused_retry)
    charges = [c for c in await sandbox_ledger(live) if c["type"] == "BILLING"]
    assert sorted(c["status"] for c in charges) == ["ABORTED", "DONE"]


async def test_change_time_and_retry(live: str, merchant: MerchantFixture, clock: ManualClock) -> None:
    now = to_unix(clock.now())
    async with v1_client(live, merchant) as api:
        await register(api)
        await schedule(api, "cu-1", entry("s-1", now + HOUR))
        moved = (await api.put("/subscribe/payments/schedule/s-1", json={"schedule_at": now + 9 * HOUR})).json()
        assert moved["response"]["schedule_at"] == now + 9 * HOUR
        await api.post("/subscribe/payments/unschedule", json={"customer_uid": "cu-1", "merchant_uid": ["s-1"]})
        refused = await api.put("/subscribe/payments/schedule/s-1", json={"schedule_at": now + 10 * HOUR})
        assert refused.status_code == 400 and "revoked" in said(refused)
        retried = (await api.post("/subscribe/payments/schedule/s-1/retry")).json()
        assert retried["code"] == 0 and retried["response"]["status"] == "paid"
        done = (await api.get("/subscribe/payments/schedule/s-1")).json()["response"]
        assert (done["schedule_status"], done["payment_status"]) == ("executed", "paid")


async def test_the_test_clock_makes_sandbox_schedules_due(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    now = to_unix(clock.now())
    async with v1_client(live, merchant) as api:
        await register(api)
        await schedule(api, "cu-1", entry("s-month", now + 30 * 86400))
        moved = (await api.post("/tollway/test-clock/advance", json={"seconds": 31 * 86400})).json()["response"]
        assert moved == {"offset_seconds": 31 * 86400, "schedules_moved": 1}
        assert (await Worker(services).run_until_idle()).paid == 1  # the real clock did not move
        shown = (await api.get("/subscribe/payments/schedule/s-month")).json()["response"]
        assert shown["schedule_at"] == now + 30 * 86400 and shown["payment_status"] == "paid"
        # new schedules are checked against the moved clock
        stale = await schedule(api, "cu-1", entry("s-stale", now + 30 * 86400))
        assert stale["code"] == 1 and stale["message"] == "schedule_at 파라메터가 올바르지 않습니다."
        assert (await api.post("/tollway/test-clock/advance", json={"seconds": 0})).status_code == 400


async def test_the_test_clock_never_moves_live_channels(live: str, services: Services) -> None:
    from tests.conftest import add_live_channel, token_for
    from tollway.merchants.service import create_merchant

    async with services.sessions() as session:
        new = await create_merchant(session, services.clock, services.vault, "Live only")
        await session.commit()
    await add_live_channel(services, new.merchant.id, "livemid")
    from tests.conftest import MerchantFixture as MF

    m = MF(new.merchant.id, new.merchant.user_code, new.key_pair.imp_key, new.key_pair.imp_secret.reveal(), 0)
    async with httpx.AsyncClient(base_url=live) as api:
        api.headers["Authorization"] = await token_for(api, m)
        answer = await api.post("/tollway/test-clock/advance", json={"seconds": 60})
    assert answer.status_code == 400 and "live channels never move" in said(answer)


async def test_workers_side_by_side_charge_each_schedule_once(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    now = to_unix(clock.now())
    async with v1_client(live, merchant) as api:
        await register(api)
        for batch in range(4):
            entries = [entry(f"s-{batch}-{i}", now + HOUR, 1000 + i) for i in range(30)]
            assert (await schedule(api, "cu-1", *entries))["code"] == 0
    clock.advance(hours=2)
    workers = [Worker(services, concurrency=8, name=f"w{i}") for i in range(3)]
    await asyncio.gather(*(w.run_until_idle() for w in workers))
    assert sum(w.stats.claimed for w in workers) == 120 and sum(w.stats.paid for w in workers) == 120
    charges = [c for c in await sandbox_ledger(live) if c["type"] == "BILLING"]
    assert len(charges) == 120 and len({c["orderId"] for c in charges}) == 120
    async with services.sessions() as session:
        statuses = set(await session.scalars(select(PaymentSchedule.payment_status)))
    assert statuses == {"paid"}


async def test_a_crashed_worker_s_claims_are_recovered_without_charging_twice(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = to_unix(clock.now())
    async with v1_client(live, merchant) as api:
        await register(api)
        await schedule(api, "cu-1", entry("s-lost", now + HOUR), entry("s-unopened", now + HOUR))
    clock.advance(hours=2)
    # a worker claims both, charges one at the PG but dies before hearing back, and never opens the other
    real = TossConnector.charge_billing_key

    async def charge_then_die(self: TossConnector, *args: Any, **kwargs: Any) -> Any:
        await real(self, *args, **kwargs)
        raise PgUnknown("TIMEOUT", "the worker died")

    monkeypatch.setattr(TossConnector, "charge_billing_key", charge_then_die)
    dying = Worker(services, name="dying", lease=timedelta(seconds=60))
    claimed = await dying.claim(2)
    async with services.sessions() as session:
        lost = await session.scalar(select(PaymentSchedule.id).where(PaymentSchedule.merchant_uid == "s-lost"))
    assert lost in claimed
    await dying._execute(lost)
    monkeypatch.setattr(TossConnector, "charge_billing_key", real)
    async with v1_client(live, merchant) as api:
        pending = (await api.get("/subscribe/payments/schedule/s-lost")).json()["response"]
        assert pending["schedule_status"] == "scheduled" and pending["imp_uid"]  # still executing, shown as scheduled

    rescuer = Worker(services, name="rescuer", lease=timedelta(seconds=60))
    assert (await rescuer.run_until_idle()).recovered == 0  # the claims are not stale yet
    clock.advance(seconds=61)
    stats = await rescuer.run_until_idle()
    assert stats.recovered == 2 and stats.paid == 1  # s-unopened went back to scheduled, then was charged
    async with v1_client(live, merchant) as api:
        for uid in ("s-lost", "s-unopened"):
            done = (await api.get(f"/subscribe/payments/schedule/{uid}")).json()["response"]
            assert (done["schedule_status"], done["payment_status"]) == ("executed", "paid"), done
    charges = [c for c in await sandbox_ledger(live) if c["type"] == "BILLING"]
    assert len(charges) == 2 and len({c["orderId"] for c in charges}) == 2  # the lost one was not charged again


async def test_a_graceful_stop_leaves_no_claim(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    now = to_unix(clock.now())
    async with v1_client(live, merchant) as api:
        await register(api)
        await schedule(api, "cu-1", *[entry(f"s-{i}", now + HOUR) for i in range(10)])
    clock.advance(hours=2)
    worker = Worker(services, concurrency=5, poll_seconds=0.05)
    task = asyncio.create_task(worker.run())
    for _ in range(200):  # stop as soon as it holds claims, with charges in flight
        if worker.stats.claimed:
            break
        await asyncio.sleep(0.005)
    worker.stop()
    stats = await task
    assert stats.claimed >= 1
    async with services.sessions() as session:
        statuses = list(await session.scalars(select(PaymentSchedule.schedule_status)))
        paid = list(
            await session.scalars(
                select(PaymentSchedule.payment_status).where(PaymentSchedule.schedule_status == "executed")
            )
        )
    assert "executing" not in statuses  # what it claimed, it finished
    assert len(paid) == stats.claimed and set(paid) == {"paid"}
    assert statuses.count("scheduled") == 10 - stats.claimed  # and it claimed nothing after the stop


async def test_a_busy_worker_claims_a_batch_of_slots_at_a_time(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    """With more due than it has slots, the worker claims again once a quarter of its slots are
    free, not after each finished charge (a claim is a transaction of its own)."""
    now = to_unix(clock.now())
    async with v1_client(live, merchant) as api:
        await register(api)
        assert (await schedule(api, "cu-1", *[entry(f"s-{i}", now + HOUR, 1000 + i) for i in range(40)]))["code"] == 0
    clock.advance(hours=2)
    worker = Worker(services, concurrency=8, poll_seconds=30)
    asked: list[int] = []
    claim = worker.claim

    async def counted(limit: int) -> list[int]:
        asked.append(limit)
        return await claim(limit)

    worker.claim = counted  # type: ignore[method-assign]
    task = asyncio.create_task(worker.run())
    for _ in range(600):
        if worker.stats.paid + worker.stats.failed >= 40:
            break
        await asyncio.sleep(0.05)
    worker.stop()
    stats = await asyncio.wait_for(task, 10)  # the stop ends the 30 s poll wait at once
    assert (stats.claimed, stats.paid) == (40, 40)
    assert worker.refill == 2
    assert asked[0] == 8 and all(limit >= 2 for limit in asked), asked
    assert len(asked) <= 1 + 32 // 2 + 1, asked  # the first 8, then batches of 2 or more, then the empty one


async def test_a_claim_takes_no_more_than_its_limit_among_ties(services: Services, merchant: MerchantFixture) -> None:
    """Many schedules due at the same instant (a monthly billing run): each claim takes exactly its
    limit. PostgreSQL once re-ran the claim's subquery per row and picked other ties each time."""
    from sqlalchemy import insert

    now = services.clock.now()
    rows = [
        {
            "merchant_id": merchant.id,
            "customer_uid": "cu-tie",
            "merchant_uid": f"tie-{i}",
            "schedule_at": now,
            "due_at": now,
            "amount": 1000,
            "tax_free": 0,
            "currency": "KRW",
            "card_quota": 0,
            "interest_free": False,
            "name": "tie",
            "schedule_status": "scheduled",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(300)
    ]
    async with services.sessions() as session:
        await session.execute(insert(PaymentSchedule), rows)
        await session.commit()
    worker = Worker(services, concurrency=10)
    first, second = await worker.claim(10), await worker.claim(10)
    assert len(first) == 10 and len(second) == 10 and not set(first) & set(second)
    async with services.sessions() as session:
        executing = await session.scalar(
            select(func.count()).select_from(PaymentSchedule).where(PaymentSchedule.schedule_status == "executing")
        )
    assert executing == 20


async def test_workers_claim_disjoint_batches_without_waiting_on_each_other(
    services: Services, merchant: MerchantFixture
) -> None:
    """What lets workers scale on one PostgreSQL: while one worker's claim holds its rows locked (its
    transaction not yet committed), the claims of three others neither wait for those rows nor take
    them; together they take disjoint batches. (SQLite has one writer: claims queue there.)"""
    import asyncpg
    from sqlalchemy import insert

    from tests.billing.schedule_rows import due_schedule

    if services.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: one claim at a time by design")
    now = services.clock.now()
    async with services.sessions() as session:
        await session.execute(insert(PaymentSchedule), [due_schedule(merchant.id, f"w-{i}", now) for i in range(100)])
        await session.commit()
    held = await asyncpg.connect("postgresql://" + services.settings.resolved_database_url().split("://", 1)[1])
    try:
        async with held.transaction():
            locked = {
                r["id"]
                for r in await held.fetch(
                    "SELECT id FROM payment_schedules WHERE schedule_status = 'scheduled'"
                    " ORDER BY due_at, id LIMIT 25 FOR UPDATE"
                )
            }
            workers = [Worker(services, concurrency=25, name=f"scale-{i}") for i in range(3)]
            # a hang guard only: a claim that waited on the held rows would never return
            claims = await asyncio.wait_for(asyncio.gather(*(w.claim(25) for w in workers)), 60)
    finally:
        await held.close()
    claimed = [schedule_id for claim in claims for schedule_id in claim]
    assert [len(claim) for claim in claims] == [25, 25, 25]
    assert len(set(claimed)) == 75 and not set(claimed) & locked
