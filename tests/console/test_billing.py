"""Billing customers and schedules in the console, through the billing services."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.api.routes.pg_helpers import APPROVE, v1_client
from tests.console.conftest import Shops
from tollway.clock import KST, ManualClock, to_unix
from tollway.db.console_models import AuditEntry
from tollway.db.models import BillingCustomer, PaymentSchedule
from tollway.services import Services


async def _customer_with_schedules(live: str, shops: Shops, clock: ManualClock) -> None:
    async with v1_client(live, shops.a) as api:
        card = {"card_number": APPROVE, "expiry": "2030-12", "birth": "900101"}
        assert (await api.post("/subscribe/customers/cu-1", json=card)).json()["code"] == 0
        at = to_unix(clock.now() + timedelta(days=2))
        body = {
            "customer_uid": "cu-1",
            "schedules": [
                {"merchant_uid": "s-1", "schedule_at": at, "amount": 1000},
                {"merchant_uid": "s-2", "schedule_at": at + 3600, "amount": 2000},
            ],
        }
        assert (await api.post("/subscribe/payments/schedule", json=body)).json()["code"] == 0


async def _schedule(services: Services, merchant_uid: str) -> PaymentSchedule:
    async with services.sessions() as session:
        row = await session.scalar(select(PaymentSchedule).where(PaymentSchedule.merchant_uid == merchant_uid))
        assert row is not None
        return row


async def test_schedules_are_shown_by_day_and_can_be_revoked_rescheduled_and_retried(
    live: str, console_http, shops: Shops, services: Services, clock: ManualClock
) -> None:
    await _customer_with_schedules(live, shops, clock)
    browser = console_http()
    await browser.sign_in("manager@a.test")
    listing = await browser.get(f"/console/m/{shops.a.user_code}/schedules")
    assert listing.status_code == 200 and "s-1" in listing.text and "s-2" in listing.text
    assert "₩2,000" in listing.text
    base = f"/console/m/{shops.a.user_code}/schedules"
    assert (await browser.post(f"{base}/s-1/revoke")).status_code == 303
    assert (await _schedule(services, "s-1")).schedule_status == "revoked"
    new_time = (clock.now() + timedelta(days=5)).astimezone(KST).strftime("%Y-%m-%dT%H:%M")
    assert (await browser.post(f"{base}/s-2/reschedule", {"schedule_at": new_time})).status_code == 303
    moved = await _schedule(services, "s-2")
    assert moved.schedule_at.astimezone(KST).strftime("%Y-%m-%dT%H:%M") == new_time
    retried = await browser.post(f"{base}/s-1/retry")
    assert retried.status_code == 303
    again = await _schedule(services, "s-1")
    assert again.schedule_status == "executed" and again.payment_status == "paid" and again.imp_uid
    async with services.sessions() as session:
        actions = set(await session.scalars(select(AuditEntry.action)))
    assert {"schedule.revoke", "schedule.reschedule", "schedule.retry"} <= actions


async def test_a_customer_shows_its_masked_card_and_a_manager_deletes_its_key(
    live: str, console_http, shops: Shops, services: Services, clock: ManualClock
) -> None:
    await _customer_with_schedules(live, shops, clock)
    viewer = console_http()
    await viewer.sign_in("viewer@a.test")
    page = await viewer.get(f"/console/m/{shops.a.user_code}/billing/cu-1")
    assert page.status_code == 200 and "****" in page.text and "s-1" in page.text
    async with services.sessions() as session:
        sealed = await session.scalar(select(BillingCustomer.billing_key_sealed))
    assert sealed and sealed not in page.text
    assert (await viewer.post(f"/console/m/{shops.a.user_code}/billing/cu-1/delete", {"force": "1"})).status_code == 403
    manager = console_http()
    await manager.sign_in("manager@a.test")
    refused = await manager.post(f"/console/m/{shops.a.user_code}/billing/cu-1/delete")
    assert refused.status_code == 409  # pending schedules: only with force
    done = await manager.post(f"/console/m/{shops.a.user_code}/billing/cu-1/delete", {"force": "1"})
    assert done.status_code == 303
    async with services.sessions() as session:
        assert await session.scalar(select(BillingCustomer.id)) is None
    assert (await _schedule(services, "s-1")).schedule_status == "revoked"
