"""Request bodies of the V1 routes for virtual accounts, cash receipts and foreign key-in.

Fields V1 defines for other PGs only (``vbank_holder``, ``vbank_num``, ``product_type``,
``corp_reg_no``…) are accepted and ignored, as tosspayments ignores them at i'mport.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Path
from pydantic import Field, field_validator

from tollway.api.body import KRW, V1Body, WholeNumber
from tollway.api.schemas import BuyerFields, OnetimeBody

#: UNIX seconds up to the year 9999, as far as a ``datetime`` goes
MAX_UNIX = 253_370_764_800
#: The largest amount: the largest integer a JavaScript client reads exactly
MAX_KRW = 2**53 - 1
_NO_CONTROLS = r"^[^\u0000-\u001f\u007f-\u009f]+$"
_CONTROL = re.compile(r"[\u0000-\u001f\u007f-\u009f]")


def _drop_controls(value: object) -> object:
    """Names and buyer fields are shown to people: control characters go (a NUL cannot be stored)."""
    return _CONTROL.sub(" ", value).strip() if isinstance(value, str) else value


#: Path segments: V1's maximum lengths, no control characters (a NUL cannot even reach PostgreSQL)
ImpUidPath = Annotated[str, Path(max_length=32, pattern=_NO_CONTROLS, description="포트원 거래고유번호")]
MerchantUidPath = Annotated[str, Path(max_length=40, pattern=_NO_CONTROLS, description="고객사 주문번호")]


class ForeignBody(OnetimeBody):
    """``POST /subscribe/payments/foreign``: a key-in payment with a card issued abroad, which needs
    no ``birth`` and no ``pwd_2digit`` (both are ignored when sent), and keeps no billing key."""

    def __repr__(self) -> str:
        return f"ForeignBody(merchant_uid={self.merchant_uid!r}, card=***)"

    __str__ = __repr__


class VbankBody(BuyerFields):
    """``POST /vbanks``."""

    merchant_uid: str = Field(min_length=1, max_length=40, pattern=_NO_CONTROLS, description="고객사 주문번호")
    amount: KRW = Field(gt=0, le=MAX_KRW, description="입금 예정 금액 (integer KRW)")
    vbank_code: str = Field(min_length=1, max_length=8, description="은행구분코드 (KFTC, e.g. 004)")
    vbank_due: WholeNumber = Field(ge=0, le=MAX_UNIX, description="입금기한 UNIX timestamp, in the future")
    vbank_holder: str | None = Field(default=None, max_length=100, description="ignored: Toss uses the merchant's name")
    vbank_key: str | None = Field(
        default=None, max_length=40, pattern=_NO_CONTROLS, description="고정식 가상계좌 키 (Toss accountKey, ≤ 13)"
    )
    vbank_num: str | None = Field(default=None, max_length=40, description="ignored for tosspayments")
    pg: str | None = Field(default=None, max_length=100, description="tosspayments or tosspayments.{MID}")
    channel_key: str | None = Field(default=None, max_length=64)
    tax_free: KRW | None = Field(default=None, ge=0, le=MAX_KRW)
    vat_amount: KRW | None = Field(default=None, ge=0, le=MAX_KRW)


class VbankChangeBody(V1Body):
    """``PUT /vbanks/{imp_uid}``."""

    amount: KRW | None = Field(default=None, gt=0, le=MAX_KRW)
    vbank_due: WholeNumber | None = Field(default=None, ge=0, le=MAX_UNIX)


class ReceiptBody(V1Body):
    """``POST /receipts/{imp_uid}``. ``identifier`` is never stored or logged in clear."""

    identifier: str = Field(
        min_length=1, max_length=40, description="휴대폰번호, 주민등록번호, 사업자등록번호 또는 현금영수증카드 번호"
    )
    identifier_type: str | None = Field(default=None, max_length=16, description="person, business, phone or taxcard")
    type: str | None = Field(
        default=None, max_length=16, description="person (소득공제, default) or company (지출증빙)"
    )
    buyer_name: str | None = Field(default=None, max_length=100)
    buyer_email: str | None = Field(default=None, max_length=200)
    buyer_tel: str | None = Field(default=None, max_length=40)
    tax_free: KRW | None = Field(default=None, ge=0, le=MAX_KRW, description="발행금액 중 면세금액 (default 0)")
    vat_amount: KRW | None = Field(default=None, ge=0, le=MAX_KRW, description="ignored: Toss computes the VAT")

    _text = field_validator("buyer_name", "buyer_email", "buyer_tel", mode="before")(_drop_controls)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(identifier=***)"

    __str__ = __repr__


class ExternalReceiptBody(ReceiptBody):
    """``POST /receipts/external/{merchant_uid}``: a receipt for cash taken outside Tollway."""

    name: str = Field(min_length=1, max_length=200, description="현금영수증 발행 주문명")
    amount: KRW = Field(gt=0, le=MAX_KRW, description="현금영수증 발행 금액 (integer KRW)")
    pg: str | None = Field(default=None, max_length=100)
    channel_key: str | None = Field(default=None, max_length=64)
    pay_method: str | None = Field(default=None, max_length=16, description="trans or vbank (ignored)")

    _name = field_validator("name", mode="before")(_drop_controls)
