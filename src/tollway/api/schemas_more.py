"""Request bodies of the V1 routes for virtual accounts, cash receipts and foreign key-in.

Fields V1 defines for other PGs only (``vbank_holder``, ``vbank_num``, ``product_type``,
``corp_reg_no``…) are accepted and ignored, as tosspayments ignores them at i'mport.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from tollway.api.body import V1Body
from tollway.api.fields import (
    KRW,
    NO_CONTROLS,
    MerchantUid,
    Short,
    UnixTime,
    drop_controls,
)
from tollway.api.schemas import BuyerFields, OnetimeBody


class ForeignBody(OnetimeBody):
    """``POST /subscribe/payments/foreign``: a key-in payment with a card issued abroad, which needs
    no ``birth`` and no ``pwd_2digit`` (both are ignored when sent), and keeps no billing key."""

    def __repr__(self) -> str:
        return f"ForeignBody(merchant_uid={self.merchant_uid!r}, card=***)"

    __str__ = __repr__


class VbankBody(BuyerFields):
    """``POST /vbanks``."""

    merchant_uid: MerchantUid = Field(description="고객사 주문번호")
    amount: KRW = Field(gt=0, description="입금 예정 금액 (integer KRW)")
    vbank_code: str = Field(min_length=1, max_length=8, description="은행구분코드 (KFTC, e.g. 004)")
    vbank_due: UnixTime = Field(description="입금기한 UNIX timestamp, in the future")
    vbank_holder: str | None = Field(default=None, max_length=100, description="ignored: Toss uses the merchant's name")
    vbank_key: str | None = Field(
        default=None, max_length=40, pattern=NO_CONTROLS, description="고정식 가상계좌 키 (Toss accountKey, ≤ 13)"
    )
    vbank_num: str | None = Field(default=None, max_length=40, description="ignored for tosspayments")
    pg: Short | None = Field(default=None, description="tosspayments or tosspayments.{MID}")
    channel_key: str | None = Field(default=None, max_length=64)
    tax_free: KRW | None = None
    vat_amount: KRW | None = None


class VbankChangeBody(V1Body):
    """``PUT /vbanks/{imp_uid}``."""

    amount: KRW | None = Field(default=None, gt=0)
    vbank_due: UnixTime | None = None


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
    tax_free: KRW | None = Field(default=None, description="발행금액 중 면세금액 (default 0)")
    vat_amount: KRW | None = Field(default=None, description="ignored: Toss computes the VAT")

    _text = field_validator("buyer_name", "buyer_email", "buyer_tel", mode="before")(drop_controls)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(identifier=***)"

    __str__ = __repr__


class ExternalReceiptBody(ReceiptBody):
    """``POST /receipts/external/{merchant_uid}``: a receipt for cash taken outside Tollway."""

    name: str = Field(min_length=1, max_length=200, description="현금영수증 발행 주문명")
    amount: KRW = Field(gt=0, description="현금영수증 발행 금액 (integer KRW)")
    pg: Short | None = Field(default=None)
    channel_key: str | None = Field(default=None, max_length=64)
    pay_method: str | None = Field(default=None, max_length=16, description="trans or vbank (ignored)")

    _name = field_validator("name", mode="before")(drop_controls)
