"""Easy pays, phone and gift certificates in real Chromium: each method paid through the sandbox's
two-step window, by PC callback and by mobile redirect, with the V1 fields in the callback and in
``GET /payments/{imp_uid}``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.checkout.test_demo_browser import shot
from tests.checkout.test_window_browser import IPHONE, open_shop, order, payment, rest, start_pay
from tests.conftest import MerchantFixture

pytestmark = pytest.mark.browser

#: pay_method → its emb_pg_provider (None: not an easy pay)
METHODS = {
    "tosspay": "tosspay",
    "kakaopay": "kakaopay",
    "naverpay": "naverpay",
    "payco": "payco",
    "samsung": "samsungpay",
    "samsungpay": "samsungpay",
    "lpay": "lpay",
    "ssgpay": "ssgpay",
    "applepay": "applepay",
    "phone": None,
    "cultureland": None,
    "smartculture": None,
    "booknlife": None,
}


async def settled(page: Any) -> None:
    """The overlay's frame painted (two animation frames) with its fonts loaded: for screenshots."""
    frame = page.frame(name="imp-window")
    await frame.evaluate(
        "() => document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))))"
    )


async def walk(frame: Any, pay_method: str, page: Any = None) -> None:
    """The buyer's two steps in the window (the page or the overlay's frame); with ``page``, the
    steps of two methods are the screenshots of docs/checkout.md."""
    await frame.locator("#provider").wait_for()
    if page is not None and pay_method == "kakaopay":
        await settled(page)
        await shot(page, "window-easypay")
    if pay_method == "phone":
        await frame.locator("#carrier").select_option("KT")
        await frame.locator("#phone").fill("010-2222-3333")
    await frame.locator("#pay").click()  # 다음
    await frame.locator("#confirm").wait_for()
    if pay_method == "phone":
        assert "010****3333" in (await frame.locator("#confirm").text_content() or "")
        await frame.locator("#smsCode").fill("000000")
        if page is not None:
            await settled(page)
            await shot(page, "window-phone-confirm")
    await frame.locator("#pay").click()  # N원 결제하기


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("pay_method", list(METHODS))
async def test_each_method_pays_by_pc_callback(
    browser: Any, shop: str, live: str, merchant: MerchantFixture, pay_method: str
) -> None:
    page = await open_shop(browser, shop, live, merchant)
    result = start_pay(page, order(f"order-pc-{pay_method}", pay_method=pay_method))
    frame = page.frame_locator("#imp-window")
    await walk(frame, pay_method, page)
    answer = await result
    assert answer["success"] is True and answer["status"] == "paid" and answer["paid_amount"] == 15000
    assert answer["pay_method"] == pay_method and answer["emb_pg_provider"] == METHODS[pay_method]
    stored = await payment(live, merchant, answer["imp_uid"])
    assert stored["status"] == "paid" and stored["channel"] == "pc"
    assert stored["pay_method"] == pay_method and stored["emb_pg_provider"] == METHODS[pay_method]
    assert await page.locator("#imp-overlay").count() == 0
    cancel = await rest(live, merchant, "POST", "/payments/cancel", json={"imp_uid": answer["imp_uid"]})
    assert cancel["code"] == 0 and cancel["response"]["status"] == "cancelled"  # every method cancels in full
    assert cancel["response"]["cancel_amount"] == 15000


@pytest.mark.parametrize("pay_method", ["kakaopay", "phone", "booknlife"])
async def test_methods_pay_by_mobile_redirect_at_phone_width(
    browser: Any, shop: str, live: str, merchant: MerchantFixture, pay_method: str
) -> None:
    page = await open_shop(browser, shop, live, merchant, **IPHONE)
    await page.evaluate(
        "params => { IMP.request_pay(params); }",
        order(f"order-m-{pay_method}", pay_method=pay_method, m_redirect_url=f"{shop}/complete"),
    )
    await page.locator("#provider").wait_for()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await walk(page, pay_method)
    await page.wait_for_url(f"{shop}/complete*")
    assert await page.locator("#imp_success").text_content() == "true"
    stored = await payment(live, merchant, await page.locator("#imp_uid").text_content() or "")
    assert stored["status"] == "paid" and stored["channel"] == "mobile" and stored["pay_method"] == pay_method
