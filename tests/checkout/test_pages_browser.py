"""The pages around the window in real Chromium: the printable receipt behind ``receipt_url``, the
favicon every page asks for, and the Korean error pages."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser import axe_audit
from tests.checkout.test_demo_browser import shot
from tests.checkout.test_window_browser import open_shop, order, payment, rest, start_pay
from tests.conftest import MerchantFixture

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


async def test_receipt_url_is_a_printable_receipt_with_its_cancels(
    browser: Any, shop: str, live: str, merchant: MerchantFixture
) -> None:
    page = await open_shop(browser, shop, live, merchant)
    result = start_pay(page, order("order-receipt-1", amount=60000, name="원두 정기배송"))
    frame = page.frame_locator("#imp-window")
    await frame.locator("#months").select_option("3")
    await frame.locator("#pay").click()
    answer = await result
    body = {"imp_uid": answer["imp_uid"], "amount": 10000, "reason": "일부 품절"}
    assert (await rest(live, merchant, "POST", "/payments/cancel", json=body))["code"] == 0
    stored = await payment(live, merchant, answer["imp_uid"])
    await page.goto(stored["receipt_url"])
    details = await page.locator("#details").text_content() or ""
    for expected in ("tosstest", answer["imp_uid"], "원두 정기배송", "카드", "3개월", stored["apply_num"], "부분 취소"):
        assert expected in details, expected
    amounts = await page.locator("#amounts").text_content() or ""
    assert "60,000원" in amounts and "부가세" in amounts
    cancels = await page.locator("#cancels").text_content() or ""
    assert "10,000원" in cancels and "일부 품절" in cancels
    assert "남은 금액 50,000원" in (await page.locator(".balance").text_content() or "")
    assert await axe_audit(page) == []
    await page.emulate_media(media="print")
    assert await page.locator("body").evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(255, 255, 255)"
    await shot(page, "receipt")
    async with httpx.AsyncClient() as http:
        unknown = await http.get(stored["receipt_url"].rsplit("/", 1)[0] + "/nope")
    assert unknown.status_code == 404 and "전표를 찾을 수 없습니다" in unknown.text


async def test_no_page_of_a_payment_misses_its_favicon(
    browser: Any, shop: str, live: str, merchant: MerchantFixture
) -> None:
    page = await open_shop(browser, shop, live, merchant)
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 and r.url.startswith(live) else None)
    result = start_pay(page, order("order-favicon-1"))
    await page.frame_locator("#imp-window").locator("#pay").click()
    assert (await result)["status"] == "paid"
    assert missing == []
    async with httpx.AsyncClient(base_url=live) as http:
        icon = await http.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00" and b"PNG" in icon.content[:40]


async def test_a_bad_checkout_link_is_a_styled_korean_page(browser: Any, live: str) -> None:
    page = await (await browser.new_context(viewport={"width": 390, "height": 844})).new_page()
    answer = await page.goto(f"{live}/checkout/not-a-token")
    assert answer is not None and answer.status == 404
    assert await page.locator("h1").text_content() == "결제창을 찾을 수 없습니다"
    assert await page.locator("body").evaluate("b => getComputedStyle(b).fontFamily.includes('Noto Sans')")
    assert await page.locator("link[rel=stylesheet]").count() == 1  # styled from a file: no inline style
    assert await page.locator("style, [style]").count() == 0
