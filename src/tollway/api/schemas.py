"""Request bodies of the V1 routes, and the response shapes shown in ``/openapi.json``."""

from __future__ import annotations

from pydantic import Field
from typing_extensions import TypedDict

from tollway.api.body import KRW, V1Body


class GetTokenBody(V1Body):
    imp_key: str = Field(min_length=1, description="REST API key")
    imp_secret: str = Field(min_length=1, description="REST API secret")


class PrepareBody(V1Body):
    merchant_uid: str = Field(min_length=1, max_length=40, description="고객사 주문번호")
    amount: KRW = Field(ge=0, description="결제예정금액 (integer KRW; a string is refused)")
    currency: str | None = Field(default=None, max_length=3, description="null: the currency is not checked")


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
