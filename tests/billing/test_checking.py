"""``checking_amount`` on ``POST /subscribe/payments/schedule``: the card is charged that much and
the charge cancelled at once; a card that cannot be charged registers no schedule."""

from __future__ import annotations

from typing import Any

from tests.api.routes.pg_helpers import APPROVE, DECLINE, sandbox_ledger, v1_client
from tests.billing.test_customers import card
from tests.billing.test_schedules import HOUR, entry, schedule
from tests.conftest import MerchantFixture, count_rows
from tollway.clock import ManualClock, to_unix
from tollway.services import Services


def with_card(number: str) -> dict[str, Any]:
    return {k: v for k, v in card(number).items() if k in ("card_number", "expiry", "birth", "pwd_2digit")}


async def test_the_card_is_charged_the_checking_amount_and_refunded_before_the_schedule_is_kept(
    live: str, merchant: MerchantFixture, clock: ManualClock
) -> None:
    now = to_unix(clock.now())
    async with v1_client(live, merchant) as api:
        body = await schedule(
            api,
            "cu-check",
            entry("s-1", now + HOUR),
            customer_id="cust-check",
            checking_amount=1000,
            **with_card(APPROVE),
        )
        assert body["code"] == 0, body
        assert [s["schedule_status"] for s in body["response"]] == ["scheduled"]
        payments = (await api.get("/subscribe/customers/cu-check/payments")).json()["response"]["list"]
        (check,) = payments
        assert (check["status"], check["amount"], check["cancel_amount"]) == ("cancelled", 1000, 1000)
        assert check["merchant_uid"].startswith("tollway_check_") and check["name"] == "카드 정상결제여부 확인"
        none = await schedule(api, "cu-check", entry("s-2", now + HOUR), checking_amount=0)
        assert none["code"] == 0
    (at_toss,) = await sandbox_ledger(live)
    assert (at_toss["status"], at_toss["type"], at_toss["balanceAmount"]) == ("CANCELED", "BILLING", 0)


async def test_a_card_that_cannot_be_charged_registers_no_schedule(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    now = to_unix(clock.now())
    async with v1_client(live, merchant) as api:
        body = await schedule(api, "cu-bad", entry("s-1", now + HOUR), checking_amount=1000, **with_card(DECLINE))
        assert body["code"] == -1 and body["response"] is None
        assert body["message"].startswith("카드 정상결제여부 확인에 실패하였습니다.")
        assert "REJECT_CARD_COMPANY" in body["message"]
        below = await schedule(api, "cu-bad", entry("s-1", now + HOUR), checking_amount=50)
        assert below["code"] == -1 and "BELOW_MINIMUM_AMOUNT" in below["message"]
    assert await count_rows(services, "payment_schedules") == 0
    assert [p["status"] for p in await sandbox_ledger(live)] == ["ABORTED"]  # 50 KRW never reached a card
