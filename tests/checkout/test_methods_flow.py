"""Easy pays, phone and gift-certificate payments through the hosted window over plain HTTP, on
SQLite and PostgreSQL: the sandbox's two-step window, Toss's objects, the V1 fields, cancels and
webhooks."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.routes.pg_helpers import sandbox_ledger
from tests.checkout.test_flow import SHOP, open_window, params, posted_result, rest, rest_payment, window_form
from tests.conftest import MerchantFixture
from tollway.clock import ManualClock
from tollway.db.models import WebhookNotification
from tollway.services import Services

WINDOW = "/sandbox/toss/_sandbox/window"
EASY_PAYS = {
    "tosspay": ("TOSSPAY", "토스페이", "tosspay"),
    "kakaopay": ("KAKAOPAY", "카카오페이", "kakaopay"),
    "naverpay": ("NAVERPAY", "네이버페이", "naverpay"),
    "payco": ("PAYCO", "페이코", "payco"),
    "samsung": ("SAMSUNGPAY", "삼성페이", "samsungpay"),
    "samsungpay": ("SAMSUNGPAY", "삼성페이", "samsungpay"),
    "lpay": ("LPAY", "엘페이", "lpay"),
    "ssgpay": ("SSG", "SSG페이", "ssgpay"),
    "applepay": ("APPLEPAY", "애플페이", "applepay"),
}
GIFTS = {"cultureland": "문화상품권", "smartculture": "게임문화상품권", "booknlife": "도서문화상품권"}


async def pay_in_window(
    live: str, call: dict[str, Any], *, sms: str = "000000", action: str = "pay", **choice: str
) -> httpx.Response:
    """The buyer's two steps: the choice (다음), then the confirm page's button; the last answer."""
    async with httpx.AsyncClient(base_url=live) as http:
        first = await http.post(WINDOW, data=window_form(call, action="next", **choice))
        assert first.status_code == 200, first.text
        assert 'id="confirm"' in first.text  # the confirm step repeats the choice
        second = await http.post(WINDOW, data=window_form(call, action=action, smsCode=sms, **choice))
    return second


async def finish(live: str, answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 303, answer.text
    async with httpx.AsyncClient(base_url=live) as http:
        return posted_result(await http.get(answer.headers["location"]))


@pytest.mark.parametrize("pay_method", list(EASY_PAYS))
async def test_an_easy_pay_opens_its_provider_and_records_pay_method_as_sent(
    live: str, merchant: MerchantFixture, pay_method: str
) -> None:
    code, provider, emb = EASY_PAYS[pay_method]
    _, call = await open_window(live, merchant, params(f"order-{pay_method}", pay_method=pay_method))
    assert call["method"] == "카드"
    assert call["params"]["flowMode"] == "DIRECT" and call["params"]["easyPay"] == code
    async with httpx.AsyncClient(base_url=live) as http:
        query = {"clientKey": call["clientKey"], "kind": call["kind"], "method": call["method"]}
        shown = await http.get(WINDOW, params={**query, "params": json.dumps(call["params"])})
    assert provider in shown.text and 'value="next"' in shown.text
    result = await finish(live, await pay_in_window(live, call, funding="money", outcome="approve"))
    assert result["success"] is True and result["status"] == "paid"
    assert result["pay_method"] == pay_method and result["emb_pg_provider"] == emb
    assert result["card_name"] is None and result["card_number"] is None  # paid from the provider's balance
    stored = await rest_payment(live, merchant, result["imp_uid"])
    assert stored["pay_method"] == pay_method and stored["emb_pg_provider"] == emb and stored["amount"] == 15000
    [doc] = await sandbox_ledger(live)
    assert doc["method"] == "간편결제" and doc["card"] is None
    assert doc["easyPay"] == {"provider": provider, "amount": 15000, "discountAmount": 0}


async def test_an_easy_pay_funded_by_a_card_carries_the_card_fields_and_cancels(
    live: str, merchant: MerchantFixture, services: Services
) -> None:
    hook = f"{SHOP}/hooks/payment"
    _, call = await open_window(live, merchant, params("order-kakao-card", pay_method="kakaopay", notice_url=hook))
    result = await finish(live, await pay_in_window(live, call, funding="card", outcome="approve"))
    assert result["status"] == "paid" and result["emb_pg_provider"] == "kakaopay"
    assert result["card_name"] == "현대카드" and result["card_number"] == "43301234****000*"
    assert result["apply_num"]
    [doc] = await sandbox_ledger(live)
    assert doc["easyPay"]["amount"] == 0 and doc["card"]["amount"] == 15000
    body = {"imp_uid": result["imp_uid"], "enable_webhook": True}  # V1 notifies an API cancel when asked
    cancel = await rest(live, merchant, "POST", "/payments/cancel", json=body)
    assert cancel["code"] == 0 and cancel["response"]["status"] == "cancelled"
    async with services.sessions() as session:
        sent = list(await session.scalars(select(WebhookNotification).order_by(WebhookNotification.id)))
    assert [(n.status, n.url) for n in sent] == [("paid", hook), ("cancelled", hook)]


@pytest.mark.parametrize(
    ("pay_method", "choice", "code"),
    [
        ("naverpay", {"funding": "money"}, "REJECT_ACCOUNT_PAYMENT"),
        ("payco", {"funding": "card"}, "REJECT_CARD_COMPANY"),
        ("phone", {"carrier": "KT", "phone": "01012345678"}, "EXCEED_MAX_MONTHLY_PAYMENT_AMOUNT"),
        ("cultureland", {"giftId": "tester"}, "REJECT_ACCOUNT_PAYMENT"),
    ],
)
async def test_a_declined_method_is_a_failed_payment_with_toss_code(
    live: str, merchant: MerchantFixture, pay_method: str, choice: dict[str, str], code: str
) -> None:
    _, call = await open_window(live, merchant, params(f"order-decline-{pay_method}", pay_method=pay_method))
    result = await finish(live, await pay_in_window(live, call, outcome="decline", **choice))
    assert result["success"] is False and result["error_code"] == code and result["status"] == "failed"
    stored = await rest_payment(live, merchant, result["imp_uid"])
    assert stored["status"] == "failed" and code in stored["fail_reason"]
    [doc] = await sandbox_ledger(live)
    assert doc["status"] == "ABORTED"


async def test_the_buyer_cancels_on_the_confirm_step(live: str, merchant: MerchantFixture) -> None:
    _, call = await open_window(live, merchant, params("order-cancel-easy", pay_method="tosspay"))
    result = await finish(live, await pay_in_window(live, call, action="cancel", funding="money", outcome="approve"))
    assert result["error_code"] == "PAY_PROCESS_CANCELED" and result["status"] == "failed"
    assert await sandbox_ledger(live) == []


async def test_a_phone_payment_masks_the_number_and_is_refunded_only_in_its_month(
    live: str, merchant: MerchantFixture, clock: ManualClock
) -> None:
    _, call = await open_window(live, merchant, params("order-phone-1", pay_method="phone", buyer_tel="010-9876-5432"))
    assert call["method"] == "휴대폰" and call["params"]["customerMobilePhone"] == "01098765432"
    choice = {"carrier": "SKT", "phone": "01098765432", "outcome": "approve"}
    wrong = await pay_in_window(live, call, sms="111111", **choice)
    assert wrong.status_code == 200 and "000000" in wrong.text and 'id="confirm"' in wrong.text  # asked again
    assert (
        'id="smsCode" inputmode="numeric" value="000000" autocomplete="one-time-code" aria-invalid="true"' in wrong.text
    )
    result = await finish(live, await pay_in_window(live, call, **choice))
    assert result["status"] == "paid" and result["pay_method"] == "phone"
    assert result["card_name"] is None and result["emb_pg_provider"] is None
    [doc] = await sandbox_ledger(live)
    assert doc["method"] == "휴대폰" and doc["mobilePhone"]["customerMobilePhone"] == "010****5432"
    assert "01098765432" not in str(doc)
    _, second = await open_window(live, merchant, params("order-phone-2", pay_method="phone"))
    same_month = await finish(live, await pay_in_window(live, second, **choice))
    clock.advance(days=40)  # the carrier has billed it: no refund in a later month
    refused = await rest(live, merchant, "POST", "/payments/cancel", json={"imp_uid": result["imp_uid"]})
    assert refused["code"] != 0 and "휴대폰" in refused["message"]
    assert (await rest_payment(live, merchant, result["imp_uid"]))["status"] == "paid"
    del same_month


async def test_a_phone_payment_is_cancelled_in_its_month(live: str, merchant: MerchantFixture) -> None:
    _, call = await open_window(live, merchant, params("order-phone-3", pay_method="phone"))
    choice = {"carrier": "LGU", "phone": "01012345678", "outcome": "approve"}
    result = await finish(live, await pay_in_window(live, call, **choice))
    cancel = await rest(live, merchant, "POST", "/payments/cancel", json={"imp_uid": result["imp_uid"]})
    assert cancel["code"] == 0 and cancel["response"]["status"] == "cancelled"


@pytest.mark.parametrize("pay_method", list(GIFTS))
async def test_a_gift_certificate_is_paid_and_cancelled_only_in_full(
    live: str, merchant: MerchantFixture, pay_method: str
) -> None:
    _, call = await open_window(live, merchant, params(f"order-{pay_method}", pay_method=pay_method))
    assert call["method"] == GIFTS[pay_method]
    result = await finish(live, await pay_in_window(live, call, giftId="tester", outcome="approve"))
    assert result["status"] == "paid" and result["pay_method"] == pay_method
    [doc] = await sandbox_ledger(live)
    assert doc["method"] == GIFTS[pay_method] and doc["giftCertificate"]["approveNo"] == result["apply_num"]
    body = {"imp_uid": result["imp_uid"], "amount": 5000}
    partial = await rest(live, merchant, "POST", "/payments/cancel", json=body)
    assert partial["code"] != 0 and (await rest_payment(live, merchant, result["imp_uid"]))["cancel_amount"] == 0
    full = await rest(live, merchant, "POST", "/payments/cancel", json={"imp_uid": result["imp_uid"]})
    assert full["code"] == 0 and full["response"]["status"] == "cancelled"
