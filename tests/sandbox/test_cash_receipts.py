"""The sandbox's cash-receipt API over real HTTP: issue, cancel (all or part), the by-day listing,
Toss's errors, and the identifier kept masked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from tollway.clock import ManualClock
from tollway.pg.toss.wire import KST

PHONE = "01012345678"


def receipt(order_id: str = "cash-order-1", amount: int = 11000, **extra: Any) -> dict[str, Any]:
    return {
        "amount": amount,
        "orderId": order_id,
        "orderName": "현금 결제 1건",
        "customerIdentityNumber": PHONE,
        "type": "소득공제",
        **extra,
    }


async def test_a_receipt_is_issued_in_progress_then_completed(
    toss: httpx.AsyncClient, clock: ManualClock, live: str
) -> None:
    answer = await toss.post("/v1/cash-receipts", json=receipt(), headers={"Idempotency-Key": "cr-1"})
    assert answer.status_code == 200, answer.text
    r = answer.json()
    assert (r["issueStatus"], r["transactionType"], r["type"], r["amount"], r["taxFreeAmount"]) == (
        "IN_PROGRESS",
        "CONFIRM",
        "소득공제",
        11000,
        0,
    )
    assert len(r["issueNumber"]) == 9 and r["issueNumber"].isdigit() and len(r["businessNumber"]) == 10
    assert r["customerIdentityNumber"] == "*******5678" and PHONE not in answer.text
    assert r["receiptUrl"] == f"{live}/sandbox/toss/_sandbox/cash-receipts/{r['receiptKey']}"
    assert r["requestedAt"].endswith("+09:00") and r["failure"] is None and "_sandbox" not in r
    page = await toss.get(f"/_sandbox/cash-receipts/{r['receiptKey']}")
    assert page.status_code == 200 and r["receiptKey"] in page.text
    replay = await toss.post("/v1/cash-receipts", json=receipt(), headers={"Idempotency-Key": "cr-1"})
    assert replay.content == answer.content
    duplicate = await toss.post("/v1/cash-receipts", json=receipt())
    assert (duplicate.status_code, duplicate.json()["code"]) == (400, "DUPLICATED_CASH_RECEIPT")

    today = clock.now().astimezone(KST).strftime("%Y-%m-%d")
    listed = (await toss.get("/v1/cash-receipts", params={"requestDate": today})).json()
    assert listed["hasNext"] is False and [x["receiptKey"] for x in listed["data"]] == [r["receiptKey"]]
    clock.advance(seconds=86400)
    later = (await toss.get("/v1/cash-receipts", params={"requestDate": today})).json()
    assert later["data"][0]["issueStatus"] == "COMPLETED"


async def test_cancels_are_records_of_their_own(toss: httpx.AsyncClient, clock: ManualClock) -> None:
    r = (await toss.post("/v1/cash-receipts", json=receipt(amount=10000, taxFreeAmount=1000))).json()
    key = r["receiptKey"]
    clock.advance(seconds=1)
    part = await toss.post(f"/v1/cash-receipts/{key}/cancel", json={"amount": 4000}, headers={"Idempotency-Key": "c1"})
    assert part.status_code == 200, part.text
    assert (part.json()["receiptKey"], part.json()["transactionType"], part.json()["amount"]) == (
        f"c_{key}",
        "CANCEL",
        4000,
    )
    over = await toss.post(f"/v1/cash-receipts/{key}/cancel", json={"amount": 6001})
    assert (over.status_code, over.json()["code"]) == (403, "NOT_CANCELABLE_AMOUNT")
    clock.advance(seconds=1)
    rest = (await toss.post(f"/v1/cash-receipts/{key}/cancel", json={})).json()
    assert (rest["receiptKey"], rest["amount"]) == (f"c_{key}_1", 6000)
    nothing_left = await toss.post(f"/v1/cash-receipts/{key}/cancel", json={})
    assert nothing_left.json()["code"] == "NOT_CANCELABLE_AMOUNT"
    unknown = await toss.post("/v1/cash-receipts/no-such-receipt/cancel", json={})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "NOT_FOUND")
    today = clock.now().astimezone(KST).strftime("%Y-%m-%d")
    listed = (await toss.get("/v1/cash-receipts", params={"requestDate": today, "limit": 2})).json()
    assert listed["hasNext"] is True and listed["lastCursor"] == 2
    following = (await toss.get("/v1/cash-receipts", params={"requestDate": today, "cursor": 2})).json()
    kinds = [x["transactionType"] for x in listed["data"] + following["data"]]
    assert kinds == ["CONFIRM", "CANCEL", "CANCEL"] and following["hasNext"] is False
    yesterday = (clock.now() - timedelta(days=1)).astimezone(KST).strftime("%Y-%m-%d")
    assert (await toss.get("/v1/cash-receipts", params={"requestDate": yesterday})).json()["data"] == []


RULES = [
    ({k: v for k, v in receipt().items() if k != "customerIdentityNumber"}, "INVALID_REQUIRED_PARAM"),
    ({k: v for k, v in receipt().items() if k != "type"}, "INVALID_REQUIRED_PARAM"),
    (receipt(customerIdentityNumber="010-1234-5678"), "INVALID_CASH_RECEIPT_INFO"),
    (receipt(customerIdentityNumber="1" * 31), "INVALID_CASH_RECEIPT_INFO"),
    (receipt(customerIdentityNumber="0000000000"), "INVALID_CASH_RECEIPT_INFO"),
    (receipt(type="미발행"), "INVALID_CASH_RECEIPT_INFO"),
    (receipt(amount=0), "BELOW_ZERO_AMOUNT"),
    (receipt(taxFreeAmount=20000), "INVALID_REQUEST"),
    (receipt(order_id="cr"), "INVALID_ORDER_ID"),
]


async def test_tosss_rules_for_a_receipt(toss: httpx.AsyncClient) -> None:
    for body, code in RULES:
        answer = await toss.post("/v1/cash-receipts", json=body)
        assert (answer.status_code, answer.json()["code"]) == (400, code), (body, answer.text)


async def test_the_listing_needs_a_date(toss: httpx.AsyncClient) -> None:
    missing = await toss.get("/v1/cash-receipts")
    assert missing.json()["code"] == "INVALID_REQUIRED_PARAM"
    bad = await toss.get("/v1/cash-receipts", params={"requestDate": "2026-13-01"})
    assert bad.json()["code"] == "INVALID_DATE"
    too_many = await toss.get("/v1/cash-receipts", params={"requestDate": "2026-01-01", "limit": 10001})
    assert too_many.json()["code"] == "INVALID_REQUEST"
