"""The sandbox window's easy pays, phone and gift-certificate payments: what the buyer sees.

Toss's SDK opens them as ``requestPayment('카드', {flowMode: 'DIRECT', easyPay: 'KAKAOPAY'})`` (or
``'토스페이'``), ``requestPayment('휴대폰', …)`` and ``requestPayment('문화상품권' | '게임문화상품권' |
'도서문화상품권', …)`` (reference toss-v1 §5.1, §8.3). The window has two steps, as the providers'
own pages do: the buyer picks how to pay (the provider's funding, the carrier and number, the
certificate account), then confirms on a page that repeats the choice. Pure HTML; the API side
(what the choice leaves at the PG) is ``sandbox.methods``.
"""

from __future__ import annotations

import html
from typing import Any

#: Toss request name → the window's method
METHODS = {
    "휴대폰": "MOBILE_PHONE",
    "MOBILE_PHONE": "MOBILE_PHONE",
    "문화상품권": "CULTURE_GIFT_CERTIFICATE",
    "CULTURE_GIFT_CERTIFICATE": "CULTURE_GIFT_CERTIFICATE",
    "게임문화상품권": "GAME_GIFT_CERTIFICATE",
    "GAME_GIFT_CERTIFICATE": "GAME_GIFT_CERTIFICATE",
    "도서문화상품권": "BOOK_GIFT_CERTIFICATE",
    "BOOK_GIFT_CERTIFICATE": "BOOK_GIFT_CERTIFICATE",
    "토스페이": "EASY_PAY",
    "TOSSPAY": "EASY_PAY",
    "EASY_PAY": "EASY_PAY",
}
#: the window's method → Toss's ``method`` in the Payment object
METHOD_NAMES = {
    "EASY_PAY": "간편결제",
    "MOBILE_PHONE": "휴대폰",
    "CULTURE_GIFT_CERTIFICATE": "문화상품권",
    "GAME_GIFT_CERTIFICATE": "게임문화상품권",
    "BOOK_GIFT_CERTIFICATE": "도서문화상품권",
}
#: Toss's ``easyPay`` request code → the provider's name in the Payment object (``easyPay.provider``)
EASY_PAYS = {
    "TOSSPAY": "토스페이",
    "KAKAOPAY": "카카오페이",
    "NAVERPAY": "네이버페이",
    "PAYCO": "페이코",
    "SAMSUNGPAY": "삼성페이",
    "LPAY": "엘페이",
    "SSG": "SSG페이",
    "APPLEPAY": "애플페이",
}
#: how an easy pay is funded: a card registered with the provider, or the provider's balance
FUNDING = {"card": "등록된 카드 (현대카드)", "money": "페이머니 (충전 잔액)"}
CARRIERS = {"SKT": "SKT", "KT": "KT", "LGU": "LG U+", "SK7": "SKT 알뜰폰", "KCT": "KT 알뜰폰", "HELLO": "LG U+ 알뜰폰"}
#: test outcomes of these windows (the buyer's cancel is the 취소 button)
OUTCOMES = {"approve": "승인", "decline": "거절 (잔액 부족·한도 초과)"}


class MethodError(Exception):
    """The call is not one Toss's SDK accepts (``INVALID_EASY_PAY``…)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


def normalize(method: str, normalized: str, params: dict[str, Any]) -> str:
    """The window's method for a call whose Toss method maps to ``normalized``: a card call with
    ``easyPay`` (Toss opens the provider directly) and ``'토스페이'`` are easy pays. The provider
    is written into ``params`` so the window's own form carries it."""
    if method in ("토스페이", "TOSSPAY"):
        params["easyPay"] = "TOSSPAY"
        return "EASY_PAY"
    if normalized == "CARD" and params.get("easyPay") is not None:
        normalized = "EASY_PAY"
    if normalized == "EASY_PAY" and params.get("easyPay") not in EASY_PAYS:
        raise MethodError("INVALID_EASY_PAY", "간편결제 입력정보가 올바르지 않습니다.")
    return normalized


def provider(params: dict[str, Any]) -> str:
    return EASY_PAYS.get(str(params.get("easyPay")), "간편결제")


def _radios(name: str, choices: dict[str, str], legend: str, field_id: str) -> str:
    items = "".join(
        f'<label><input type="radio" name="{name}" value="{html.escape(k)}"{" checked" * (i == 0)}> '
        f"{html.escape(v)}</label>"
        for i, (k, v) in enumerate(choices.items())
    )
    return f'<fieldset class="outcomes" id="{field_id}"><legend>{legend}</legend>{items}</fieldset>'


def section(method: str, params: dict[str, Any]) -> str:
    """The first step: how to pay with this method. Ends with ``action=next`` (the 다음 button)."""
    if method == "EASY_PAY":
        name = html.escape(provider(params))
        body = (
            f'<section class="provider" id="provider"><h2>{name}</h2>'
            f"<p>{name} 계정으로 결제합니다. (테스트 계정에 로그인되어 있습니다)</p>"
            f"{_radios('funding', FUNDING, '결제 수단', 'funding')}</section>"
        )
    elif method == "MOBILE_PHONE":
        phone = html.escape(str(params.get("customerMobilePhone") or "01012345678"))
        carrier = params.get("mobileCarrier")
        carriers = {carrier: CARRIERS[carrier]} if carrier in CARRIERS else CARRIERS
        options = "".join(f'<option value="{k}">{html.escape(v)}</option>' for k, v in carriers.items())
        body = (
            '<section class="provider" id="provider"><h2>휴대폰 결제</h2>'
            f'<label for="carrier">통신사</label><select name="carrier" id="carrier">{options}</select>'
            f'<label for="phone">휴대폰 번호</label><input type="text" name="phone" id="phone" inputmode="numeric"'
            f' value="{phone}" autocomplete="off"></section>'
        )
    else:
        body = (
            f'<section class="provider" id="provider"><h2>{METHOD_NAMES[method]}</h2>'
            f'<label for="giftId">{METHOD_NAMES[method]} 아이디</label>'
            '<input type="text" name="giftId" id="giftId" value="tollway-test" autocomplete="off">'
            '<p class="note">테스트 계정의 잔액으로 결제합니다.</p></section>'
        )
    return body + _radios("outcome", OUTCOMES, "테스트 결과", "outcomes")


def confirm_section(method: str, params: dict[str, Any], choice: dict[str, str], *, invalid: bool = False) -> str:
    """The second step: the choice repeated, with an SMS code for phone payments (``invalid``: the
    code was wrong, and the window's error names it)."""
    kept = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in choice.items() if v is not None
    )
    rows: list[tuple[str, str]] = []
    if method == "EASY_PAY":
        rows = [("간편결제", provider(params)), ("결제 수단", FUNDING.get(choice.get("funding", ""), ""))]
    elif method == "MOBILE_PHONE":
        rows = [("통신사", CARRIERS.get(choice.get("carrier", ""), "")), ("휴대폰 번호", mask_phone(choice["phone"]))]
    else:
        rows = [("상품권", METHOD_NAMES[method]), ("아이디", choice.get("giftId", ""))]
    rows.append(("테스트 결과", OUTCOMES.get(choice.get("outcome", ""), "")))
    table = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows)
    sms = ""
    tied = ' aria-invalid="true" aria-describedby="error"' if invalid else ""
    if method == "MOBILE_PHONE":
        sms = (
            '<label for="smsCode">인증번호</label><input type="text" name="smsCode" id="smsCode" '
            f'inputmode="numeric" value="000000" autocomplete="one-time-code"{tied}>'
            '<p class="note">테스트 인증번호는 000000입니다.</p>'
        )
    return f'<section class="confirm" id="confirm"><h2>결제 확인</h2><dl>{table}</dl>{sms}</section>{kept}'


def mask_phone(number: str) -> str:
    digits = "".join(c for c in number if c.isdigit())
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
