"""The window keeps Toss's rules as key-in does, in real Chromium: minimum amounts, installments
from 50,000 KRW (checked by the sandbox, not the page), an unmatched ``pg``, the billing window's
amount and refused card, the virtual-account window's button and due date."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.api.routes.pg_helpers import sandbox_ledger
from tests.checkout.test_demo_browser import shot
from tests.checkout.test_window_browser import IPHONE, open_shop, order, payment, rest, start_pay
from tests.conftest import MerchantFixture
from tollway.pg.toss.wire import KST

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("pay_method", "amount"), [("card", 50), ("trans", 150)])
async def test_an_amount_below_toss_minimum_is_refused_as_key_in_refuses_it(
    browser: Any, shop: str, live: str, merchant: MerchantFixture, pay_method: str, amount: int
) -> None:
    page = await open_shop(browser, shop, live, merchant)
    answer = await page.evaluate(
        "params => window.pay(params)", order(f"order-min-{pay_method}", amount=amount, pay_method=pay_method)
    )
    assert answer["success"] is False and answer["error_code"] == "BELOW_MINIMUM_AMOUNT"
    assert "100원" in answer["error_msg"]  # Toss's own message
    stored = await payment(live, merchant, answer["imp_uid"])
    assert stored["status"] == "failed" and "BELOW_MINIMUM_AMOUNT" in stored["fail_reason"]
    assert await sandbox_ledger(live) == []
    keyin = await rest(
        live,
        merchant,
        "POST",
        "/subscribe/payments/onetime",
        json={
            "merchant_uid": "keyin-min-1",
            "amount": 50,
            "card_number": "4330-1234-1234-0005",
            "expiry": "2030-12",
            "birth": "900101",
        },
    )
    assert "BELOW_MINIMUM_AMOUNT" in str(keyin)  # the same rule, the same code


async def test_a_forged_installment_below_50000_gets_toss_code(
    browser: Any, shop: str, live: str, merchant: MerchantFixture
) -> None:
    page = await open_shop(browser, shop, live, merchant)
    result = start_pay(page, order("order-forged-1", amount=30000))
    frame = page.frame_locator("#imp-window")
    await frame.locator("#months").wait_for()
    assert await frame.locator("#months option").all_text_contents() == ["일시불"]
    await frame.locator("#months").evaluate("select => { select.options[0].value = '3'; }")  # a forged form
    await frame.locator("#pay").click()
    answer = await result
    assert answer["error_code"] == "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT"
    assert (await payment(live, merchant, answer["imp_uid"]))["status"] == "failed"
    assert await sandbox_ledger(live) == []


async def test_an_unmatched_pg_opens_the_default_channel_as_rest_does(
    browser: Any, shop: str, live: str, merchant: MerchantFixture
) -> None:
    page = await open_shop(browser, shop, live, merchant)
    result = start_pay(page, order("order-pg-1", pg="kakaopay"))
    await page.frame_locator("#imp-window").locator("#pay").click()
    answer = await result
    assert answer["success"] is True and answer["pg_provider"] == "tosspayments"
    assert (await payment(live, merchant, answer["imp_uid"]))["pg_id"] == "tosstest"


async def test_billing_window_shows_the_amount_and_keeps_a_refused_card(
    browser: Any, shop: str, live: str, merchant: MerchantFixture
) -> None:
    page = await open_shop(browser, shop, live, merchant)
    result = start_pay(page, order("issue-shown-1", amount=9900, name="월간 구독", customer_uid="cu-shown-1"))
    frame = page.frame_locator("#imp-window")
    assert await frame.locator("#orderName").text_content() == "월간 구독"
    assert await frame.locator("#amount").text_content() == "9,900원"
    assert "결제되지 않습니다" in (await frame.locator("#amountNote").text_content() or "")
    await frame.locator("#cardNumber").fill("4330-1234-1234-0021")  # a stopped card: refused at registration
    await frame.locator("#pay").click()
    await frame.locator("#error:not([hidden])").wait_for()
    assert await frame.locator("#cardNumber").input_value() == "4330-1234-1234-0021"  # what the buyer typed
    assert await frame.locator("#cardNumber").get_attribute("aria-invalid") == "true"
    assert await frame.locator("#cardNumber").get_attribute("aria-describedby") == "error"
    await frame.locator("#cardNumber").fill("4330-1234-1234-0005")
    await frame.locator("#pay").click()
    answer = await result
    assert answer["success"] is True and answer["customer_uid"] == "cu-shown-1"
    assert await sandbox_ledger(live) == []  # shown, never charged


async def test_vbank_window_issues_an_account_and_shows_its_due_date(
    browser: Any, shop: str, live: str, merchant: MerchantFixture
) -> None:
    page = await open_shop(browser, shop, live, merchant, **IPHONE)
    await page.evaluate(
        "params => { IMP.request_pay(params); }",
        order(
            "order-vbank-due-1",
            amount=32000,
            pay_method="vbank",
            vbank_due="20260120",
            m_redirect_url=f"{shop}/complete",
        ),
    )
    assert await page.locator("#pay").text_content() == "가상계좌 발급받기"
    shown = await page.locator("#due").text_content()
    await shot(page, "window-vbank-phone")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    await page.locator("#pay").click()
    await page.wait_for_url(f"{shop}/complete*")
    assert await page.locator("#imp_success").text_content() == "true"
    issued = await payment(live, merchant, await page.locator("#imp_uid").text_content() or "")
    due = datetime.fromtimestamp(issued["vbank_date"], KST).strftime("%Y-%m-%d %H:%M")
    assert shown == f"입금 기한: {due}까지"  # the deadline the account got, as the window showed it
