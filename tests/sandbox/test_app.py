"""The sandbox PG over real HTTP: Toss's auth mapping, idempotency, test codes and business rules."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import MerchantFixture
from tests.sandbox.conftest import SECRET, basic
from tollway.clock import ManualClock
from tollway.sandbox.cards import TEST_CARDS, Outcome, luhn_ok

APPROVE = "4330123412340005"
SLOW = "4330123412340062"


def key_in(order_id: str = "order-0001", amount: int = 15000, number: str = APPROVE, **extra: Any) -> dict[str, Any]:
    return {
        "amount": amount,
        "orderId": order_id,
        "orderName": "토스 티셔츠 외 2건",
        "cardNumber": number,
        "cardExpirationYear": "30",
        "cardExpirationMonth": "12",
        "customerIdentityNumber": "900101",
        **extra,
    }


async def test_every_test_card_is_luhn_valid_and_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "sandbox.md").read_text()
    for number, card in TEST_CARDS.items():
        assert luhn_ok(number), number
        assert number in doc and card.outcome.value in doc


@pytest.mark.parametrize(
    ("header", "status", "code"),
    [
        (None, 401, "UNAUTHORIZED_KEY"),
        ("Bearer abc", 401, "UNAUTHORIZED_KEY"),
        ("Basic !!!", 401, "UNAUTHORIZED_KEY"),
        (basic(SECRET, colon=False), 403, "INCORRECT_BASIC_AUTH_FORMAT"),
        (basic("test_sk_unknown"), 401, "UNAUTHORIZED_KEY"),
        (basic("test_ck_tosstest"), 401, "UNAUTHORIZED_KEY"),
    ],
)
async def test_basic_auth_follows_tosss_mapping(
    live: str, merchant: MerchantFixture, header: str | None, status: int, code: str
) -> None:
    headers = {"Authorization": header} if header else {}
    async with httpx.AsyncClient(base_url=f"{live}/sandbox/toss") as http:
        answer = await http.get("/v1/payments/orders/order-0001", headers=headers)
    assert answer.status_code == status
    assert answer.json()["code"] == code and answer.json()["message"]
    assert answer.headers["content-type"] == "application/json"


async def test_unpadded_base64_and_the_docs_test_key_are_accepted(live: str, merchant: MerchantFixture) -> None:
    async with httpx.AsyncClient(base_url=f"{live}/sandbox/toss") as http:
        mine = await http.get("/v1/payments/orders/order-0001", headers={"Authorization": basic(SECRET, pad=False)})
        docs = await http.get(
            "/v1/payments/orders/order-0001",
            headers={"Authorization": basic("test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R")},
        )
    assert mine.status_code == docs.status_code == 404
    assert mine.json()["code"] == "NOT_FOUND_PAYMENT" and "X-TossPayments-Trace-Id" in mine.headers


async def test_key_in_answers_a_toss_payment(toss: httpx.AsyncClient) -> None:
    answer = await toss.post("/v1/payments/key-in", json=key_in(), headers={"Idempotency-Key": "k1"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "DONE" and body["method"] == "카드" and body["type"] == "NORMAL"
    amounts = (body["totalAmount"], body["balanceAmount"], body["suppliedAmount"], body["vat"])
    assert amounts == (15000, 15000, 13636, 1364)
    assert body["card"]["number"] == "43301234****000*" and body["card"]["issuerCode"] == "61"
    assert body["requestedAt"].endswith("+09:00") and body["approvedAt"].endswith("+09:00")
    assert body["lastTransactionKey"].startswith("txrd_") and "_sandbox" not in body
    assert body["paymentKey"].startswith("tosst")
    again = await toss.get(f"/v1/payments/{body['paymentKey']}")
    assert again.json() == body


async def test_idempotency_replays_the_first_answer_even_for_another_body(toss: httpx.AsyncClient) -> None:
    first = await toss.post("/v1/payments/key-in", json=key_in(), headers={"Idempotency-Key": "same"})
    second = await toss.post(
        "/v1/payments/key-in", json=key_in("order-0002", 20000), headers={"Idempotency-Key": "same"}
    )
    assert second.status_code == 200 and second.content == first.content
    ledger = (await toss.get("/_sandbox/payments")).json()
    assert [p["orderId"] for p in ledger] == ["order-0001"]


async def test_idempotency_replays_errors_too(toss: httpx.AsyncClient) -> None:
    declined = await toss.post(
        "/v1/payments/key-in", json=key_in(number="4330123412340013"), headers={"Idempotency-Key": "e"}
    )
    assert declined.status_code == 403 and declined.json()["code"] == "REJECT_CARD_COMPANY"
    replay = await toss.post("/v1/payments/key-in", json=key_in(), headers={"Idempotency-Key": "e"})
    assert (replay.status_code, replay.content) == (403, declined.content)


async def test_idempotency_key_rules(toss: httpx.AsyncClient) -> None:
    too_long = await toss.post("/v1/payments/key-in", json=key_in(), headers={"Idempotency-Key": "x" * 301})
    assert too_long.status_code == 400 and too_long.json()["code"] == "INVALID_IDEMPOTENCY_KEY"
    first = asyncio.create_task(
        toss.post("/v1/payments/key-in", json=key_in(number=SLOW), headers={"Idempotency-Key": "busy"})
    )
    await asyncio.sleep(0.08)
    busy = await toss.post("/v1/payments/key-in", json=key_in(number=SLOW), headers={"Idempotency-Key": "busy"})
    # whichever the sandbox took first (on a loaded machine the second may overtake the first)
    # processes for 0.2 s, and the other is refused meanwhile
    answers = sorted((a.status_code, a.json().get("code")) for a in (busy, await first))
    assert answers == [(200, None), (409, "IDEMPOTENT_REQUEST_PROCESSING")]
    # the same key on another path is another request
    other = await toss.post(
        "/v1/billing/authorizations/card", json={"customerKey": "c-1", **key_in()}, headers={"Idempotency-Key": "busy"}
    )
    assert other.status_code == 200 and "billingKey" in other.json()


async def test_test_code_header_forces_that_error(toss: httpx.AsyncClient) -> None:
    forced = await toss.post(
        "/v1/payments/key-in", json=key_in(), headers={"TossPayments-Test-Code": "REJECT_CARD_PAYMENT"}
    )
    assert forced.status_code == 403 and forced.json() == {
        "code": "REJECT_CARD_PAYMENT",
        "message": "한도초과 혹은 잔액부족으로 결제에 실패했습니다.",
    }
    unknown = await toss.post("/v1/payments/key-in", json=key_in(), headers={"TossPayments-Test-Code": "NOPE"})
    assert unknown.status_code == 400 and unknown.json()["code"] == "INVALID_TEST_CODE"
    assert (await toss.get("/_sandbox/payments")).json() == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (key_in(amount=10000, cardInstallmentPlan=3), 400, "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT"),
        (key_in(amount=60000, cardInstallmentPlan=1), 400, "INVALID_CARD_INSTALLMENT_PLAN"),
        (key_in(amount=60000, cardInstallmentPlan=13), 400, "INVALID_CARD_INSTALLMENT_PLAN"),
        (key_in(amount=99), 400, "BELOW_MINIMUM_AMOUNT"),
        (key_in(amount=0), 400, "BELOW_ZERO_AMOUNT"),
        (key_in(order_id="abc"), 400, "INVALID_ORDER_ID"),
        (key_in(order_id="order.with.dots"), 400, "INVALID_ORDER_ID"),
        (key_in(orderName="x" * 101), 400, "INVALID_ORDER_NAME"),
        (key_in(number="4330123412340001"), 400, "INVALID_CARD_NUMBER"),
        (key_in(cardExpirationYear="25", cardExpirationMonth="12"), 400, "INVALID_CARD_EXPIRATION"),
        (key_in(cardExpirationMonth="13"), 400, "INVALID_CARD_EXPIRATION"),
        (key_in(customerIdentityNumber="901301"), 400, "INVALID_BIRTH_DAY_FORMAT"),
        (key_in(cardPassword="1"), 400, "INVALID_CARD_PASSWORD"),
        (key_in(number="4330123412340013"), 403, "REJECT_CARD_COMPANY"),
        (key_in(number="4330123412340021"), 400, "INVALID_STOPPED_CARD"),
        (key_in(number="4330123412340039"), 403, "REJECT_CARD_PAYMENT"),
        (key_in(number="4330123412340047"), 400, "INVALID_CARD_LOST_OR_STOLEN"),
        (key_in(number="4330123412340054"), 400, "INVALID_CARD_NUMBER"),
    ],
)
async def test_key_in_rules_and_test_cards(
    toss: httpx.AsyncClient, body: dict[str, Any], status: int, code: str
) -> None:
    answer = await toss.post("/v1/payments/key-in", json=body)
    assert (answer.status_code, answer.json()["code"]) == (status, code)


async def test_installments_from_50000_and_declines_are_kept_as_aborted(toss: httpx.AsyncClient) -> None:
    ok = await toss.post("/v1/payments/key-in", json=key_in(amount=50000, cardInstallmentPlan=3))
    assert ok.json()["card"]["installmentPlanMonths"] == 3
    await toss.post("/v1/payments/key-in", json=key_in("order-0009", number="4330123412340039"))
    aborted = (await toss.get("/v1/payments/orders/order-0009")).json()
    assert aborted["status"] == "ABORTED" and aborted["failure"]["code"] == "REJECT_CARD_PAYMENT"
    retried = await toss.post("/v1/payments/key-in", json=key_in("order-0009"))
    assert retried.status_code == 200  # an aborted order id can be tried again
    duplicate = await toss.post("/v1/payments/key-in", json=key_in("order-0009"))
    assert duplicate.json()["code"] == "DUPLICATED_ORDER_ID"


async def test_cancels_recompute_balance_and_vat(toss: httpx.AsyncClient) -> None:
    paid = (await toss.post("/v1/payments/key-in", json=key_in(amount=10000, taxFreeAmount=3000))).json()
    assert (paid["suppliedAmount"], paid["vat"]) == (6364, 636)  # (10000 − 3000) / 11 = 636.36 → 636
    key = paid["paymentKey"]
    missing_reason = await toss.post(f"/v1/payments/{key}/cancel", json={"cancelAmount": 100})
    assert missing_reason.json()["code"] == "INVALID_REQUIRED_PARAM"
    over = await toss.post(f"/v1/payments/{key}/cancel", json={"cancelReason": "x", "cancelAmount": 10001})
    assert (over.status_code, over.json()["code"]) == (403, "NOT_CANCELABLE_AMOUNT")
    partial = {"cancelReason": "x", "cancelAmount": 4000, "taxFreeAmount": 1000}
    part = (await toss.post(f"/v1/payments/{key}/cancel", json=partial)).json()
    assert (part["status"], part["balanceAmount"], part["taxFreeAmount"]) == ("PARTIAL_CANCELED", 6000, 2000)
    assert (part["suppliedAmount"], part["vat"]) == (3636, 364)
    assert part["cancels"][0]["refundableAmount"] == 6000
    assert part["lastTransactionKey"] == part["cancels"][0]["transactionKey"]
    full = (await toss.post(f"/v1/payments/{key}/cancel", json={"cancelReason": "rest"})).json()
    assert (full["status"], full["balanceAmount"], full["vat"]) == ("CANCELED", 0, 0)
    again = await toss.post(f"/v1/payments/{key}/cancel", json={"cancelReason": "x"})
    assert (again.status_code, again.json()["code"]) == (400, "ALREADY_CANCELED_PAYMENT")


async def test_concurrent_cancels_never_refund_twice(toss: httpx.AsyncClient) -> None:
    key = (await toss.post("/v1/payments/key-in", json=key_in(amount=10000))).json()["paymentKey"]
    answers = await asyncio.gather(
        *(
            toss.post(f"/v1/payments/{key}/cancel", json={"cancelReason": f"c{i}", "cancelAmount": 6000})
            for i in range(4)
        )
    )
    assert sorted(a.status_code for a in answers)[0] == 200
    final = (await toss.get(f"/v1/payments/{key}")).json()
    assert final["balanceAmount"] == 4000 and len(final["cancels"]) == 1


async def test_a_checkout_session_expires_after_10_minutes(toss: httpx.AsyncClient, clock: ManualClock) -> None:
    opened = await toss.post(
        "/_sandbox/checkout-sessions",
        json={"orderId": "order-0100", "orderName": "x", "amount": 1000, "cardNumber": APPROVE},
    )
    key = opened.json()["paymentKey"]
    assert (await toss.get(f"/v1/payments/{key}")).json()["status"] == "IN_PROGRESS"
    clock.advance(minutes=11)
    late = await toss.post("/v1/payments/confirm", json={"paymentKey": key, "orderId": "order-0100", "amount": 1000})
    assert (late.status_code, late.json()["code"]) == (404, "NOT_FOUND_PAYMENT_SESSION")
    expired = (await toss.get(f"/v1/payments/{key}")).json()
    assert expired["status"] == "EXPIRED" and expired["failure"]["code"] == "EXPIRED_PAYMENT"
    assert expired["method"] is None


async def test_confirming_twice_is_already_processed(toss: httpx.AsyncClient) -> None:
    opened = await toss.post(
        "/_sandbox/checkout-sessions",
        json={"orderId": "order-0101", "orderName": "x", "amount": 1000, "cardNumber": APPROVE},
    )
    body = {"paymentKey": opened.json()["paymentKey"], "orderId": "order-0101", "amount": 1000}
    assert (await toss.post("/v1/payments/confirm", json=body)).status_code == 200
    twice = await toss.post("/v1/payments/confirm", json=body)
    assert (twice.status_code, twice.json()["code"]) == (400, "ALREADY_PROCESSED_PAYMENT")


async def test_billing_auth_keys_are_single_use(toss: httpx.AsyncClient) -> None:
    auth = (await toss.post("/_sandbox/billing-auths", json={"customerKey": "cust-1", "cardNumber": APPROVE})).json()
    wrong = await toss.post(
        "/v1/billing/authorizations/issue", json={"authKey": auth["authKey"], "customerKey": "cust-2"}
    )
    assert wrong.json()["code"] == "INVALID_BILLING_AUTH"
    exchange = {"authKey": auth["authKey"], "customerKey": "cust-1"}
    first = await toss.post("/v1/billing/authorizations/issue", json=exchange)
    assert first.status_code == 200 and first.json()["billingKey"].endswith("=")
    reused = await toss.post("/v1/billing/authorizations/issue", json=exchange)
    assert reused.json()["code"] == "INVALID_BILLING_AUTH"


async def test_billing_registration_refuses_stopped_cards_and_bad_customer_keys(toss: httpx.AsyncClient) -> None:
    stopped = await toss.post(
        "/v1/billing/authorizations/card", json={"customerKey": "cust-1", **key_in(number="4330123412340021")}
    )
    assert stopped.json()["code"] == "INVALID_STOPPED_CARD"
    bad_key = await toss.post("/v1/billing/authorizations/card", json={"customerKey": "x", **key_in()})
    assert bad_key.json()["code"] == "INVALID_CUSTOMER_KEY"
    # an insufficient-limit card registers, and is refused when charged
    issued = (
        await toss.post(
            "/v1/billing/authorizations/card", json={"customerKey": "cust-1", **key_in(number="4330123412340039")}
        )
    ).json()
    charged = await toss.post(
        f"/v1/billing/{issued['billingKey']}",
        json={"customerKey": "cust-1", "amount": 5000, "orderId": "bill-0001", "orderName": "정기결제"},
    )
    assert (charged.status_code, charged.json()["code"]) == (403, "REJECT_CARD_PAYMENT")
    deleted = await toss.delete(f"/v1/billing/{issued['billingKey']}")
    assert deleted.status_code == 200 and deleted.content == b""
    assert (await toss.delete(f"/v1/billing/{issued['billingKey']}")).json()["code"] == "NOT_FOUND_BILLING"


async def test_unknown_paths_and_methods_answer_in_tosss_shape(toss: httpx.AsyncClient) -> None:
    missing = await toss.get("/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    wrong = await toss.put("/v1/payments/key-in")
    assert wrong.status_code == 404 and wrong.json()["code"] == "NOT_FOUND_HTTP_METHOD"


def test_outcomes_cover_the_issue_s_list() -> None:
    wanted = {Outcome.APPROVE, Outcome.DECLINE, Outcome.STOPPED, Outcome.INSUFFICIENT, Outcome.INVALID}
    wanted |= {Outcome.SLOW, Outcome.HANG}
    assert wanted <= {card.outcome for card in TEST_CARDS.values()}


async def test_a_caller_that_hangs_up_mid_body_is_no_error_and_frees_its_key(
    live: str, toss: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A caller killed while sending (a worker SIGKILLed mid-request) gets nothing, its
    Idempotency-Key is free for the retry, and the sandbox logs no traceback for it."""
    host, port = live.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /sandbox/toss/v1/payments/key-in HTTP/1.1\r\n"
        + f"Host: {host}\r\nAuthorization: {basic(SECRET)}\r\n".encode()
        + b"Idempotency-Key: gone\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
        + b'{"amount": 15000, "orderId"'
    )
    await writer.drain()
    await asyncio.sleep(0.2)  # the sandbox has claimed the key and waits for the rest of the body
    writer.close()
    await writer.wait_closed()
    del reader
    for _ in range(50):
        retry = await toss.post("/v1/payments/key-in", json=key_in(), headers={"Idempotency-Key": "gone"})
        if retry.json().get("code") != "IDEMPOTENT_REQUEST_PROCESSING":
            break
        await asyncio.sleep(0.05)
    assert retry.status_code == 200 and retry.json()["status"] == "DONE"
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
