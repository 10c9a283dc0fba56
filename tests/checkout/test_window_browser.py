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
