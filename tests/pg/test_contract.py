"""One contract for every connector call, run against two Tosses:

- ``sandbox``: the embedded sandbox PG, reached over real HTTP on loopback;
- ``recorded``: the responses recorded in the reference docs, served by ``MockTransport``.

A call that passes against both behaves as Toss documents it and as Tollway's sandbox answers it.
"""

from __future__ import annotations

import base64
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_READ_TIMEOUT, SANDBOX_HANG, SANDBOX_SLOW, TEST_MASTER_KEY, serving
from tests.pg.recorded import DECLINED_CARD, HANGING_CARD, SECRET, RecordedToss
from tollway.app import build_services
from tollway.clock import ManualClock
from tollway.config import Settings
from tollway.http import Client
from tollway.pg.base import (
    Buyer,
    CancelRequest,
    CardData,
    ChargeRequest,
    PgDeclined,
    PgNotFound,
    PgRejected,
    PgUnknown,
)
from tollway.pg.toss.codes import TOSS_CARDS
from tollway.pg.toss.connector import TossConnector
from tollway.vault import Secret

ORDER = "a4CWyWY5m89PNh7xJwhk1"  # the docs' example order
AMOUNT = 15000
APPROVED_CARD = "4330123412340005"
CUSTOMER = "cust-contract-1"


@dataclass
class Backend:
    name: str
    connector: TossConnector
    open_session: Callable[[str, int], Awaitable[str]]
    open_billing_auth: Callable[[str], Awaitable[str]]


def card(number: str = APPROVED_CARD) -> CardData:
    return CardData(
        number=Secret(number),
        expiry_year=Secret("30"),
        expiry_month=Secret("12"),
        identity=Secret("900101"),
        password_2digit=Secret("12"),
    )


def charge(order_id: str = ORDER, amount: int = AMOUNT) -> ChargeRequest:
    return ChargeRequest(order_id=order_id, order_name="토스 티셔츠 외 2건", amount=amount, buyer=Buyer("홍길동"))


@pytest.fixture(params=["sandbox", "recorded"])
async def backend(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Backend]:
    timeout = httpx.Timeout(PG_READ_TIMEOUT, connect=5.0)
    if request.param == "recorded":
        recorded = RecordedToss()
        async with Client(transport=recorded.transport()) as http:
            connector = TossConnector(http, "https://api.tosspayments.com", Secret(SECRET), timeout=timeout)

            async def open_recorded(order_id: str, amount: int) -> str:
                assert (order_id, amount) == (ORDER, AMOUNT)
                return recorded.payment_key

            async def auth_recorded(customer_key: str) -> str:
                return "recorded-auth-key"

            yield Backend("recorded", connector, open_recorded, auth_recorded)
        return
    db = tmp_path / "contract.db"
    shutil.copy(sqlite_template, db)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        port = sock.getsockname()[1]
        settings = Settings(
            database_url=f"sqlite:///{db}",
            data_dir=tmp_path / "data",
            master_key=TEST_MASTER_KEY,
            port=port,
            sandbox_slow_seconds=SANDBOX_SLOW,
            sandbox_hang_seconds=SANDBOX_HANG,
        )
        services = build_services(settings, ManualClock())
        try:
            async with serving(services, sock) as url:
                base = f"{url}/sandbox/toss"
                auth = {"Authorization": "Basic " + base64.b64encode(f"{SECRET}:".encode()).decode()}
                async with httpx.AsyncClient(base_url=base, headers=auth) as helper, Client() as http:

                    async def open_sandbox(order_id: str, amount: int) -> str:
                        answer = await helper.post(
                            "/_sandbox/checkout-sessions",
                            json={
                                "orderId": order_id,
                                "orderName": "토스 티셔츠 외 2건",
                                "amount": amount,
                                "cardNumber": APPROVED_CARD,
                            },
                        )
                        assert answer.status_code == 200, answer.text
                        key: str = answer.json()["paymentKey"]
                        return key

                    async def auth_sandbox(customer_key: str) -> str:
                        answer = await helper.post(
                            "/_sandbox/billing-auths", json={"customerKey": customer_key, "cardNumber": APPROVED_CARD}
                        )
                        assert answer.status_code == 200, answer.text
                        key: str = answer.json()["authKey"]
                        return key

                    connector = TossConnector(http, base, Secret(SECRET), timeout=timeout)
                    yield Backend("sandbox", connector, open_sandbox, auth_sandbox)
        finally:
            await services.close()


def assert_masked(number: str | None) -> None:
    assert number is not None and "*" in number and APPROVED_CARD not in number


async def test_confirm_then_look_it_up_by_key_and_by_order(backend: Backend) -> None:
    key = await backend.open_session(ORDER, AMOUNT)
    paid = await backend.connector.confirm(key, ORDER, AMOUNT, idempotency_key="confirm-1")
    assert paid.status == "DONE" and paid.is_approved
    assert (paid.payment_key, paid.order_id, paid.total_amount, paid.balance_amount) == (key, ORDER, AMOUNT, AMOUNT)
    assert paid.approved_at is not None and paid.approved_at.tzinfo is not None
    assert paid.card is not None and paid.card.issuer_code in TOSS_CARDS and paid.card.approve_no
    assert_masked(paid.card.number)
    assert paid.receipt_url
    by_key = await backend.connector.get_payment(key)
    by_order = await backend.connector.get_payment_by_order(ORDER)
    assert by_key.payment_key == by_order.payment_key == key
    assert by_key.status == by_order.status == "DONE"


async def test_confirm_with_another_amount_finds_no_session(backend: Backend) -> None:
    key = await backend.open_session(ORDER, AMOUNT)
    with pytest.raises(PgRejected) as refused:
        await backend.connector.confirm(key, ORDER, AMOUNT + 1, idempotency_key="confirm-2")
    assert refused.value.code == "NOT_FOUND_PAYMENT_SESSION" and refused.value.http_status == 404


async def test_looking_up_an_unknown_payment_is_not_found(backend: Backend) -> None:
    with pytest.raises(PgNotFound) as missing:
        await backend.connector.get_payment("tviva20240213121757MvuS8")
    assert missing.value.code == "NOT_FOUND_PAYMENT"
    with pytest.raises(PgNotFound):
        await backend.connector.get_payment_by_order("no-such-order")


async def test_partial_then_full_cancel_then_nothing_left(backend: Backend) -> None:
    key = await backend.open_session(ORDER, AMOUNT)
    await backend.connector.confirm(key, ORDER, AMOUNT, idempotency_key="confirm-3")
    part = await backend.connector.cancel(
        key, CancelRequest(reason="부분 환불", amount=1000, expected_balance=AMOUNT), idempotency_key="cancel-1"
    )
    assert (part.status, part.balance_amount) == ("PARTIAL_CANCELED", AMOUNT - 1000)
    assert [c.amount for c in part.cancels] == [1000] and part.cancels[0].transaction_key
    rest = await backend.connector.cancel(
        key, CancelRequest(reason="전액 환불", expected_balance=AMOUNT - 1000), idempotency_key="cancel-2"
    )
    assert (rest.status, rest.balance_amount) == ("CANCELED", 0)
    assert [c.amount for c in rest.cancels] == [1000, AMOUNT - 1000]
    assert len({c.transaction_key for c in rest.cancels}) == 2
    with pytest.raises(PgRejected) as again:
        await backend.connector.cancel(key, CancelRequest(reason="또"), idempotency_key="cancel-3")
    assert again.value.code == "ALREADY_CANCELED_PAYMENT"


async def test_a_cancel_computed_from_a_stale_balance_is_refused(backend: Backend) -> None:
    key = await backend.open_session(ORDER, AMOUNT)
    await backend.connector.confirm(key, ORDER, AMOUNT, idempotency_key="confirm-4")
    with pytest.raises(PgRejected) as refused:
        await backend.connector.cancel(
            key, CancelRequest(reason="x", amount=100, expected_balance=AMOUNT - 1), idempotency_key="cancel-4"
        )
    assert refused.value.code == "NOT_MATCHES_REFUNDABLE_AMOUNT"
    assert (await backend.connector.get_payment(key)).balance_amount == AMOUNT


async def test_key_in_approves_with_a_masked_card(backend: Backend) -> None:
    paid = await backend.connector.key_in(card(), charge(), idempotency_key="keyin-1")
    assert paid.status == "DONE" and paid.order_id == ORDER and paid.total_amount == AMOUNT
    assert paid.type == "NORMAL" and paid.method == "카드"
    assert paid.card is not None and paid.card.installment_months == 0
    assert_masked(paid.card.number)


async def test_key_in_with_a_declined_card_is_declined(backend: Backend) -> None:
    with pytest.raises(PgDeclined) as declined:
        await backend.connector.key_in(card(DECLINED_CARD), charge(), idempotency_key="keyin-2")
    assert declined.value.code == "REJECT_CARD_COMPANY" and declined.value.http_status == 403
    assert declined.value.message  # Toss's own words, shown to the merchant as fail_reason


async def test_key_in_without_an_answer_is_unknown_not_failed(backend: Backend) -> None:
    with pytest.raises(PgUnknown) as unknown:
        await backend.connector.key_in(card(HANGING_CARD), charge(), idempotency_key="keyin-3")
    assert unknown.value.code == "TIMEOUT"


async def test_billing_key_from_card_charges_then_is_deleted(backend: Backend) -> None:
    issued = await backend.connector.issue_billing_key(card(), CUSTOMER, Buyer("홍길동"), idempotency_key="bill-1")
    assert issued.customer_key == CUSTOMER and len(issued.billing_key.reveal()) >= 20
    assert "billing_key=***" in repr(issued) and issued.billing_key.reveal() not in repr(issued)
    assert issued.card is not None
    assert_masked(issued.card.number)
    paid = await backend.connector.charge_billing_key(
        issued.billing_key, CUSTOMER, charge("billing-order-1", AMOUNT), idempotency_key="bill-2"
    )
    assert (paid.status, paid.type, paid.order_id) == ("DONE", "BILLING", "billing-order-1")
    with pytest.raises(PgRejected) as mismatch:
        await backend.connector.charge_billing_key(
            issued.billing_key, "someone-else", charge("billing-order-2"), idempotency_key="bill-3"
        )
    assert mismatch.value.code == "NOT_MATCHES_CUSTOMER_KEY"
    assert await backend.connector.delete_billing_key(issued.billing_key) is None
    with pytest.raises(PgNotFound) as gone:
        await backend.connector.charge_billing_key(
            issued.billing_key, CUSTOMER, charge("billing-order-3"), idempotency_key="bill-4"
        )
    assert gone.value.code == "NOT_FOUND_BILLING"


async def test_billing_key_from_an_auth_key(backend: Backend) -> None:
    auth_key = await backend.open_billing_auth(CUSTOMER)
    issued = await backend.connector.issue_billing_key_from_auth(auth_key, CUSTOMER, idempotency_key="auth-1")
    assert issued.customer_key == CUSTOMER and issued.billing_key.reveal()
    paid = await backend.connector.charge_billing_key(
        issued.billing_key, CUSTOMER, charge("billing-order-9"), idempotency_key="auth-2"
    )
    assert paid.status == "DONE"


async def test_a_virtual_account_is_issued_waiting_for_its_deposit(backend: Backend) -> None:
    from datetime import UTC, datetime

    from tollway.pg.base import VirtualAccountTerms

    terms = VirtualAccountTerms(bank="20", due=datetime(2026, 1, 4, tzinfo=UTC))
    issued = await backend.connector.issue_virtual_account(charge(), terms, idempotency_key="va-1")
    assert (issued.status, issued.method, issued.order_id, issued.total_amount) == (
        "WAITING_FOR_DEPOSIT",
        "가상계좌",
        ORDER,
        AMOUNT,
    )
    assert issued.is_waiting_for_deposit and not issued.is_approved and issued.approved_at is None
    account = issued.virtual_account
    assert account is not None and account.account_number.startswith("X") and account.bank_code == "20"
    assert account.customer_name == "홍길동" and account.due_date is not None and account.due_date.tzinfo
    assert issued.receipt_url


async def test_a_cash_receipt_is_issued_then_cancelled(backend: Backend) -> None:
    from tollway.pg.base import CashReceiptRequest

    request = CashReceiptRequest(ORDER, "토스 티셔츠 외 2건", AMOUNT, Secret("01012345678"), "deduction")
    assert "01012345678" not in repr(request)
    issued = await backend.connector.issue_cash_receipt(request, idempotency_key="cr-1")
    assert (issued.order_id, issued.amount, issued.purpose, issued.transaction_type) == (
        ORDER,
        AMOUNT,
        "deduction",
        "CONFIRM",
    )
    assert issued.issue_status == "IN_PROGRESS" and issued.issue_number and issued.receipt_url
    assert issued.requested_at is not None and issued.requested_at.tzinfo is not None
    cancelled = await backend.connector.cancel_cash_receipt(issued.receipt_key, idempotency_key="cr-2")
    assert (cancelled.transaction_type, cancelled.receipt_key, cancelled.amount) == (
        "CANCEL",
        f"c_{issued.receipt_key}",
        AMOUNT,
    )
    with pytest.raises(PgRejected) as nothing_left:
        await backend.connector.cancel_cash_receipt(issued.receipt_key, idempotency_key="cr-3")
    assert nothing_left.value.code == "NOT_CANCELABLE_AMOUNT"
    with pytest.raises(PgNotFound):
        await backend.connector.cancel_cash_receipt("no-such-receipt", idempotency_key="cr-4")
