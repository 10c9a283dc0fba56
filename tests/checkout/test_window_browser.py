"""The payment window in real Chromium: the SDK on a shop's origin, the window, the sandbox PG."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.api.routes.pg_helpers import sandbox_ledger
from tests.conftest import MerchantFixture, token_for

pytestmark = pytest.mark.browser


async def open_shop(browser: Any, shop: str, live: str, merchant: MerchantFixture, **context: Any) -> Any:
    page = await (await browser.new_context(**context)).new_page()
    page.on("console", lambda message: print("console:", message.text))
    page.on("pageerror", lambda error: print("pageerror:", error))
    await page.goto(f"{shop}/pay?gateway={live}&user_code={merchant.user_code}")
    return page


def order(merchant_uid: str, amount: int = 15000, **extra: Any) -> dict[str, Any]:
    return {
        "pg": "tosspayments",
        "pay_method": "card",
        "merchant_uid": merchant_uid,
        "name": "당근 10kg",
        "amount": amount,
        "buyer_name": "홍길동",
        "buyer_email": "buyer@example.com",
        "buyer_tel": "010-1234-5678",
        **extra,
    }


async def payment(live: str, merchant: MerchantFixture, imp_uid: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=live) as http:
        token = await token_for(http, merchant)
        answer = await http.get(f"/payments/{imp_uid}", headers={"Authorization": token})
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()["response"]
        return found


async def test_pc_card_payment_calls_back_with_the_v1_response(
    browser: Any, shop: str, live: str, merchant: MerchantFixture
) -> None:
    page = await open_shop(browser, shop, live, merchant)
    result = asyncio.ensure_future(page.evaluate("params => window.pay(params)", order("order-pc-1")))
    frame = page.frame_locator("#imp-window")
    await frame.locator("#pay").wait_for()
    assert await frame.locator("#amount").text_content() == "15,000원"
    await frame.locator("label[data-card='61']").click()  # 현대카드
    await frame.locator("#pay").click()
    answer = await result
    assert answer["success"] is True and answer["imp_success"] is True
    assert answer["error_code"] is None
    assert answer["merchant_uid"] == "order-pc-1"
    assert answer["status"] == "paid" and answer["paid_amount"] == 15000
    assert answer["card_name"] == "현대카드"
    assert await page.locator("#imp-overlay").count() == 0  # the overlay is gone
    stored = await payment(live, merchant, answer["imp_uid"])
    assert stored["status"] == "paid" and stored["amount"] == 15000 and stored["channel"] == "pc"
    assert stored["card_code"] == "367" and stored["pg_tid"] == answer["pg_tid"]
    ledger = await sandbox_ledger(live)
    assert [(p["orderId"], p["status"]) for p in ledger] == [(answer["imp_uid"], "DONE")]


IPHONE = {
    "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}


def start_pay(page: Any, params: dict[str, Any]) -> asyncio.Future[Any]:
    return asyncio.ensure_future(page.evaluate("params => window.pay(params)", params))


async def find_by_merchant_uid(live: str, merchant: MerchantFixture, merchant_uid: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=live) as http:
        token = await token_for(http, merchant)
        return await http.get(f"/payments/findAll/{merchant_uid}", headers={"Authorization": token})


async def test_mobile_redirects_to_m_redirect_url(browser: Any, shop: str, live: str, merchant: MerchantFixture) -> None:
    page = await open_shop(browser, shop, live, merchant, **IPHONE)
    await page.evaluate(
        "params => { IMP.request_pay(params, () => { document.title = 'callback called'; }); }",
        order("order-mobile-1", m_redirect_url=f"{shop}/complete?from=shop"),
    )
    await page.locator("#pay").click()  # the window took the whole page
    await page.wait_for_url(f"{shop}/complete*")
    assert await page.locator("#from").text_content() == "shop"  # the merchant's own query is kept
    assert await page.locator("#merchant_uid").text_content() == "order-mobile-1"
    assert await page.locator("#imp_success").text_content() == "true"
    assert await page.locator("#error_code").count() == 0
    imp_uid = await page.locator("#imp_uid").text_content()
    stored = await payment(live, merchant, imp_uid or "")
    assert stored["status"] == "paid" and stored["channel"] == "mobile"


async def test_mobile_decline_redirects_with_the_error(
    browser: Any, shop: str, live: str, merchant: MerchantFixture
) -> None:
    page = await open_shop(browser, shop, live, merchant, **IPHONE)
    await page.evaluate(
        "params => { IMP.request_pay(params); }", order("order-mobile-2", m_redirect_url=f"{shop}/complete")
    )
    await page.locator("input[value='decline']").check()
    await page.locator("#pay").click()
    await page.wait_for_url(f"{shop}/complete*")
    assert await page.locator("#imp_success").text_content() == "false"
    assert await page.locator("#error_code").text_content() == "REJECT_CARD_COMPANY"
    assert await page.locator("#error_msg").text_content()
    imp_uid = await page.locator("#imp_uid").text_content()
    assert (await payment(live, merchant, imp_uid or ""))["status"] == "failed"


async def test_pc_decline_is_a_failed_payment(browser: Any, shop: str, live: str, merchant: MerchantFixture) -> None:
    page = await open_shop(browser, shop, live, merchant)
    result = start_pay(page, order("order-decline-1"))
    frame = page.frame_locator("#imp-window")
    await frame.locator("input[value='insufficient']").check()
    await frame.locator("#pay").click()
    answer = await result
    assert answer["success"] is False and answer["status"] == "failed"
    assert answer["error_code"] == "REJECT_CARD_PAYMENT" and answer["error_msg"]
    stored = await payment(live, merchant, answer["imp_uid"])
    assert stored["status"] == "failed" and "REJECT_CARD_PAYMENT" in stored["fail_reason"]
    ledger = await sandbox_ledger(live)
    assert [p["status"] for p in ledger] == ["ABORTED"]  # refused at the PG: nothing charged


async def test_user_cancel_ends_failed_and_charges_nothing(
    browser: Any, shop: str, live: str, merchant: MerchantFixture
) -> None:
    page = await open_shop(browser, shop, live, merchant)
    result = start_pay(page, order("order-cancel-1"))
    frame = page.frame_locator("#imp-window")
    await frame.locator("#cancel").click()
    answer = await result
    assert answer["success"] is False
    assert answer["error_code"] == "PAY_PROCESS_CANCELED"
    assert answer["status"] == "failed"
    stored = await payment(live, merchant, answer["imp_uid"])
    assert stored["status"] == "failed" and "PAY_PROCESS_CANCELED" in stored["fail_reason"]
    assert await sandbox_ledger(live) == []


async def test_a_string_amount_is_refused_before_any_window_opens(
    browser: Any, shop: str, live: str, merchant: MerchantFixture
) -> None:
    page = await open_shop(browser, shop, live, merchant)
    answer = await page.evaluate("params => window.pay(params)", order("order-string-1", amount="15000"))
    assert answer["success"] is False and answer["imp_uid"] is None
    assert answer["error_code"] == "INVALID_PARAMETER"
    assert "amount" in answer["error_msg"] and '"15000"' in answer["error_msg"]
    assert answer["merchant_uid"] == "order-string-1"
    assert await page.locator("#imp-overlay").count() == 0
    assert (await find_by_merchant_uid(live, merchant, "order-string-1")).status_code == 404


async def test_a_paid_merchant_uid_is_refused(browser: Any, shop: str, live: str, merchant: MerchantFixture) -> None:
    page = await open_shop(browser, shop, live, merchant)
    result = start_pay(page, order("order-dup-1"))
    await page.frame_locator("#imp-window").locator("#pay").click()
    assert (await result)["status"] == "paid"
    again = await page.evaluate("params => window.pay(params)", order("order-dup-1"))
    assert again["success"] is False and again["error_code"] == "ALREADY_PAID"
    assert "order-dup-1" in again["error_msg"] and again["imp_uid"] is None
    assert await page.locator("#imp-overlay").count() == 0
    found = (await find_by_merchant_uid(live, merchant, "order-dup-1")).json()["response"]
    assert [p["status"] for p in found["list"]] == ["paid"]  # no second attempt was even opened
    assert len(await sandbox_ledger(live)) == 1


async def test_only_the_gateway_window_can_answer(
    browser: Any, shop: str, live: str, merchant: MerchantFixture
) -> None:
    page = await open_shop(browser, shop, live, merchant)
    result = start_pay(page, order("order-origin-1"))
    frame = page.frame_locator("#imp-window")
    await frame.locator("#pay").wait_for()
    # a forged result from the shop's own origin (any script on the page could send one) is ignored
    await page.evaluate(
        "() => window.postMessage({source: 'tollway', type: 'imp:result', result: {success: true}}, '*')"
    )
    await asyncio.sleep(0.2)
    assert not result.done()
    assert await page.locator("#imp-overlay").count() == 1
    await frame.locator("#pay").click()
    assert (await result)["status"] == "paid"
