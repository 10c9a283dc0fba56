"""The SDK navigates only to http(s) URLs, and to the window only on the gateway (issue 13, item 7):
a ``javascript:`` URL, from the merchant's params or a forged gateway answer, never runs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.checkout.test_window_browser import IPHONE, open_shop, order
from tests.conftest import MerchantFixture
from tollway.merchants.origins import add_origins
from tollway.services import Services

pytestmark = pytest.mark.browser
#: the callback's answer, or (before the fix) ``{"pwned": true}`` once a javascript: URL has run
PAY = """params => new Promise(resolve => {
  IMP.request_pay(params, resolve);
  setInterval(() => { if (window.pwned) resolve({pwned: true}); }, 50);
})"""


async def _stays(page: Any, shop: str) -> None:
    assert page.url.startswith(f"{shop}/pay")
    assert await page.evaluate("window.pwned === undefined")


async def test_a_javascript_redirect_url_is_never_navigated_to(
    browser: Any, shop: str, live: str, merchant: MerchantFixture
) -> None:
    page = await open_shop(browser, shop, live, merchant, **IPHONE)
    result = await page.evaluate(PAY, order("sdk-js-1", m_redirect_url="javascript:window.pwned=1//"))
    assert result["imp_success"] is False and result["error_code"] == "INVALID_PARAMETER"
    await _stays(page, shop)


@pytest.mark.parametrize("checkout_url", ["javascript:window.pwned=2;void 0", "https://evil.example/checkout/x"])
async def test_a_forged_gateway_answer_is_not_followed(
    browser: Any, shop: str, live: str, merchant: MerchantFixture, checkout_url: str
) -> None:
    page = await open_shop(browser, shop, live, merchant, **IPHONE)

    async def forged(route: Any) -> None:
        body = {"code": 0, "message": None, "response": {"checkout_url": checkout_url, "imp_uid": None}}
        await route.fulfill(
            status=200,
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": shop},
            body=json.dumps(body),
        )

    await page.route("**/checkout/sessions", forged)
    result = await page.evaluate(PAY, order("sdk-js-2", m_redirect_url=f"{shop}/complete"))
    assert result["error_code"] == "INVALID_RESPONSE"
    await _stays(page, shop)


async def test_a_redirect_url_off_the_allowed_origins_is_not_followed(
    browser: Any, shop: str, live: str, merchant: MerchantFixture, services: Services
) -> None:
    async with services.sessions() as session:
        await add_origins(session, services.clock, merchant.id, [shop])
        await session.commit()
    page = await open_shop(browser, shop, live, merchant, **IPHONE)
    result = await page.evaluate(PAY, order("sdk-js-3", m_redirect_url="https://evil.example/steal"))
    assert result["error_code"] == "INVALID_REDIRECT_URL"
    await _stays(page, shop)
