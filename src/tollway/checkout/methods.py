"""Which ``pay_method`` Tollway's Toss window opens, and how (reference iamport-v1 §9.2, toss-v1
§5.1, §8.3): i'mport's ``tosspayments`` module takes cards, transfers, virtual accounts, phone
payments, three gift certificates and eight easy pays. Easy pays open the provider directly, as
Toss's ``requestPayment('카드', {flowMode: 'DIRECT', easyPay})`` does; every other V1 method is
refused before a window opens."""

from __future__ import annotations

#: ``pay_method`` → Toss's ``requestPayment`` method
TOSS_METHODS = {
    "card": "카드",
    "trans": "계좌이체",
    "vbank": "가상계좌",
    "phone": "휴대폰",
    "cultureland": "문화상품권",
    "smartculture": "게임문화상품권",
    "booknlife": "도서문화상품권",
}
#: easy-pay ``pay_method`` → Toss's ``easyPay`` code
EASY_PAYS = {
    "tosspay": "TOSSPAY",
    "kakaopay": "KAKAOPAY",
    "naverpay": "NAVERPAY",
    "payco": "PAYCO",
    "samsung": "SAMSUNGPAY",
    "samsungpay": "SAMSUNGPAY",
    "lpay": "LPAY",
    "ssgpay": "SSG",
    "applepay": "APPLEPAY",
}
WINDOW_METHODS = frozenset(TOSS_METHODS) | frozenset(EASY_PAYS)


def toss_method(pay_method: str) -> tuple[str, dict[str, str]]:
    """Toss's method and the parameters that select it (an easy pay's provider)."""
    if pay_method in EASY_PAYS:
        return "카드", {"flowMode": "DIRECT", "easyPay": EASY_PAYS[pay_method]}
    return TOSS_METHODS[pay_method], {}
