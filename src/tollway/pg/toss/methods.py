"""Toss's easy-pay, phone and gift-certificate objects (``easyPay``, ``mobilePhone``,
``giftCertificate``; reference toss-v1 §3) read into the connector's types, and the easy-pay
names Toss answers with mapped to the ``emb_pg_provider`` i'mport records (iamport-v1 §4)."""

from __future__ import annotations

from typing import Any

from tollway.pg.base import PgEasyPay

#: ``easyPay.provider`` as Toss answers it (Korean display names; English with Accept-Language)
#: → i'mport's ``emb_pg_provider``
EMB_PG_PROVIDERS = {
    "토스페이": "tosspay",
    "카카오페이": "kakaopay",
    "네이버페이": "naverpay",
    "페이코": "payco",
    "삼성페이": "samsungpay",
    "엘페이": "lpay",
    "SSG페이": "ssgpay",
    "애플페이": "applepay",
    "TOSSPAY": "tosspay",
    "KAKAOPAY": "kakaopay",
    "NAVERPAY": "naverpay",
    "PAYCO": "payco",
    "SAMSUNGPAY": "samsungpay",
    "LPAY": "lpay",
    "SSG": "ssgpay",
    "APPLEPAY": "applepay",
}


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def method_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """The ``PgPayment`` fields of these objects (each absent when Toss sends null)."""
    out: dict[str, Any] = {}
    easy = raw.get("easyPay")
    if isinstance(easy, dict) and isinstance(easy.get("provider"), str):
        out["easy_pay"] = PgEasyPay(easy["provider"], _int(easy.get("amount")), _int(easy.get("discountAmount")))
    phone = raw.get("mobilePhone")
    if isinstance(phone, dict) and isinstance(phone.get("customerMobilePhone"), str):
        out["phone_number"] = phone["customerMobilePhone"]
    gift = raw.get("giftCertificate")
    if isinstance(gift, dict) and isinstance(gift.get("approveNo"), str):
        out["gift_approve_no"] = gift["approveNo"]
    return out


def emb_pg_provider(easy_pay: PgEasyPay | None) -> str | None:
    return EMB_PG_PROVIDERS.get(easy_pay.provider) if easy_pay is not None else None
