"""The sandbox's ``POST /v1/virtual-accounts`` over real HTTP: Toss's fields, rules and errors, the
deposit helper, cancelling an unpaid account, and foreign cards at key-in."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.test_app import key_in
from tollway.clock import ManualClock


def account(order_id: str = "va-order-1", amount: int = 30000, **extra: Any) -> dict[str, Any]:
    return {
        "amount": amount,
        "orderId": order_id,
        "orderName": "토스 티셔츠 외 2건",
        "customerName": "박토스",
        "bank": "20",
        **extra,
    }


async def test_an_account_is_issued_waiting_for_its_deposit(toss: httpx.AsyncClient, clock: ManualClock) -> None:
    answer = await toss.post("/v1/virtual-accounts", json=account(), headers={"Idempotency-Key": "va-1"})
    assert answer.status_code == 200, answer.text
    p = answer.json()
    assert (p["status"], p["method"], p["approvedAt"], p["card"]) == ("WAITING_FOR_DEPOSIT", "가상계좌", None, None)
    assert p["secret"].startswith("ps_") and p["lastTransactionKey"] and "_sandbox" not in p
    assert (p["totalAmount"], p["balanceAmount"], p["suppliedAmount"], p["vat"]) == (30000, 30000, 27273, 2727)
    va = p["virtualAccount"]
    assert (va["accountType"], va["bankCode"], va["customerName"], va["expired"]) == ("일반", "20", "박토스", False)
    assert va["accountNumber"].startswith("X") and len(va["accountNumber"]) == 14
    assert (va["refundStatus"], va["settlementStatus"], va["depositorName"]) == ("NONE", "INCOMPLETED", None)
    due = clock.now().timestamp() + 168 * 3600  # validHours' default
    from tollway.pg.toss.wire import parse_time

    parsed = parse_time(va["dueDate"])
    assert parsed is not None and abs(parsed.timestamp() - due) < 2 and va["dueDate"].endswith("+09:00")
    replay = await toss.post("/v1/virtual-accounts", json=account(), headers={"Idempotency-Key": "va-1"})
    assert replay.content == answer.content
    assert (await toss.get(f"/v1/payments/{p['paymentKey']}")).json() == p

    deposited = (await toss.post(f"/_sandbox/virtual-accounts/{p['paymentKey']}/deposit")).json()
    assert deposited["status"] == "DONE" and deposited["approvedAt"] and deposited["virtualAccount"]["depositorName"]
    duplicate = await toss.post("/v1/virtual-accounts", json=account())
    assert duplicate.json()["code"] == "DUPLICATED_ORDER_ID"


async def test_an_unpaid_account_is_cancelled_in_full_only(toss: httpx.AsyncClient) -> None:
    p = (await toss.post("/v1/virtual-accounts", json=account(validHours=1))).json()
    key = p["paymentKey"]
    partial = await toss.post(f"/v1/payments/{key}/cancel", json={"cancelReason": "x", "cancelAmount": 100})
    assert partial.json()["code"] == "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT"
    cancelled = (await toss.post(f"/v1/payments/{key}/cancel", json={"cancelReason": "발급취소"})).json()
    assert (cancelled["status"], cancelled["approvedAt"], cancelled["balanceAmount"]) == ("CANCELED", None, 0)
    late = await toss.post(f"/_sandbox/virtual-accounts/{key}/deposit")
    assert late.status_code == 403  # a cancelled account takes no deposit


async def test_a_fixed_account_keeps_its_number_for_its_key(toss: httpx.AsyncClient) -> None:
    first = (await toss.post("/v1/virtual-accounts", json=account("va-fixed-1", accountKey="558"))).json()
    second = (await toss.post("/v1/virtual-accounts", json=account("va-fixed-2", accountKey="558"))).json()
    other = (await toss.post("/v1/virtual-accounts", json=account("va-fixed-3", accountKey="559"))).json()
    assert first["virtualAccount"]["accountType"] == "고정"
    assert first["virtualAccount"]["accountNumber"] == second["virtualAccount"]["accountNumber"]
    assert other["virtualAccount"]["accountNumber"] != first["virtualAccount"]["accountNumber"]


RULES = [
    (account(bank="99"), 400, "INVALID_BANK"),
    ({k: v for k, v in account().items() if k != "bank"}, 400, "INVALID_REQUIRED_PARAM"),
    ({k: v for k, v in account().items() if k != "customerName"}, 400, "INVALID_REQUIRED_PARAM"),
    (account(amount=199), 400, "BELOW_MINIMUM_AMOUNT"),
    (account(amount=0), 400, "BELOW_ZERO_AMOUNT"),
    (account(order_id="va"), 400, "INVALID_ORDER_ID"),
    (account(validHours=2161), 400, "EXCEED_MAX_VALID_HOURS"),
    (account(validHours=0), 400, "INVALID_REQUEST"),
    (account(validHours=24, dueDate="2030-01-01T00:00:00"), 400, "INVALID_VALID_HOURS_WITH_DUE_DATE_AND_SINGLE"),
    (account(dueDate="next tuesday"), 400, "INVALID_ISO_DATE_FORMAT"),
    (account(dueDate="2020-01-01T00:00:00"), 400, "INVALID_DATE"),
    (account(dueDate="2099-01-01T00:00:00"), 400, "EXCEED_MAX_DUE_DATE"),
    (account(accountKey="k" * 14), 400, "INVALID_REQUEST"),
    (account(cashReceipt={"type": "소득공제", "registrationNumber": "01O"}), 400, "INVALID_CASH_RECEIPT_INFO"),
    (account(cashReceipt={"type": "영수증"}), 400, "INVALID_CASH_RECEIPT_INFO"),
]


async def test_tosss_rules_for_an_account(toss: httpx.AsyncClient) -> None:
    for body, status, code in RULES:
        answer = await toss.post("/v1/virtual-accounts", json=body)
        assert (answer.status_code, answer.json()["code"]) == (status, code), (body, answer.text)
        assert answer.json()["message"]
    assert (await toss.get("/_sandbox/payments")).json() == []


async def test_a_due_date_in_kst_and_a_receipt_request_are_taken(toss: httpx.AsyncClient, clock: ManualClock) -> None:
    from datetime import timedelta

    from tollway.pg.toss.wire import KST

    due = (clock.now() + timedelta(days=3)).astimezone(KST).strftime("%Y-%m-%dT%H:%M:%S")
    body = account(dueDate=due, cashReceipt={"type": "소득공제", "registrationNumber": "01012345678"})
    p = (await toss.post("/v1/virtual-accounts", json=body)).json()
    assert p["virtualAccount"]["dueDate"] == f"{due}+09:00"


async def test_key_in_without_identity_is_for_cards_issued_abroad(toss: httpx.AsyncClient) -> None:
    foreign = {k: v for k, v in key_in("abroad-1", number="4242424242424242").items() if k != "customerIdentityNumber"}
    paid = await toss.post("/v1/payments/key-in", json=foreign)
    assert paid.status_code == 200 and paid.json()["card"]["issuerCode"] == "4V"
    domestic = {k: v for k, v in key_in("domestic-1").items() if k != "customerIdentityNumber"}
    refused = await toss.post("/v1/payments/key-in", json=domestic)
    assert (refused.status_code, refused.json()["code"]) == (400, "INVALID_REQUIRED_PARAM")
