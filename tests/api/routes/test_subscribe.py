"""``POST /subscribe/payments/onetime`` end to end: V1 client → gateway → connector → sandbox PG."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from tests.api.routes.pg_helpers import (
    APPROVE,
    DECLINE,
    HANG,
    INSUFFICIENT,
    LOST,
    NOT_LUHN,
    SLOW,
    STOPPED,
    UNKNOWN_NUMBER,
    onetime,
    sandbox_ledger,
    v1_client,
)
from tests.conftest import MerchantFixture, count_rows, token_for
from tests.v1_text import said
from tollway.clock import ManualClock
from tollway.merchants.service import create_merchant
from tollway.payments.reconcile import reconcile
from tollway.services import Services

PATH = "/subscribe/payments/onetime"


async def test_a_key_in_payment_is_paid_with_v1_fields(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        answer = await api.post(
            PATH, json=onetime(custom_data={"plan": "monthly"}, notice_url="https://shop.test/hook")
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["code"], body["message"]) == (0, None)
        p = body["response"]
        assert (p["status"], p["pay_method"], p["channel"], p["pg_provider"], p["pg_id"]) == (
            "paid",
            "card",
            "api",
            "tosspayments",
            "tosstest",
        )
        assert p["sandbox"] is True and p["amount"] == 15000 and p["cancel_amount"] == 0
        assert p["card_number"] == "43301234****000*"
        assert (p["card_code"], p["card_name"], p["card_type"], p["card_quota"]) == ("367", "현대카드", 0, 0)
        assert (p["card_issuer_code"], p["card_publisher_code"]) == ("367", "367")
        assert len(p["apply_num"]) == 8 and p["pg_tid"]
        assert p["receipt_url"] == f"{live}/sandbox/toss/_sandbox/receipts/{p['pg_tid']}"
        assert p["paid_at"] > 0 and p["failed_at"] == 0 and p["custom_data"] == '{"plan":"monthly"}'
        assert (p["buyer_name"], p["name"]) == ("홍길동", "정기구독 1개월")
        looked_up = (await api.get(f"/payments/{p['imp_uid']}")).json()["response"]
        assert looked_up == p
    (charge,) = await sandbox_ledger(live)
    assert (charge["orderId"], charge["paymentKey"], charge["status"]) == (p["imp_uid"], p["pg_tid"], "DONE")
    assert (charge["totalAmount"], charge["orderName"]) == (15000, "정기구독 1개월")


@pytest.mark.parametrize(
    ("card", "code"),
    [
        (DECLINE, "REJECT_CARD_COMPANY"),
        (STOPPED, "INVALID_STOPPED_CARD"),
        (INSUFFICIENT, "REJECT_CARD_PAYMENT"),
        (LOST, "INVALID_CARD_LOST_OR_STOLEN"),
    ],
)
async def test_a_decline_is_code_0_with_status_failed(
    live: str, merchant: MerchantFixture, card: str, code: str
) -> None:
    async with v1_client(live, merchant) as api:
        body = (await api.post(PATH, json=onetime(card=card))).json()
        assert body["code"] == 0 and body["message"] is None
        p = body["response"]
        assert p["status"] == "failed" and p["failed_at"] > 0 and p["paid_at"] == 0
        assert code in p["fail_reason"]
        # a failed attempt does not hold the merchant_uid: the buyer can try another card
        retry = (await api.post(PATH, json=onetime())).json()
        assert retry["response"]["status"] == "paid" and retry["response"]["imp_uid"] != p["imp_uid"]
    statuses = sorted(c["status"] for c in await sandbox_ledger(live))
    assert statuses == ["ABORTED", "DONE"]


@pytest.mark.parametrize("card", [NOT_LUHN, UNKNOWN_NUMBER])
async def test_card_data_the_card_company_refuses_is_code_minus_1(
    live: str, merchant: MerchantFixture, card: str
) -> None:
    async with v1_client(live, merchant) as api:
        answer = await api.post(PATH, json=onetime(card=card))
        assert answer.status_code == 200
        body = answer.json()
        assert body["code"] == -1 and body["response"] is None
        assert "카드정보 인증에 실패하였습니다" in body["message"] and "INVALID_CARD_NUMBER" in body["message"]
        if card == UNKNOWN_NUMBER:  # i'mport's own words, which its clients look for
            assert "유효하지않은 카드번호를 입력하셨습니다." in body["message"]
        recorded = (await api.get("/payments/find/order-1/failed")).json()["response"]
        assert "INVALID_CARD_NUMBER" in recorded["fail_reason"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"amount": "15000"}, "amount는 정수여야 합니다. | amount: must be an integer number, not a string"),
        ({"amount": 0}, "amount의 값이 허용 범위를 벗어났습니다."),
        ({"amount": 10.5}, "amount는 정수여야 합니다."),
        ({"amount": 2**70}, "amount의 값이 허용 범위를 벗어났습니다."),
        ({"vat_amount": 1e308}, "vat_amount의 값이 허용 범위를 벗어났습니다."),
        ({"card_number": None}, "card_number 파라메터가 누락되었습니다."),
        ({"expiry": "12/30"}, "expiry 파라메터가 올바르지 않습니다. | expiry: YYYY-MM"),
        ({"expiry": "2030-13"}, "expiry 파라메터가 올바르지 않습니다. | expiry: YYYY-MM"),
        ({"birth": None}, "birth 파라메터가 누락되었습니다."),
        ({"birth": "9001"}, "birth 파라메터가 올바르지 않습니다. | birth: YYMMDD"),
        ({"pwd_2digit": "123"}, "pwd_2digit 파라메터가 올바르지 않습니다."),
        ({"card_quota": 1}, "card_quota 파라메터가 올바르지 않습니다. | card_quota: must be 0"),
        ({"card_quota": 13}, "card_quota의 값이 허용 범위를 벗어났습니다."),
        ({"card_quota": "3"}, "card_quota는 정수여야 합니다."),
        ({"tax_free": 20000}, "tax_free 파라메터가 올바르지 않습니다. | tax_free: 20000 cannot exceed amount"),
        ({"merchant_uid": "x" * 41}, "merchant_uid는 최대 40자까지 입력할 수 있습니다."),
        ({"currency": "USD"}, "currency 파라메터가 올바르지 않습니다. | currency: must be KRW"),
        ({"notice_url": "javascript:alert(1)"}, "notice_url는 http:// 또는 https://로 시작하는 URL이어야 합니다."),
        ({"notice_url": "http://a.example/x\r\nSet-Cookie: a=b"}, "notice_url는 http:// 또는 https://로"),
        ({"notice_url": ["https://ok.example/", "/relative"]}, "notice_url는 http:// 또는 https://로"),
    ],
)
async def test_bad_input_is_a_400_that_names_the_field_and_changes_nothing(
    live: str, merchant: MerchantFixture, services: Services, change: dict[str, object], expected: str
) -> None:
    body = {k: v for k, v in {**onetime(), **change}.items() if v is not None}
    async with v1_client(live, merchant) as api:
        answer = await api.post(PATH, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == 1 and said(answer).startswith(expected)
    assert "4330" not in said(answer)  # the card number is never echoed
    assert await count_rows(services, "payments") == 0
    assert await sandbox_ledger(live) == []


async def test_a_form_body_works_too(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        form = {k: str(v) for k, v in onetime(card_quota=0).items()}
        body = (await api.post(PATH, data=form)).json()
    assert body["code"] == 0 and body["response"]["status"] == "paid" and body["response"]["amount"] == 15000


async def test_installments_need_50000_krw(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        small = (await api.post(PATH, json=onetime("order-small", 10000, card_quota=3))).json()
        big = (await api.post(PATH, json=onetime("order-big", 60000, card_quota=3))).json()
    assert small["code"] == 0 and small["response"]["status"] == "failed"
    assert "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT" in small["response"]["fail_reason"]
    assert big["response"]["status"] == "paid" and big["response"]["card_quota"] == 3


async def test_a_paid_merchant_uid_is_refused(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        assert (await api.post(PATH, json=onetime())).json()["response"]["status"] == "paid"
        again = (await api.post(PATH, json=onetime())).json()
    assert (
        again["code"] == 1
        and again["message"] == "이미 결제가 완료된 merchant_uid입니다."
        and again["response"] is None
    )
    assert len(await sandbox_ledger(live)) == 1


async def test_concurrent_duplicates_charge_exactly_once(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        answers = await asyncio.gather(*(api.post(PATH, json=onetime("order-race")) for _ in range(8)))
        bodies = [a.json() for a in answers]
        paid = [b for b in bodies if b["code"] == 0]
        assert len(paid) == 1 and paid[0]["response"]["status"] == "paid"
        assert all(b["code"] == 1 for b in bodies if b["code"] != 0)
        found = (await api.get("/payments/findAll/order-race")).json()["response"]
    charges = [c for c in await sandbox_ledger(live) if c["status"] == "DONE"]
    assert len(charges) == 1 and charges[0]["orderId"] == paid[0]["response"]["imp_uid"]
    assert [p["status"] for p in found["list"]] == ["paid"]


async def test_a_slow_pg_answer_within_the_timeout_is_paid(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        body = (await api.post(PATH, json=onetime(card=SLOW))).json()
    assert body["code"] == 0 and body["response"]["status"] == "paid"


async def test_a_timeout_is_never_lost_nor_charged_twice(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    async with v1_client(live, merchant) as api:
        lost = await api.post(PATH, json=onetime(card=HANG))
        answer = lost.json()
        assert answer["code"] == -1 and answer["response"] is None and "reconciled" in said(lost)
        pending = (await api.get("/payments/find/order-1")).json()["response"]
        assert pending["status"] == "ready" and pending["imp_uid"] in said(lost)
        # while the outcome is unknown the merchant_uid stays held: no second charge can start
        retried = await api.post(PATH, json=onetime(card=APPROVE))
        assert retried.json()["code"] == 1 and "being processed" in said(retried)
        # too young to reconcile: it may still be in flight
        early = await reconcile(services)
        assert early.settled == 0
        clock.advance(seconds=services.settings.reconcile_after_seconds + 1)
        report = await reconcile(services)
        assert report.paid == [pending["imp_uid"]]
        settled = (await api.get(f"/payments/{pending['imp_uid']}")).json()["response"]
        assert settled["status"] == "paid" and settled["card_number"] == "43301234****007*"
        assert (await reconcile(services)).settled == 0  # nothing left
        again = (await api.post(PATH, json=onetime(card=APPROVE))).json()
        assert again["code"] == 1  # now it is paid
    charges = await sandbox_ledger(live)
    assert [c["status"] for c in charges] == ["DONE"] and charges[0]["orderId"] == pending["imp_uid"]


async def test_a_merchant_without_a_channel_gets_v1_s_code_1(live: str, services: Services) -> None:
    async with services.sessions() as session:
        new = await create_merchant(session, services.clock, services.vault, "No PG")
        await session.commit()
    async with httpx.AsyncClient(base_url=live) as api:
        from tests.conftest import MerchantFixture as MF

        m = MF(new.merchant.id, new.merchant.user_code, new.key_pair.imp_key, new.key_pair.imp_secret.reveal(), 0)
        api.headers["Authorization"] = await token_for(api, m)
        body = (await api.post(PATH, json=onetime())).json()
    assert body["code"] == 1 and "PG" in body["message"]
    assert await count_rows(services, "payments") == 0


async def test_unauthenticated_onetime_is_401(live: str) -> None:
    async with httpx.AsyncClient(base_url=live) as api:
        answer = await api.post(PATH, json=onetime())
    assert answer.status_code == 401 and answer.json()["code"] == -1


def test_reconcile_defaults_outlast_the_read_timeout() -> None:
    from tollway.config import Settings

    defaults = Settings()
    assert defaults.reconcile_after_seconds > defaults.pg_read_timeout
    assert defaults.reconcile_grace_seconds > defaults.reconcile_after_seconds
    assert timedelta(seconds=defaults.sandbox_hang_seconds) > timedelta(seconds=defaults.pg_read_timeout)
