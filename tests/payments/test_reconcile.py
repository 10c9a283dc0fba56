"""Reconciliation of approvals whose answer never came, when the PG has no record of them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.api.routes.pg_helpers import onetime, sandbox_ledger, v1_client
from tests.conftest import MerchantFixture
from tollway.clock import ManualClock
from tollway.pg.base import PgUnknown
from tollway.pg.toss.connector import TossConnector
from tollway.services import Services


async def _lost_before_reaching_the_pg(self: TossConnector, *args: Any, **kwargs: Any) -> Any:
    raise PgUnknown("NETWORK_ERROR", "the connection dropped before the request was sent")


async def test_an_approval_the_pg_never_saw_fails_after_the_grace_period(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tollway.payments.reconcile import reconcile

    async with v1_client(live, merchant) as api:
        monkeypatch.setattr(TossConnector, "key_in", _lost_before_reaching_the_pg)
        lost = (await api.post("/subscribe/payments/onetime", json=onetime())).json()
        assert lost["code"] == -1
        monkeypatch.undo()
        pending = (await api.get("/payments/find/order-1")).json()["response"]
        assert pending["status"] == "ready"

        clock.advance(seconds=services.settings.reconcile_after_seconds + 1)
        young = await reconcile(services)
        assert young.still_pending == [pending["imp_uid"]] and young.settled == 0
        assert (await api.get("/payments/find/order-1")).json()["response"]["status"] == "ready"

        clock.advance(seconds=services.settings.reconcile_grace_seconds)
        report = await reconcile(services)
        assert report.failed == [pending["imp_uid"]]
        failed = (await api.get(f"/payments/{pending['imp_uid']}")).json()["response"]
        assert failed["status"] == "failed" and "no record" in failed["fail_reason"]

        # the merchant_uid is free again, and the retry charges once
        retry = (await api.post("/subscribe/payments/onetime", json=onetime())).json()
        assert retry["code"] == 0 and retry["response"]["status"] == "paid"
    assert [c["orderId"] for c in await sandbox_ledger(live)] == [retry["response"]["imp_uid"]]


async def test_reconcile_leaves_calls_that_may_still_be_in_flight(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tollway.payments.reconcile import pending_payments, reconcile

    async with v1_client(live, merchant) as api:
        monkeypatch.setattr(TossConnector, "key_in", _lost_before_reaching_the_pg)
        await api.post("/subscribe/payments/onetime", json=onetime())
    assert await pending_payments(services, min_age=timedelta(seconds=1)) == []
    assert (await reconcile(services)).settled == 0
    clock.advance(seconds=2)
    assert len(await pending_payments(services, min_age=timedelta(seconds=1))) == 1
