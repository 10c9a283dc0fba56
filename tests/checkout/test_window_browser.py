"""The payment window in real Chromium: the SDK on a shop's origin, the window, the sandbox PG."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from tests.api.routes.pg_helpers import sandbox_ledger
from tests.checkout.test_flow import rest
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


def start_pay(page: Any, params: dict[str, Any]) -> asyncio.Future[Any]:
    """Calls ``IMP.request_pay`` and returns the callback's answer to come (the window is open meanwhile)."""
    future = asyncio.ensure_future(page.evaluate("params => window.pay(params)", params))
    future.add_done_callback(lambda f: f.cancelled() or f.exception())  # a test may close the page first
    return future


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
    result = start_pay(page, order("order-pc-1", custom_data={"coupon": "WELCOME"}, notice_url=f"{shop}/hook"))
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
    assert json.loads(stored["custom_data"]) == {"coupon": "WELCOME"} == json.loads(answer["custom_data"])
    assert stored["buyer_name"] == "홍길동" and stored["buyer_tel"] == "010-1234-5678"
    ledger = await sandbox_ledger(live)
    assert [(p["orderId"], p["status"]) for p in ledger] == [(answer["imp_uid"], "DONE")]


IPHONE = {
    "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}


async def find_by_merchant_uid(live: str, merchant: MerchantFixture, merchant_uid: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=live) as http:
        token = await token_for(http, merchant)
        return await http.get(f"/payments/findAll/{merchant_uid}", headers={"Authorization": token})


async def test_mobile_redirects_to_m_redirect_url(
    browser: Any, shop: str, live: str, merchant: MerchantFixture
) -> None:
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
    # without a callback, request_pay returns a Promise of the same answer
    promised = await page.evaluate("params => IMP.request_pay(params)", order("order-string-1", amount=15000.5))
    assert promised["error_code"] == "INVALID_PARAMETER" and promised["imp_uid"] is None
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


LUMP_SUM = "일시불"


async def window_offer(page: Any) -> tuple[list[str], list[str] | None, str | None]:
    """(card companies offered, installment options or None, the fixed plan shown or None)."""
    frame = page.frame_locator("#imp-window")
    await frame.locator("#pay").wait_for()
    companies = await frame.locator("#companies label").evaluate_all("els => els.map(e => e.dataset.card)")
    months = None
    if await frame.locator("#months").count():
        months = await frame.locator("#months option").all_text_contents()
    fixed = await frame.locator("#fixedMonths").text_content() if await frame.locator("#fixedMonths").count() else None
    return companies, months, fixed


@pytest.mark.parametrize(
    ("amount", "options", "companies", "months", "fixed"),
    [
        # installments are offered only from 50,000 KRW
        (15000, {}, 16, [LUMP_SUM], None),
        (60000, {}, 16, [LUMP_SUM] + [f"{m}개월" for m in range(2, 13)], None),
        # display.card_quota: [] = lump-sum only; Toss shows lump-sum up to the largest month listed
        (60000, {"display": {"card_quota": []}}, 16, None, LUMP_SUM),
        (60000, {"display": {"card_quota": [3, 6]}}, 16, [LUMP_SUM, "2개월", "3개월", "4개월", "5개월", "6개월"], None),
        (15000, {"display": {"card_quota": [3, 6]}}, 16, [LUMP_SUM], None),
        # only_installment hides lump-sum
        (60000, {"display": {"card_quota": [4], "only_installment": True}}, 16, ["2개월", "3개월", "4개월"], None),
        # card.direct opens one card company; its quota is applied and not shown
        (60000, {"card": {"direct": {"code": "366", "quota": 3}}}, ["41"], None, None),
        (60000, {"card": {"direct": {"code": "381"}}}, ["11"], None, None),
        # card.detail limits the card companies offered
        (
            15000,
            {
                "card": {
                    "detail": [
                        {"card_code": "*", "enabled": False},
                        {"card_code": "366", "enabled": True},
                        {"card_code": "381", "enabled": True},
                    ]
                }
            },
            ["41", "11"],
            [LUMP_SUM],
            None,
        ),
        # 기업BC has no KFTC code of its own, so a card.detail list (always KFTC codes) leaves it out
        (15000, {"card": {"detail": [{"card_code": "367", "enabled": False}]}}, 14, [LUMP_SUM], None),
    ],
)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_card_options_shape_what_the_window_offers(
    browser: Any,
    shop: str,
    live: str,
    merchant: MerchantFixture,
    amount: int,
    options: dict[str, Any],
    companies: int | list[str],
    months: list[str] | None,
    fixed: str | None,
) -> None:
    page = await open_shop(browser, shop, live, merchant)
    start_pay(page, order("order-options-1", amount=amount, **options))
    offered, offered_months, shown = await window_offer(page)
    if isinstance(companies, int):
        assert len(offered) == companies
    else:
        assert offered == companies
    assert offered_months == months
    assert shown == fixed


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_card_direct_quota_is_charged(browser: Any, shop: str, live: str, merchant: MerchantFixture) -> None:
    page = await open_shop(browser, shop, live, merchant)
    result = start_pay(page, order("order-direct-1", amount=60000, card={"direct": {"code": "366", "quota": 3}}))
    await page.frame_locator("#imp-window").locator("#pay").click()
    answer = await result
    assert answer["status"] == "paid" and answer["card_quota"] == 3 and answer["card_name"] == "신한카드"
    stored = await payment(live, merchant, answer["imp_uid"])
    assert stored["card_quota"] == 3 and stored["card_code"] == "366"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_chosen_installment_is_charged(browser: Any, shop: str, live: str, merchant: MerchantFixture) -> None:
    page = await open_shop(browser, shop, live, merchant)
    result = start_pay(page, order("order-months-1", amount=60000, display={"card_quota": [6]}))
    frame = page.frame_locator("#imp-window")
    await frame.locator("#months").select_option("5")
    await frame.locator("#pay").click()
    answer = await result
    assert answer["status"] == "paid" and answer["card_quota"] == 5


@pytest.mark.parametrize(
    ("options", "amount", "fragment"),
    [
        ({"card": {"direct": {"code": "366", "quota": 3}}}, 15000, "50,000"),
        ({"card": {"direct": {"code": "999"}}}, 15000, "card.direct.code"),
        ({"card": {"detail": [{"card_code": "*", "enabled": False}]}}, 15000, "card.detail"),
        ({"display": {"card_quota": "3"}}, 60000, "display.card_quota"),
        ({"pay_method": "bitcoin"}, 15000, "pay_method"),
        ({"pay_method": "kpay"}, 15000, "kpay"),  # a V1 method the tosspayments module does not take
    ],
)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_bad_window_options_are_refused_with_what_was_expected(
    browser: Any,
    shop: str,
    live: str,
    merchant: MerchantFixture,
    options: dict[str, Any],
    amount: int,
    fragment: str,
) -> None:
    page = await open_shop(browser, shop, live, merchant)
    answer = await page.evaluate("params => window.pay(params)", order("order-bad-1", amount=amount, **options))
    assert answer["success"] is False and answer["imp_uid"] is None
    assert fragment in answer["error_msg"]
    assert await page.locator("#imp-overlay").count() == 0
    assert (await find_by_merchant_uid(live, merchant, "order-bad-1")).status_code == 404


async def test_billing_window_issues_a_key_that_again_charges(
    browser: Any, shop: str, live: str, merchant: MerchantFixture
) -> None:
    page = await open_shop(browser, shop, live, merchant)
    params = order("issue-1", amount=0, name="정기구독 등록", customer_uid="cu-window-1")
    result = start_pay(page, params)
    frame = page.frame_locator("#imp-window")
    await frame.locator("#cardNumber").fill("5365-1000-0000-0006")  # a KB check card
    await frame.locator("#pay").click()
    answer = await result
    assert answer["success"] is True and answer["error_code"] is None
    assert answer["customer_uid"] == "cu-window-1" and answer["merchant_uid"] == "issue-1"
    assert answer["imp_uid"] is None  # nothing was charged, so there is no payment
    assert answer["card_name"] == "KB국민카드"
    assert await sandbox_ledger(live) == []  # the amount was shown, never charged
    customer = await rest(live, merchant, "GET", "/subscribe/customers/cu-window-1")
    assert customer["code"] == 0
    assert customer["response"]["card_code"] == "381" and customer["response"]["card_type"] == 1
    assert customer["response"]["customer_id"].startswith("tollway-")  # made up when absent
    assert customer["response"]["customer_name"] == "홍길동"
    again = await rest(
        live,
        merchant,
        "POST",
        "/subscribe/payments/again",
        json={"customer_uid": "cu-window-1", "merchant_uid": "again-1", "amount": 9900, "name": "1월 구독료"},
    )
    assert again["code"] == 0 and again["response"]["status"] == "paid"
    assert again["response"]["customer_uid"] == "cu-window-1"
    ledger = await sandbox_ledger(live)
    assert [(p["type"], p["totalAmount"], p["status"]) for p in ledger] == [("BILLING", 9900, "DONE")]


async def test_billing_window_keeps_customer_id_and_refuses_a_bad_sms_code(
    browser: Any, shop: str, live: str, merchant: MerchantFixture
) -> None:
    page = await open_shop(browser, shop, live, merchant)
    result = start_pay(page, order("issue-2", amount=0, customer_uid="cu-window-2", customer_id="buyer-77"))
    frame = page.frame_locator("#imp-window")
    await frame.locator("#smsCode").fill("123456")
    await frame.locator("#pay").click()
    assert "000000" in (await frame.locator("#error:not([hidden])").text_content() or "")  # it asks again
    assert await frame.locator("#smsCode").get_attribute("aria-invalid") == "true"  # the error names its field
    assert await frame.locator("#cardNumber").get_attribute("aria-invalid") is None
    await frame.locator("#smsCode").fill("000000")
    await frame.locator("#pay").click()
    assert (await result)["success"] is True
    customer = await rest(live, merchant, "GET", "/subscribe/customers/cu-window-2")
    assert customer["response"]["customer_id"] == "buyer-77"


async def test_vbank_is_issued_then_paid_by_a_simulated_deposit(
    browser: Any, shop: str, live: str, merchant: MerchantFixture
) -> None:
    page = await open_shop(browser, shop, live, merchant)
    result = start_pay(page, order("order-vbank-1", amount=32000, pay_method="vbank", vbank_due="20991231"))
    frame = page.frame_locator("#imp-window")
    await frame.locator("#bank").select_option("88")  # 신한은행
    await frame.locator("#pay").click()
    answer = await result
    assert answer["success"] is True and answer["error_code"] is None
    assert answer["status"] == "ready" and answer["pay_method"] == "vbank"
    assert answer["vbank_num"].startswith("X") and answer["vbank_name"] == "신한은행"
    assert answer["vbank_holder"] is None and answer["vbank_date"] > 0
    issued = await payment(live, merchant, answer["imp_uid"])
    assert issued["status"] == "ready" and issued["vbank_code"] == "088" and issued["vbank_issued_at"] > 0
    deposit = await rest(live, merchant, "POST", f"/tollway/sandbox/payments/{answer['imp_uid']}/deposit")
    assert deposit["code"] == 0, deposit
    assert deposit["response"]["status"] == "paid" and deposit["response"]["amount"] == 32000
    assert deposit["response"]["vbank_num"] == answer["vbank_num"]
    twice = await rest(live, merchant, "POST", f"/tollway/sandbox/payments/{answer['imp_uid']}/deposit")
    # a second deposit changes nothing (the reason, "is paid", is in the Tollway-Detail header)
    assert twice["code"] != 0 and twice["message"] == "입금을 기다리는 가상계좌 결제건이 아닙니다."
    ledger = await sandbox_ledger(live)
    assert [(p["method"], p["status"]) for p in ledger] == [("가상계좌", "DONE")]


async def test_account_transfer_is_paid_with_its_bank(
    browser: Any, shop: str, live: str, merchant: MerchantFixture
) -> None:
    page = await open_shop(browser, shop, live, merchant)
    result = start_pay(page, order("order-trans-1", amount=21000, pay_method="trans"))
    frame = page.frame_locator("#imp-window")
    await frame.locator("#bank").select_option("90")  # 카카오뱅크
    await frame.locator("#pay").click()
    answer = await result
    assert answer["status"] == "paid" and answer["pay_method"] == "trans" and answer["bank_name"] == "카카오뱅크"
    stored = await payment(live, merchant, answer["imp_uid"])
    assert stored["bank_code"] == "090" and stored["card_code"] is None
