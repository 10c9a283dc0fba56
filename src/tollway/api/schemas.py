"""Request bodies of the V1 routes, and the response shapes shown in ``/openapi.json``."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from annotated_types import MaxLen
from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from tollway.api.body import V1Body
from tollway.api.fields import (
    KRW,
    Address,
    CardQuota,
    CustomerId,
    CustomerUid,
    Email,
    ImpUid,
    MerchantUid,
    NoticeUrl,
    OrderName,
    PersonName,
    Postcode,
    Short,
    Tel,
    UnixTime,
    WholeNumber,
)


class GetTokenBody(V1Body):
    imp_key: Short = Field(min_length=1, description="REST API key")
    imp_secret: Annotated[str, MaxLen(200)] = Field(min_length=1, description="REST API secret")

    @model_validator(mode="before")
    @classmethod
    def _both_keys(cls, data: Any) -> Any:
        """Either key missing, empty or null: i'mport's one text naming both."""
        if isinstance(data, dict) and not all(data.get(k) not in (None, "") for k in ("imp_key", "imp_secret")):
            raise PydanticCustomError("token_keys", "imp_key and imp_secret are required")
        return data


class PrepareBody(V1Body):
    merchant_uid: MerchantUid = Field(description="고객사 주문번호")
    amount: KRW = Field(ge=0, description="결제예정금액 (integer KRW; a string is refused)")
    currency: str | None = Field(default=None, max_length=3, description="null: the currency is not checked")


def _custom_data(value: Any) -> str | None:
    """V1 keeps ``custom_data`` as a string: an object or array is stored as its JSON text."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


class BuyerFields(V1Body):
    name: OrderName | None = Field(default=None, description="주문명")
    buyer_name: PersonName | None = None
    buyer_email: Email | None = None
    buyer_tel: Tel | None = None
    buyer_addr: Address | None = None
    buyer_postcode: Postcode | None = None
    custom_data: Annotated[str, MaxLen(65_536)] | None = Field(
        default=None, description="a string; an object is stored as its JSON text"
    )
    notice_url: NoticeUrl | Annotated[list[NoticeUrl], MaxLen(10)] | None = Field(
        default=None, description="webhook URL(s) for this payment: absolute http(s) URLs"
    )

    _custom = field_validator("custom_data", mode="before")(_custom_data)

    def notice_urls(self) -> tuple[str, ...]:
        if self.notice_url is None:
            return ()
        urls = [self.notice_url] if isinstance(self.notice_url, str) else self.notice_url
        return tuple(u for u in urls if u)


class OnetimeBody(BuyerFields):
    """``POST /subscribe/payments/onetime``. Card fields are checked by ``api.card_input``."""

    merchant_uid: MerchantUid = Field(description="고객사 주문번호 (unique per request)")
    amount: KRW = Field(gt=0, description="결제금액 (integer KRW; a string is refused)")
    card_number: Short = Field(description="카드번호 dddd-dddd-dddd-dddd")
    expiry: Short = Field(description="카드 유효기간 YYYY-MM")
    birth: Short | None = Field(default=None, description="생년월일 YYMMDD, or a 10-digit business number")
    pwd_2digit: Short | None = Field(default=None, description="카드 비밀번호 앞 2자리")
    customer_uid: CustomerUid | None = Field(default=None, description="keep the card as a billing key")
    pg: Short | None = Field(default=None, description="tosspayments or tosspayments.{MID}")
    currency: Short | None = Field(default=None, description="KRW only")
    tax_free: KRW | None = None
    vat_amount: KRW | None = None
    card_quota: CardQuota | None = Field(default=None, description="0 일시불, 2–12 (≥ 50,000 KRW)")
    interest_free_by_merchant: bool | None = None
    use_card_point: bool | None = None
    browser_ip: Annotated[str, MaxLen(64)] | None = None

    def __repr__(self) -> str:
        return f"OnetimeBody(merchant_uid={self.merchant_uid!r}, card=***)"

    __str__ = __repr__


class CardFields(V1Body):
    card_number: Short | None = Field(default=None, description="카드번호 dddd-dddd-dddd-dddd")
    expiry: Short | None = Field(default=None, description="카드 유효기간 YYYY-MM")
    birth: Short | None = Field(default=None, description="생년월일 YYMMDD, or a 10-digit business number")
    pwd_2digit: Short | None = Field(default=None, description="카드 비밀번호 앞 2자리")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(card=***)"

    __str__ = __repr__


class CustomerBody(CardFields):
    """``POST /subscribe/customers/{customer_uid}``."""

    pg: Short | None = Field(default=None, description="tosspayments or tosspayments.{MID}")
    customer_id: CustomerId | None = Field(default=None, description="Toss customerKey; made up when absent")
    customer_name: PersonName | None = None
    customer_tel: Tel | None = None
    customer_email: Email | None = None
    customer_addr: Address | None = None
    customer_postcode: Postcode | None = None


class AgainBody(BuyerFields):
    """``POST /subscribe/payments/again``."""

    customer_uid: CustomerUid
    merchant_uid: MerchantUid
    amount: KRW = Field(gt=0, description="integer KRW; a string is refused")
    currency: Short | None = None
    tax_free: KRW | None = None
    vat_amount: KRW | None = None
    card_quota: CardQuota | None = None
    interest_free_by_merchant: bool | None = None
    use_card_point: bool | None = None
    browser_ip: Annotated[str, MaxLen(64)] | None = None


class ScheduleItem(BuyerFields):
    merchant_uid: MerchantUid
    schedule_at: UnixTime = Field(description="UNIX seconds, in the future")
    amount: KRW = Field(gt=0, description="integer KRW; a string is refused")
    currency: Short | None = None
    tax_free: KRW | None = None
    vat_amount: KRW | None = None
    card_quota: CardQuota | None = None
    interest_free_by_merchant: bool | None = None


class ScheduleBody(CardFields):
    """``POST /subscribe/payments/schedule`` (JSON: ``schedules`` is an array of objects)."""

    customer_uid: CustomerUid
    customer_id: CustomerId | None = None
    checking_amount: KRW | None = None
    pg: Short | None = None
    schedules: list[ScheduleItem] = Field(min_length=1, max_length=1000)


class UnscheduleBody(V1Body):
    customer_uid: CustomerUid | None = None
    merchant_uid: MerchantUid | Annotated[list[MerchantUid], MaxLen(1000)] | None = None

    def merchant_uids(self) -> list[str]:
        if self.merchant_uid is None:
            return []
        return [self.merchant_uid] if isinstance(self.merchant_uid, str) else list(self.merchant_uid)


class ScheduleAtBody(V1Body):
    schedule_at: UnixTime = Field(description="UNIX seconds, in the future")


class TestClockBody(V1Body):
    seconds: WholeNumber = Field(
        gt=0, le=10 * 365 * 86_400, description="how far to move this sandbox merchant's clock forward"
    )


class CancelBody(V1Body):
    """``POST /payments/cancel``."""

    imp_uid: ImpUid | None = Field(default=None, description="wins over merchant_uid")
    merchant_uid: MerchantUid | None = None
    amount: KRW | None = Field(default=None, description="missing or 0: cancel everything that is left")
    tax_free: KRW | None = None
    vat_amount: KRW | None = None
    checksum: KRW | None = Field(default=None, description="the balance you expect before it")
    reason: str | None = Field(default=None, max_length=256)
    refund_holder: str | None = Field(default=None, max_length=60)
    refund_bank: str | None = Field(default=None, max_length=4)
    refund_account: str | None = Field(default=None, max_length=30)
    refund_tel: Tel | None = None
    enable_webhook: bool | None = None


class TokenV1(TypedDict):
    access_token: str
    now: int
    expired_at: int


class PgSettingV1(TypedDict):
    pg_provider: str
    pg_id: str
    sandbox: bool
    type: str
    channel_name: str
    channel_key: str


class CodeV1(TypedDict):
    code: str
    name: str


class BalanceBreakdownV1(TypedDict):
    tax_free: int
    supply: int
    vat: int
    service: int


class BalanceV1(TypedDict):
    amount: int
    cash_receipt: BalanceBreakdownV1
    primary: BalanceBreakdownV1
    secondary: BalanceBreakdownV1
    discount: BalanceBreakdownV1
    histories: list[dict[str, object]]
