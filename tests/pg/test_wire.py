"""Pure Toss conversions: request bodies, response reading, codes and error classification."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import httpx
import pytest

from tests.pg.recorded import load
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
    RefundAccount,
)
from tollway.pg.toss import codes, errors, wire
from tollway.pg.toss.connector import TossConnector
from tollway.vault import Secret


def test_basic_auth_keeps_the_colon() -> None:
    header = wire.basic_auth(Secret("test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"))
    assert header.startswith("Basic ")
    assert base64.b64decode(header[6:]).decode() == "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R:"


def test_times_are_kst_with_second_precision() -> None:
    at = datetime(2021, 1, 1, 1, 5, 40, 123456, tzinfo=UTC)
    assert wire.format_time(at) == "2021-01-01T10:05:40+09:00"
    assert wire.parse_time("2021-01-01T10:05:40+09:00") == at.replace(microsecond=0)
    assert wire.parse_time("2022-01-01T00:00:00.000000") == datetime(2021, 12, 31, 15, tzinfo=UTC)  # no offset: KST
    assert wire.parse_time(None) is None and wire.parse_time("") is None


def test_the_docs_payment_reads_into_a_pg_payment() -> None:
    p = wire.payment_from_wire(load("payment_done.json"))
    assert (p.payment_key, p.order_id, p.status, p.method) == (
        "5zJ4xY7m0kODnyRpQWGrN2xqGlNvLrKwv1M9ENjbeoPaZdL6",
        "a4CWyWY5m89PNh7xJwhk1",
        "DONE",
        "카드",
    )
    assert (p.total_amount, p.balance_amount, p.is_approved, p.is_failed) == (15000, 15000, True, False)
    assert p.card is not None and (p.card.issuer_code, p.card.acquirer_code, p.card.card_type) == ("61", "31", "신용")
    assert p.approved_at == datetime(2021, 1, 1, 1, 5, 40, tzinfo=UTC)
    assert p.receipt_url and p.cancels == ()


def test_unknown_fields_are_ignored_and_junk_is_refused() -> None:
    doc = {**load("payment_done.json"), "someNewField": {"x": 1}, "totalAmount": "15000"}
    assert wire.payment_from_wire(doc).total_amount == 15000
    with pytest.raises(ValueError):
        wire.payment_from_wire({"code": "X"})
    with pytest.raises(ValueError):
        wire.billing_from_wire({"customerKey": "c"})


def test_billing_reads_the_old_card_number_field() -> None:
    raw = {**load("billing.json"), "card": {"issuerCode": "61", "acquirerCode": "31", "cardType": "신용"}}
    billing = wire.billing_from_wire(raw)
    assert billing.card is not None and billing.card.number == "43301234****123*"
    assert billing.billing_key.reveal() == raw["billingKey"] and raw["billingKey"] not in repr(billing)


def test_request_bodies() -> None:
    card = CardData(Secret("4330123412340005"), Secret("30"), Secret("12"), Secret("900101"), None)
    charge = ChargeRequest(
        order_id="imp_123456789012",
        order_name="x",
        amount=60000,
        tax_free=1000,
        installment_months=3,
        interest_free=True,
        buyer=Buyer("홍길동", "a@b.c", "010-1234-5678"),
        buyer_ip="1.2.3.4",
    )
    body = wire.key_in_body(card, charge)
    assert body == {
        "amount": 60000,
        "orderId": "imp_123456789012",
        "orderName": "x",
        "cardInstallmentPlan": 3,
        "taxFreeAmount": 1000,
        "useFreeInstallmentPlan": True,
        "customerIp": "1.2.3.4",
        "customerName": "홍길동",
        "customerEmail": "a@b.c",
        "customerMobilePhone": "01012345678",
        "cardNumber": "4330123412340005",
        "cardExpirationYear": "30",
        "cardExpirationMonth": "12",
        "customerIdentityNumber": "900101",
    }
    assert "4330" not in repr(card)
    cancel = wire.cancel_body(
        CancelRequest(
            "r" * 300, amount=100, tax_free=10, expected_balance=500, refund_account=RefundAccount("88", "1", "h")
        )
    )
    assert cancel == {
        "cancelReason": "r" * 200,
        "cancelAmount": 100,
        "taxFreeAmount": 10,
        "refundableAmount": 500,
        "refundReceiveAccount": {"bank": "88", "accountNumber": "1", "holderName": "h"},
    }
    assert wire.cancel_body(CancelRequest("full")) == {"cancelReason": "full"}


def test_card_and_bank_codes_go_both_ways() -> None:
    assert codes.toss_card_code("367") == "61" and codes.kftc_card_code("61") == "367"
    assert codes.kftc_card_code("33") == "041"  # 우리BC is a 우리 card
    assert codes.kftc_card_code("4V") is None and codes.toss_card_name("4V") == "VISA"
    for kftc, toss in codes.KFTC_TO_TOSS_CARD.items():
        assert toss in codes.TOSS_CARDS, kftc
    assert codes.toss_bank_code("088") == "88" and codes.toss_bank_code("004") == "06"
    assert codes.toss_bank_code("88") == "88" and codes.toss_bank_code("999") is None


def test_every_catalogue_code_has_exactly_one_kind() -> None:
    assert errors.DECLINED.isdisjoint(errors.UNKNOWN)
    assert set(errors.CATALOGUE) >= errors.DECLINED | errors.UNKNOWN
    kinds = {code: errors.classify(code, status) for code, (status, _) in errors.CATALOGUE.items()}
    assert kinds["REJECT_CARD_COMPANY"] == "declined"
    assert kinds["INVALID_CARD_NUMBER"] == "rejected"
    assert kinds["FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING"] == "unknown"
    assert kinds["IDEMPOTENT_REQUEST_PROCESSING"] == "unknown"
    assert errors.classify("SOMETHING_NEW", 503) == "unknown" and errors.classify("SOMETHING_NEW", 400) == "rejected"


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (403, {"code": "REJECT_CARD_PAYMENT", "message": "m"}, PgDeclined, "REJECT_CARD_PAYMENT"),
        (400, {"code": "INVALID_CARD_EXPIRATION", "message": "m"}, PgRejected, "INVALID_CARD_EXPIRATION"),
        (404, {"code": "NOT_FOUND_PAYMENT", "message": "m"}, PgNotFound, "NOT_FOUND_PAYMENT"),
        (409, {"code": "IDEMPOTENT_REQUEST_PROCESSING", "message": "m"}, PgUnknown, "IDEMPOTENT_REQUEST_PROCESSING"),
        (500, {"code": "COMMON_ERROR", "message": "m"}, PgUnknown, "COMMON_ERROR"),
        (502, None, PgUnknown, "HTTP_502"),
        (200, None, PgUnknown, "BAD_RESPONSE"),
    ],
)
async def test_the_connector_maps_answers_to_outcomes(
    status: int, body: dict[str, str] | None, kind: type[Exception], code: str
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if body is None:
            return httpx.Response(status, text="<html>bad gateway</html>")
        return httpx.Response(status, json=body)

    async with Client(transport=httpx.MockTransport(answer)) as http:
        connector = TossConnector(http, "https://toss.test", Secret("test_sk_x"))
        with pytest.raises(kind) as raised:
            await connector.get_payment("pk")
    assert getattr(raised.value, "code", None) == code


async def test_connection_errors_are_unknown_and_posts_carry_an_idempotency_key() -> None:
    seen: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ConnectError("refused", request=request)

    async with Client(transport=httpx.MockTransport(refuse)) as http:
        connector = TossConnector(http, "https://toss.test/", Secret("test_sk_x"))
        with pytest.raises(PgUnknown) as raised:
            await connector.cancel("pk/../x", CancelRequest("r"), idempotency_key="idem-1")
    assert raised.value.code == "NETWORK_ERROR"
    (request,) = seen
    assert request.headers["Idempotency-Key"] == "idem-1"
    assert request.url.raw_path == b"/v1/payments/pk%2F..%2Fx/cancel"  # path segments are escaped
    assert "test_sk_x" not in repr(connector)


def test_a_virtual_account_body_sends_the_deadline_in_kst_without_an_offset() -> None:
    from tollway.pg.base import VirtualAccountTerms

    charge = ChargeRequest("imp_1", "주문", 30000, tax_free=1000, buyer=Buyer("홍길동", "a@b.kr", "010-1234-5678"))
    due = datetime(2026, 1, 3, 15, 0, 0, tzinfo=UTC)
    body = wire.virtual_account_body(charge, VirtualAccountTerms("20", due, account_key="558"))
    assert body == {
        "amount": 30000,
        "orderId": "imp_1",
        "orderName": "주문",
        "bank": "20",
        "dueDate": "2026-01-04T00:00:00",
        "taxFreeAmount": 1000,
        "customerName": "홍길동",
        "customerEmail": "a@b.kr",
        "customerMobilePhone": "01012345678",
        "accountKey": "558",
    }
    assert "accountKey" not in wire.virtual_account_body(charge, VirtualAccountTerms("20", due))
    va = wire.payment_from_wire(load("virtual_account.json"))
    assert va.is_waiting_for_deposit and va.virtual_account is not None and not va.is_revoked
    assert wire.payment_from_wire({**load("virtual_account.json"), "status": "CANCELED"}).is_revoked


def test_cash_receipts_are_read_and_written_in_tosss_words() -> None:
    from tollway.pg.base import CashReceiptRequest
    from tollway.pg.toss import receipts

    request = CashReceiptRequest("rct_1", "주문", 11000, Secret("1234567890"), "proof", tax_free=1000)
    assert receipts.cash_receipt_body(request) == {
        "amount": 11000,
        "orderId": "rct_1",
        "orderName": "주문",
        "customerIdentityNumber": "1234567890",
        "type": "지출증빙",
        "taxFreeAmount": 1000,
    }
    assert receipts.cancel_cash_receipt_body(None) == {} and receipts.cancel_cash_receipt_body(500) == {"amount": 500}
    read = receipts.cash_receipt_from_wire(load("cash_receipt.json"))
    assert (read.purpose, read.issue_number, read.issue_status, read.transaction_type) == (
        "deduction",
        "123456789",
        "IN_PROGRESS",
        "CONFIRM",
    )
    with pytest.raises(ValueError):
        receipts.cash_receipt_from_wire({"amount": 1})
    assert receipts.mask_identifier("01012345678") == "*******5678"
    assert receipts.mask_identifier("1234") == "****" and receipts.mask_identifier("") == ""


@pytest.mark.parametrize(
    ("v1", "toss"),
    [("004", "06"), ("04", "06"), ("003", "03"), ("03", "03"), ("088", "88"), ("06", "06"), ("999", None), ("x", None)],
)
def test_vbank_codes_are_kftc_with_or_without_the_leading_zero(v1: str, toss: str | None) -> None:
    from tollway.payments.vbanks import toss_vbank_code

    assert toss_vbank_code(v1) == toss
