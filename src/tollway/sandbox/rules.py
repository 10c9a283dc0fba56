"""Toss's amount rules, shared by every way a payment reaches the sandbox (key-in, billing, the
window): the minimum amount per method and installments from 50,000 KRW (reference toss-v1 §8.4).

The window applies them when it opens (as Toss's SDK refuses ``requestPayment``) and again when the
buyer submits, so a forged form gets the same Toss code a key-in call gets; the page's markup only
mirrors them (it never offers months it would refuse).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tollway.pg.toss.wire import KST, parse_time
from tollway.sandbox.core import CARD_MINIMUM, SandboxCore, TossApiError

#: "계좌는 200원 이상": transfers and virtual accounts
ACCOUNT_MINIMUM = 200
ACCOUNT_METHODS = frozenset({"TRANSFER", "VIRTUAL_ACCOUNT"})
GIFT_CERTIFICATES = frozenset({"문화상품권", "게임문화상품권", "도서문화상품권"})


def check_minimum(method: str, amount: int) -> None:
    """``BELOW_MINIMUM_AMOUNT`` under 100 KRW (cards and what is paid like one) or 200 KRW (accounts)."""
    if amount <= 0:
        raise TossApiError("BELOW_ZERO_AMOUNT")
    minimum = ACCOUNT_MINIMUM if method in ACCOUNT_METHODS else CARD_MINIMUM
    if amount < minimum:
        raise TossApiError("BELOW_MINIMUM_AMOUNT")


def check_installment(months: object, amount: int) -> int:
    """``cardInstallmentPlan`` as the charge endpoints check it: 0 or 2–12, and 2+ only from 50,000 KRW."""
    return SandboxCore._installment({"cardInstallmentPlan": months}, amount)


def check_method_cancel(doc: dict[str, Any], amount: int, now: datetime) -> None:
    """What a method forbids on cancel: a phone payment is refunded only in the month it was paid
    (the carrier has billed it by then: reference iamport-v1 §5, "no refund in a later month"),
    and a gift-certificate payment only in full (§9.2)."""
    method = doc.get("method")
    if method == "휴대폰":
        approved = parse_time(doc.get("approvedAt"))
        if approved is not None:
            paid, today = approved.astimezone(KST), now.astimezone(KST)
            if (today.year, today.month) != (paid.year, paid.month):
                raise TossApiError("NOT_CANCELABLE_PAYMENT", "휴대폰 결제는 결제한 달에만 취소할 수 있습니다.")
    if method in GIFT_CERTIFICATES and amount != doc.get("balanceAmount"):
        raise TossApiError("NOT_ALLOWED_PARTIAL_REFUND", "상품권 결제는 부분 취소할 수 없습니다.")
