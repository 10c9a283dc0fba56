"""``IMP.request_pay`` parameters: checked as V1 checks them, and turned into a Toss window request.

Reference: iamport-v1 §7.2 (the parameters), §9.2–9.3 (what ``tosspayments`` does with them) and
toss-v1 §5.1 (what Toss's window takes). Every refusal names the parameter and what was expected.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tollway.checkout.methods import WINDOW_METHODS, toss_method
from tollway.codes import CARDS
from tollway.pg.toss.codes import TOSS_CARDS, toss_card_code
from tollway.pg.toss.wire import KST

#: Every ``pay_method`` V1 knows (reference §4); an unknown one is refused before anything opens.
KNOWN_PAY_METHODS = frozenset(
    {
        "card",
        "trans",
        "vbank",
        "phone",
        "samsung",
        "samsungpay",
        "kpay",
        "kakaopay",
        "payco",
        "lpay",
        "ssgpay",
        "tosspay",
        "cultureland",
        "smartculture",
        "happymoney",
        "booknlife",
        "point",
        "wechat",
        "alipay",
        "unionpay",
        "tenpay",
        "naverpay",
        "applepay",
        "paypal",
        "kakao",
        "chai",
        "cvs",
    }
)
INSTALLMENT_MINIMUM = 50_000
INSTALLMENT_TOO_SMALL = "할부는 결제 금액이 50,000원 이상일 때만 가능합니다. (installments need 50,000 KRW or more)"
MERCHANT_UID_MAX = 40
VBANK_DUE_FORMATS = ("%Y%m%d%H%M%S", "%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M", "%Y%m%d", "%Y-%m-%d")
TEL = re.compile(r"[^0-9]")


class ParamError(Exception):
    """A ``request_pay`` parameter V1 refuses; ``code`` is the callback's ``error_code``."""

    def __init__(self, message: str, code: str = "INVALID_PARAMETER") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CardOptions:
    #: ``display.card_quota``: None = not given, [] = lump-sum only, [..] = up to the largest
    quota: tuple[int, ...] | None = None
    only_installment: bool = False
    direct_code: str | None = None  # KFTC
    direct_quota: int | None = None
    #: KFTC codes ``card.detail`` leaves enabled (None: all)
    enabled: tuple[str, ...] | None = None


@dataclass(frozen=True)
class WindowParams:
    merchant_uid: str
    amount: int
    pay_method: str = "card"
    pg: str | None = None
    name: str | None = None
    tax_free: int = 0
    vat_amount: int | None = None
    currency: str = "KRW"
    language: str = "ko"
    buyer_name: str | None = None
    buyer_email: str | None = None
    buyer_tel: str | None = None
    buyer_addr: str | None = None
    buyer_postcode: str | None = None
    custom_data: str | None = None
    notice_urls: tuple[str, ...] = ()
    m_redirect_url: str | None = None
    escrow: bool = False
    customer_uid: str | None = None
    customer_id: str | None = None
    vbank_due: datetime | None = None
    card: CardOptions = field(default_factory=CardOptions)


def _str(params: dict[str, Any], key: str, limit: int = 200) -> str | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ParamError(f"{key}는 문자열이어야 합니다. ({key} must be a string)")
    if len(value) > limit:
        raise ParamError(f"{key}는 {limit}자 이하여야 합니다. ({key} is longer than {limit} characters)")
    return value


def _whole(params: dict[str, Any], key: str, *, default: int | None = None) -> int | None:
    value = params.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        kind = "문자열" if isinstance(value, str) else type(value).__name__
        raise ParamError(
            f"{key}는 숫자(정수)여야 합니다. {kind}은(는) 받지 않습니다. "
            f"({key} must be an integer number, got {json.dumps(value, ensure_ascii=False)})"
        )
    if value < 0:
        raise ParamError(f"{key}는 0 이상이어야 합니다. ({key} must not be negative)")
    return int(value)


def parse(params: object) -> WindowParams:
    if not isinstance(params, dict):
        raise ParamError("request_pay의 첫 인자는 객체여야 합니다. (params must be an object)")
    merchant_uid = _str(params, "merchant_uid", MERCHANT_UID_MAX)
    if merchant_uid is None:
        raise ParamError(
            "merchant_uid는 필수입니다. (merchant_uid is required: a unique order id, 40 characters at most)"
        )
    amount = _whole(params, "amount")
    if amount is None:
        raise ParamError("amount는 필수입니다. (amount is required: an integer number of KRW)")
    pay_method = _str(params, "pay_method", 32) or "card"
    if pay_method not in KNOWN_PAY_METHODS:
        raise ParamError(f"지원하지 않는 pay_method입니다: {pay_method} (unknown pay_method; e.g. card, trans, vbank)")
    customer_uid = _str(params, "customer_uid", 80)
    if customer_uid is None and pay_method not in WINDOW_METHODS:
        raise ParamError(
            f"토스페이먼츠 결제창에서 지원하지 않는 결제수단입니다: {pay_method} "
            f"(tosspayments supports {', '.join(sorted(WINDOW_METHODS))})",
            code="UNSUPPORTED_PAY_METHOD",
        )
    if customer_uid is not None and pay_method != "card":
        raise ParamError("빌링키 발급은 card 결제수단만 지원합니다. (a billing key is issued for pay_method card only)")
    if customer_uid is None and amount == 0:
        raise ParamError("결제 금액(amount)은 0보다 커야 합니다. (amount must be positive; 0 is for billing keys)")
    tax_free = _whole(params, "tax_free", default=0) or 0
    if tax_free > amount:
        raise ParamError("tax_free는 amount 이하여야 합니다. (tax_free must not exceed amount)")
    currency = (_str(params, "currency", 3) or "KRW").upper()
    if currency != "KRW":
        raise ParamError("토스페이먼츠는 KRW만 지원합니다. (currency must be KRW)")
    custom = params.get("custom_data")
    custom_data = (
        None if custom is None else custom if isinstance(custom, str) else json.dumps(custom, ensure_ascii=False)
    )
    notice = params.get("notice_url")
    notice_urls = tuple(u for u in ([notice] if isinstance(notice, str) else notice or []) if isinstance(u, str) and u)
    return WindowParams(
        merchant_uid=merchant_uid,
        amount=amount,
        pay_method=pay_method,
        pg=_str(params, "pg", 100) or _str(params, "channelKey", 100),
        name=_str(params, "name", 200),
        tax_free=tax_free,
        vat_amount=_whole(params, "vat_amount"),
        currency=currency,
        language=_str(params, "language", 8) or "ko",
        buyer_name=_str(params, "buyer_name", 100),
        buyer_email=_str(params, "buyer_email", 200),
        buyer_tel=_str(params, "buyer_tel", 40),
        buyer_addr=_str(params, "buyer_addr", 400),
        buyer_postcode=_str(params, "buyer_postcode", 20),
        custom_data=custom_data,
        notice_urls=notice_urls,
        m_redirect_url=_url(params.get("m_redirect_url")),
        escrow=bool(params.get("escrow")),
        customer_uid=customer_uid,
        customer_id=_str(params, "customer_id", 300),
        vbank_due=_vbank_due(params.get("vbank_due")),
        card=_card_options(params, amount),
    )


def _url(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not re.match(r"^https?://", value):
        raise ParamError("m_redirect_url은 http(s):// 로 시작하는 URL이어야 합니다. (m_redirect_url must be an URL)")
    return value


def _vbank_due(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        for fmt in VBANK_DUE_FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
            except ValueError:
                continue
            if len(fmt) <= 8:  # a day: the end of it
                parsed = parsed.replace(hour=23, minute=59, second=59)
            return parsed.replace(tzinfo=KST)
    raise ParamError("vbank_due는 YYYYMMDD, YYYY-MM-DD, YYYYMMDDHHmmss 또는 YYYY-MM-DD HH:mm:ss 형식이어야 합니다.")


def _months(value: object, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not (value == 0 or 2 <= value <= 12):
        raise ParamError(f"{key}의 할부 개월 수는 0(일시불) 또는 2~12여야 합니다. ({key}: 0 or 2..12)")
    return value


def _card_options(params: dict[str, Any], amount: int) -> CardOptions:
    display = params.get("display") or {}
    card = params.get("card") or {}
    if not isinstance(display, dict) or not isinstance(card, dict):
        raise ParamError("display와 card는 객체여야 합니다. (display and card must be objects)")
    quota: tuple[int, ...] | None = None
    if display.get("card_quota") is not None:
        raw = display["card_quota"]
        if not isinstance(raw, list):
            raise ParamError("display.card_quota는 할부 개월 수의 배열이어야 합니다. (e.g. [], [3], [2,3,6])")
        quota = tuple(_months(m, "display.card_quota") for m in raw if m not in (0, 1))
    direct_code: str | None = None
    direct_quota: int | None = None
    if card.get("direct") is not None:
        direct = card["direct"]
        code = direct.get("code") if isinstance(direct, dict) else None
        if not isinstance(code, str) or toss_card_code(code) is None:
            known = ", ".join(sorted(c for c in CARDS if toss_card_code(c)))
            raise ParamError(f"card.direct.code는 카드사 코드여야 합니다. (card.direct.code must be one of {known})")
        direct_code = code
        if isinstance(direct, dict) and direct.get("quota") is not None:
            direct_quota = _months(direct["quota"], "card.direct.quota")
            if direct_quota and amount < INSTALLMENT_MINIMUM:
                raise ParamError(INSTALLMENT_TOO_SMALL)
    enabled: tuple[str, ...] | None = None
    if card.get("detail") is not None:
        enabled = _enabled_cards(card["detail"])
    return CardOptions(
        quota=quota,
        only_installment=bool(display.get("only_installment")),
        direct_code=direct_code,
        direct_quota=direct_quota,
        enabled=enabled,
    )


def _enabled_cards(detail: object) -> tuple[str, ...]:
    """``card.detail``: applied in order, ``"*"`` meaning every card company."""
    if not isinstance(detail, list):
        raise ParamError(
            'card.detail은 [{card_code, enabled}] 배열이어야 합니다. (e.g. [{"card_code":"*","enabled":false}])'
        )
    every = [c for c in CARDS if toss_card_code(c) is not None]
    on = dict.fromkeys(every, True)
    for item in detail:
        code = item.get("card_code") if isinstance(item, dict) else None
        flag = item.get("enabled") if isinstance(item, dict) else None
        if not isinstance(code, str) or not isinstance(flag, bool) or (code != "*" and code not in on):
            raise ParamError(f"card.detail 항목이 올바르지 않습니다: {json.dumps(item, ensure_ascii=False)}")
        for target in every if code == "*" else [code]:
            on[target] = flag
    chosen = tuple(c for c, flag in on.items() if flag)
    if not chosen:
        raise ParamError("card.detail이 모든 카드사를 끕니다. (card.detail disables every card company)")
    return chosen


def toss_request(params: WindowParams, order_id: str, *, sandbox: bool, now: datetime) -> tuple[str, dict[str, Any]]:
    """Toss's ``requestPayment(method, params)`` for a payment window (success/fail URLs added later)."""
    method, selector = toss_method(params.pay_method)
    request: dict[str, Any] = {
        "amount": params.amount,
        "orderId": order_id,
        "orderName": (params.name or params.merchant_uid)[:100],
        **selector,
    }
    if params.tax_free:
        request["taxFreeAmount"] = params.tax_free
    if params.buyer_name:
        request["customerName"] = params.buyer_name[:100]
    if params.buyer_email:
        request["customerEmail"] = params.buyer_email
    if params.buyer_tel and method != "카드":
        request["customerMobilePhone"] = TEL.sub("", params.buyer_tel)
    if params.language in ("en", "ko"):
        request["locale"] = params.language
    if method == "카드" and not selector:
        request.update(_toss_card(params.card, params.amount, sandbox=sandbox))
    if method == "가상계좌":
        if params.escrow:
            request["useEscrow"] = True
        if params.vbank_due is not None:
            if params.vbank_due <= now:
                raise ParamError("vbank_due는 미래 시각이어야 합니다. (vbank_due must be in the future)")
            hours = max(1, int((params.vbank_due - now) / timedelta(hours=1)))
            request["validHours"] = min(hours, 2160)
    return method, request


def _toss_card(card: CardOptions, amount: int, *, sandbox: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    installments = amount >= INSTALLMENT_MINIMUM
    if card.direct_code is not None:
        toss = toss_card_code(card.direct_code)
        assert toss is not None  # checked by parse
        out["flowMode"] = "DIRECT"
        out["cardCompany"] = TOSS_CARDS[toss][0]
        # reference §9.2: without a quota Toss always charges lump-sum
        if installments:
            out["cardInstallmentPlan"] = card.direct_quota or 0
    elif card.quota is not None and installments:
        if not card.quota:
            out["cardInstallmentPlan"] = 0
        else:
            out["maxCardInstallmentPlan"] = max(card.quota)
    extra: dict[str, Any] = {}
    if card.enabled is not None:
        extra["cardCompanies"] = sorted({code for c in card.enabled if (code := toss_card_code(c))})
    if card.only_installment and installments and "cardInstallmentPlan" not in out:
        extra["onlyInstallment"] = True
    if extra and sandbox:  # Toss's public SDK has no parameter for these (docs/compatibility.md)
        out["tollway"] = extra
    return out
