"""Toss's easy-pay, phone and gift-certificate objects read into the connector's types, and the
approval's V1 fields made of them (``pg.toss.methods``, ``payments.pgsync.approval_of``)."""

from __future__ import annotations

from typing import Any

import pytest

from tollway.payments.pgsync import approval_of
from tollway.pg.base import PgEasyPay
from tollway.pg.toss import wire
from tollway.pg.toss.methods import emb_pg_provider


def toss_payment(**extra: Any) -> dict[str, Any]:
    return {
        "paymentKey": "tosst20260101000000abcde",
        "orderId": "imp_000000000001",
        "status": "DONE",
        "method": "간편결제",
        "totalAmount": 15000,
        "balanceAmount": 15000,
        "approvedAt": "2026-01-01T09:00:00+09:00",
        "receipt": {"url": "https://sandbox.example/receipt"},
        "card": None,
        "easyPay": None,
        "mobilePhone": None,
        "giftCertificate": None,
        **extra,
    }


@pytest.mark.parametrize(
    ("provider", "emb"),
    [
        ("토스페이", "tosspay"),
        ("카카오페이", "kakaopay"),
        ("삼성페이", "samsungpay"),
        ("SSG페이", "ssgpay"),
        ("LPAY", "lpay"),
    ],
)
def test_an_easy_pay_is_read_with_its_provider(provider: str, emb: str) -> None:
    pg = wire.payment_from_wire(toss_payment(easyPay={"provider": provider, "amount": 15000, "discountAmount": 0}))
    assert pg.easy_pay == PgEasyPay(provider, 15000, 0)
    approval = approval_of(pg)
    assert approval.emb_pg_provider == emb and approval.card_name is None


def test_an_easy_pay_funded_by_a_card_keeps_the_card_fields() -> None:
    card = {"issuerCode": "61", "acquirerCode": "61", "number": "43301234****000*", "approveNo": "00001234"}
    raw = toss_payment(easyPay={"provider": "네이버페이", "amount": 0, "discountAmount": 0}, card=card)
    approval = approval_of(wire.payment_from_wire(raw))
    assert approval.emb_pg_provider == "naverpay" and approval.card_name == "현대카드"
    assert approval.apply_num == "00001234" and approval.card_number == "43301234****000*"


def test_phone_and_gift_certificate_objects() -> None:
    phone = wire.payment_from_wire(
        toss_payment(method="휴대폰", mobilePhone={"customerMobilePhone": "010****5432", "settlementStatus": "x"})
    )
    assert phone.phone_number == "010****5432" and approval_of(phone).emb_pg_provider is None
    gift = wire.payment_from_wire(toss_payment(method="문화상품권", giftCertificate={"approveNo": "55667788"}))
    assert gift.gift_approve_no == "55667788" and approval_of(gift).apply_num == "55667788"


def test_an_unknown_provider_and_null_objects_leave_the_fields_empty() -> None:
    assert emb_pg_provider(PgEasyPay("어떤페이")) is None
    plain = wire.payment_from_wire(toss_payment(method="카드", easyPay=None))
    assert plain.easy_pay is None and plain.phone_number is None and plain.gift_approve_no is None
