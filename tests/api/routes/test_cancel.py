"""``POST /payments/cancel`` end to end, checked on Tollway's ledger and on the sandbox's."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest

from tests.api.routes.pg_helpers import DECLINE, onetime, sandbox_ledger, v1_client
from tests.conftest import MerchantFixture
from tests.v1_text import korean_only, said
from tollway.clock import ManualClock
from tollway.pg.base import PgUnknown
from tollway.pg.toss.connector import TossConnector
from tollway.services import Services

CANCEL = "/payments/cancel"


async def pay(api: httpx.AsyncClient, merchant_uid: str = "order-1", amount: int = 15000) -> dict[str, Any]:
    body = (await api.post("/subscribe/payments/onetime", json=onetime(merchant_uid, amount))).json()
    assert body["code"] == 0 and body["response"]["status"] == "paid", body
    payment: dict[str, Any] = body["response"]
    return payment


async def sandbox_payment(live: str, imp_uid: str) -> dict[str, Any]:
    (doc,) = [p for p in await sandbox_ledger(live) if p["orderId"] == imp_uid]
    return doc


async def test_a_full_cancel(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        paid = await pay(api)
        answer = await api.post(CANCEL, json={"imp_uid": paid["imp_uid"], "reason": "고객요청"})
        body = answer.json()
        assert answer.status_code == 200 and body["code"] == 0, body
        p = body["response"]
        assert (p["status"], p["cancel_amount"], p["cancel_reason"]) == ("cancelled", 15000, "고객요청")
        assert p["cancelled_at"] > 0 and p["paid_at"] > 0
        (entry,) = p["cancel_history"]
        assert entry["amount"] == 15000 and entry["pg_tid"].startswith("txrd_") and entry["cancellation_id"]
        assert entry["reason"] == "고객요청" and entry["cancelled_at"] == p["cancelled_at"]
        assert p["cancel_receipt_urls"] == [p["receipt_url"]]
        assert (await api.get(f"/payments/{paid['imp_uid']}")).json()["response"] == p
    doc = await sandbox_payment(live, paid["imp_uid"])
    assert (doc["status"], doc["balanceAmount"]) == ("CANCELED", 0)
    assert doc["cancels"][0]["transactionKey"] == entry["pg_tid"]


async def test_partial_cancels_down_to_zero(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        paid = await pay(api)
        imp_uid = paid["imp_uid"]
        first = (await api.post(CANCEL, json={"imp_uid": imp_uid, "amount": 5000, "checksum": 15000})).json()
        assert (first["code"], first["response"]["status"], first["response"]["cancel_amount"]) == (0, "paid", 5000)
        second = (await api.post(CANCEL, json={"merchant_uid": "order-1", "amount": 4000, "checksum": 10000})).json()
        assert second["response"]["cancel_amount"] == 9000 and second["response"]["status"] == "paid"
        balance = (await api.get(f"/payments/{imp_uid}/balance")).json()["response"]
        assert balance["amount"] == 6000
        rest = (await api.post(CANCEL, json={"imp_uid": imp_uid, "amount": 0, "checksum": 6000})).json()
        p = rest["response"]
        assert (p["status"], p["cancel_amount"]) == ("cancelled", 15000)
        assert [h["amount"] for h in p["cancel_history"]] == [5000, 4000, 6000]
        assert len({h["cancellation_id"] for h in p["cancel_history"]}) == 3
        again = (await api.post(CANCEL, json={"imp_uid": imp_uid})).json()
        assert again["code"] == 1 and "이미 전액취소" in again["message"] and again["response"] is None
    doc = await sandbox_payment(live, imp_uid)
    assert [c["cancelAmount"] for c in doc["cancels"]] == [5000, 4000, 6000] and doc["balanceAmount"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"checksum": 14000}, "checksum 14000 does not match the cancellable balance 15000"),
        ({"amount": 15001}, "asked 15001, cancellable 15000"),
    ],
)
async def test_checksum_mismatch_and_over_refunds_change_nothing(
    live: str, merchant: MerchantFixture, body: dict[str, int], message: str
) -> None:
    async with v1_client(live, merchant) as api:
        paid = await pay(api)
        refused = await api.post(CANCEL, json={"imp_uid": paid["imp_uid"], **body})
        answer = refused.json()
        assert answer["code"] == 1 and message in said(refused) and answer["response"] is None
        assert korean_only(answer["message"])
        after = (await api.get(f"/payments/{paid['imp_uid']}")).json()["response"]
    assert (after["status"], after["cancel_amount"], after["cancel_history"]) == ("paid", 0, [])
    doc = await sandbox_payment(live, paid["imp_uid"])
    assert (doc["status"], doc["balanceAmount"]) == ("DONE", 15000)


@pytest.mark.parametrize(
    "body",
    [
        {"imp_uid": "imp_000000000000"},
        {"merchant_uid": "no-such-order"},
        {"imp_uid": "imp_000000000000", "merchant_uid": "order-1"},  # imp_uid wins, even when wrong
    ],
)
async def test_unknown_payments_get_v1_s_answer(live: str, merchant: MerchantFixture, body: dict[str, str]) -> None:
    async with v1_client(live, merchant) as api:
        await pay(api)
        answer = await api.post(CANCEL, json=body)
    assert answer.status_code == 200
    assert answer.json() == {"code": 1, "message": "취소할 결제건이 존재하지 않습니다.", "response": None}


async def test_another_merchant_s_payment_cannot_be_cancelled(
    live: str, merchant: MerchantFixture, services: Services
) -> None:
    from tests.conftest import make_merchant

    other = await make_merchant(services, "Other", mid="othermid")
    async with v1_client(live, merchant) as api:
        paid = await pay(api)
    async with v1_client(live, other) as api:
        answer = (await api.post(CANCEL, json={"imp_uid": paid["imp_uid"]})).json()
    assert answer["code"] == 1 and answer["message"] == "취소할 결제건이 존재하지 않습니다."


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "imp_uid 또는 merchant_uid 중 하나를 지정해주셔야합니다."),
        ({"imp_uid": "x", "amount": "1000"}, "amount는 정수여야 합니다."),
        ({"imp_uid": "x", "amount": -1}, "amount의 값이 허용 범위를 벗어났습니다."),
        ({"imp_uid": "x", "refund_holder": "홍길동"}, "refund_bank 파라메터가 누락되었습니다."),
        (
            {"imp_uid": "x", "refund_holder": "a", "refund_bank": "999", "refund_account": "1"},
            "refund_bank 파라메터가 올바르지 않습니다.",
        ),
    ],
)
async def test_bad_cancel_input_is_a_400(
    live: str, merchant: MerchantFixture, body: dict[str, Any], expected: str
) -> None:
    async with v1_client(live, merchant) as api:
        answer = await api.post(CANCEL, json=body)
    assert answer.status_code == 400 and answer.json()["code"] == 1 and answer.json()["message"] == expected


async def test_tax_free_above_the_cancel_amount_is_refused(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        paid = await pay(api)
        answer = await api.post(CANCEL, json={"imp_uid": paid["imp_uid"], "amount": 1000, "tax_free": 2000})
    assert answer.status_code == 400 and "tax_free: 2000 cannot exceed" in said(answer)
    assert answer.json()["message"] == "tax_free 파라메터가 올바르지 않습니다."


async def test_a_failed_payment_cannot_be_cancelled(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        failed = (await api.post("/subscribe/payments/onetime", json=onetime(card=DECLINE))).json()["response"]
        refused = await api.post(CANCEL, json={"imp_uid": failed["imp_uid"]})
    answer = refused.json()
    assert answer["code"] == 1 and "failed" in said(refused)  # an explicit imp_uid keeps the "not paid" text
    assert answer["message"] == "결제완료 상태가 아닌 결제건은 취소할 수 없습니다."


async def test_concurrent_cancels_refund_once(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        paid = await pay(api)
        answers = await asyncio.gather(*(api.post(CANCEL, json={"imp_uid": paid["imp_uid"]}) for _ in range(6)))
        bodies = [a.json() for a in answers]
        assert sum(b["code"] == 0 for b in bodies) == 1
        assert all(b["code"] != 0 and b["response"] is None for b in bodies if b["code"] != 0)
        final = (await api.get(f"/payments/{paid['imp_uid']}")).json()["response"]
    assert final["status"] == "cancelled" and len(final["cancel_history"]) == 1
    doc = await sandbox_payment(live, paid["imp_uid"])
    assert len(doc["cancels"]) == 1 and doc["balanceAmount"] == 0


async def test_a_pg_refusal_is_reported_and_releases_the_payment(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        paid = await pay(api)
        # someone cancels part of it at the PG behind Tollway's back: Tollway's balance is now stale
        auth = "Basic " + base64.b64encode(b"test_sk_tosstest:").decode()
        async with httpx.AsyncClient(base_url=f"{live}/sandbox/toss") as toss:
            behind = await toss.post(
                f"/v1/payments/{paid['pg_tid']}/cancel",
                json={"cancelReason": "dashboard", "cancelAmount": 1000},
                headers={"Authorization": auth},
            )
            assert behind.status_code == 200
        refused = (await api.post(CANCEL, json={"imp_uid": paid["imp_uid"], "amount": 2000})).json()
        assert refused["code"] == 1 and "NOT_MATCHES_REFUNDABLE_AMOUNT" in refused["message"]
        after = (await api.get(f"/payments/{paid['imp_uid']}")).json()["response"]
        assert after["cancel_amount"] == 0
        # the payment is not left claimed: another cancel can run (and is refused by the PG again)
        again = (await api.post(CANCEL, json={"imp_uid": paid["imp_uid"], "amount": 2000})).json()
        assert "NOT_MATCHES_REFUNDABLE_AMOUNT" in again["message"]


async def test_a_cancel_without_an_answer_is_reconciled(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tollway.payments.reconcile import reconcile

    real_cancel = TossConnector.cancel

    async def cancel_then_lose_the_answer(self: TossConnector, *args: Any, **kwargs: Any) -> Any:
        await real_cancel(self, *args, **kwargs)
        raise PgUnknown("TIMEOUT", "the answer was lost")

    async with v1_client(live, merchant) as api:
        paid = await pay(api)
        monkeypatch.setattr(TossConnector, "cancel", cancel_then_lose_the_answer)
        lost = await api.post(CANCEL, json={"imp_uid": paid["imp_uid"], "amount": 3000})
        assert lost.json()["code"] == -1 and "reconciled" in said(lost)
        busy = await api.post(CANCEL, json={"imp_uid": paid["imp_uid"], "amount": 1000})
        assert busy.json()["code"] == 1 and "in progress" in said(busy)  # no second refund while unknown
        monkeypatch.setattr(TossConnector, "cancel", real_cancel)
        clock.advance(seconds=services.settings.reconcile_after_seconds + 1)
        report = await reconcile(services)
        assert report.cancels_recorded == [paid["imp_uid"]]
        after = (await api.get(f"/payments/{paid['imp_uid']}")).json()["response"]
        assert (after["status"], after["cancel_amount"]) == ("paid", 3000)
        assert [h["amount"] for h in after["cancel_history"]] == [3000]
        more = (await api.post(CANCEL, json={"imp_uid": paid["imp_uid"], "checksum": 12000})).json()
        assert more["code"] == 0 and more["response"]["status"] == "cancelled"
    doc = await sandbox_payment(live, paid["imp_uid"])
    assert [c["cancelAmount"] for c in doc["cancels"]] == [3000, 12000]
