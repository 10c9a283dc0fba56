"""The demo shop at /demo in Chromium: card, installments, register then again, cancel, vbank deposit.

With ``TOLLWAY_SCREENSHOTS=1`` the run also refreshes the screenshots in ``docs/screenshots``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.browser import axe_audit
from tests.checkout.conftest import SCREENSHOTS
from tollway.bootstrap import SANDBOX_MID, ensure_demo_merchant
from tollway.services import Services

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
SHOOT = os.environ.get("TOLLWAY_SCREENSHOTS") == "1"


async def shot(page: Any, name: str) -> None:
    if SHOOT:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


async def test_the_demo_shop_sells_subscribes_and_cancels(browser: Any, live: str, services: Services) -> None:
    demo = await ensure_demo_merchant(services)
    assert demo is not None and demo.imp_secret
    page = await (await browser.new_context(viewport={"width": 1100, "height": 760})).new_page()
    await page.goto(f"{live}/demo")
    await shot(page, "demo-shop")
    messages = page.locator("#message")

    await page.locator("#pay-card").click()
    window = page.frame_locator("#imp-window")
    await window.locator("label[data-card='11']").click()
    await shot(page, "window-card")
    await window.locator("#pay").click()
    await messages.filter(has_text="결제 완료").wait_for()
    await page.locator("#orders .status-paid").first.wait_for()

    await page.locator("#pay-installment").click()
    await window.locator("#months").select_option("6")
    await shot(page, "window-installments")
    await window.locator("#pay").click()
    await messages.filter(has_text="핸드드립").wait_for()
    assert "6개월" in (await page.locator("#orders tr").first.text_content() or "")

    await page.locator("#register").click()
    await window.locator("#cardNumber").wait_for()
    await shot(page, "window-billing")
    await window.locator("#pay").click()
    await messages.filter(has_text="카드가 등록되었습니다").wait_for()
    await page.locator("#charge-again").click()
    await messages.filter(has_text="9,900원이 결제되었습니다").wait_for()

    await page.locator("#pay-vbank").click()
    await window.locator("#pay").click()
    await messages.filter(has_text="가상계좌 발급").wait_for()
    await page.locator("#orders button.deposit").click()
    await messages.filter(has_text="입금이 확인되어").wait_for()
    await page.locator("#issue-vbank").click()  # issued by the shop's server: POST /vbanks
    await messages.filter(has_text="가상계좌 발급").wait_for()
    await page.locator("#orders button.deposit").click()
    await messages.filter(has_text="입금이 확인되어").nth(0).wait_for()
    await page.locator("#orders button.deposit").wait_for(state="detached")

    await page.locator("#orders button.cancel").last.click()  # the first order: the card payment
    await messages.filter(has_text="취소되었습니다").wait_for()
    await shot(page, "demo-orders")
    statuses = await page.locator("#orders td.status").all_text_contents()
    assert sorted(statuses) == ["결제완료", "결제완료", "결제완료", "결제완료", "취소"]  # in the shop's words
    assert "등록된 카드: 현대카드 43301234****000*" in (await page.locator("#card-registered").text_content() or "")
    assert await axe_audit(page) == []

    ledger = await services.sandbox.store.ledger(SANDBOX_MID)  # the demo's secret key is random
    assert sorted((p["method"], p["totalAmount"], p["status"]) for p in ledger) == [
        ("가상계좌", 15000, "DONE"),
        ("가상계좌", 15000, "DONE"),
        ("카드", 9900, "DONE"),
        ("카드", 15000, "CANCELED"),
        ("카드", 120000, "DONE"),
    ]


async def test_the_demo_at_phone_width_lists_orders_without_overflow(
    browser: Any, live: str, services: Services
) -> None:
    await ensure_demo_merchant(services)
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    await page.goto(f"{live}/demo")
    await page.locator("#pay-kakaopay").click()
    window = page.frame_locator("#imp-window")
    await window.locator("#pay").click()  # 다음
    await window.locator("#confirm").wait_for()
    await window.locator("#pay").click()
    await page.locator("#message").filter(has_text="결제 완료").wait_for()
    await page.locator("#pay-card").click()
    await window.locator("input[value='decline']").check()
    await window.locator("#pay").click()
    await page.locator("#message").filter(has_text="결제 실패").wait_for()
    await page.locator("#orders td.status").nth(1).wait_for()
    statuses = await page.locator("#orders td.status").all_text_contents()
    assert statuses[0].startswith("실패") and "REJECT_CARD_COMPANY" in statuses[0]  # with its reason
    assert statuses[1] == "결제완료"
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    cancel = page.locator("#orders button.cancel").first
    box = await cancel.bounding_box()
    assert box is not None and box["height"] < 48 and box["width"] > box["height"]  # one line, not a letter a line
    assert await axe_audit(page) == []
    await page.locator("section.orders").scroll_into_view_if_needed()
    await shot(page, "demo-phone")
