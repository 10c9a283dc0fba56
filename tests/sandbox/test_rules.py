"""Toss's amount and cancel rules as the sandbox applies them everywhere (``sandbox.rules``), and
the window's two-step pages for the other methods (``sandbox.method_window``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tollway.sandbox import method_window, rules
from tollway.sandbox.core import TossApiError


@pytest.mark.parametrize(
    ("method", "amount", "code"),
    [
        ("CARD", 99, "BELOW_MINIMUM_AMOUNT"),
        ("EASY_PAY", 99, "BELOW_MINIMUM_AMOUNT"),
        ("TRANSFER", 199, "BELOW_MINIMUM_AMOUNT"),
        ("VIRTUAL_ACCOUNT", 150, "BELOW_MINIMUM_AMOUNT"),
        ("CARD", 0, "BELOW_ZERO_AMOUNT"),
    ],
)
def test_amounts_below_toss_minimum_are_refused(method: str, amount: int, code: str) -> None:
    with pytest.raises(TossApiError) as refused:
        rules.check_minimum(method, amount)
    assert refused.value.code == code


def test_the_minimum_itself_passes() -> None:
    rules.check_minimum("CARD", 100)
    rules.check_minimum("TRANSFER", 200)


def test_installments_need_50000() -> None:
    assert rules.check_installment(3, 50_000) == 3
    with pytest.raises(TossApiError) as refused:
        rules.check_installment(3, 49_999)
    assert refused.value.code == "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT"
    with pytest.raises(TossApiError) as one:
        rules.check_installment(1, 60_000)
    assert one.value.code == "INVALID_CARD_INSTALLMENT_PLAN"


def doc(method: str, **extra: Any) -> dict[str, Any]:
    return {"method": method, "approvedAt": "2026-01-31T23:30:00+09:00", "balanceAmount": 10_000, **extra}


def test_a_phone_payment_is_refunded_only_in_its_kst_month() -> None:
    same_month = datetime(2026, 1, 31, 14, 0, tzinfo=UTC)  # 23:00 KST, still January
    rules.check_method_cancel(doc("휴대폰"), 10_000, same_month)
    next_month = datetime(2026, 1, 31, 15, 0, tzinfo=UTC)  # 00:00 KST on 1 February
    with pytest.raises(TossApiError) as refused:
        rules.check_method_cancel(doc("휴대폰"), 10_000, next_month)
    assert refused.value.code == "NOT_CANCELABLE_PAYMENT" and "휴대폰" in refused.value.message


@pytest.mark.parametrize("method", ["문화상품권", "게임문화상품권", "도서문화상품권"])
def test_a_gift_certificate_is_cancelled_only_in_full(method: str) -> None:
    rules.check_method_cancel(doc(method), 10_000, datetime(2026, 3, 1, tzinfo=UTC))
    with pytest.raises(TossApiError) as refused:
        rules.check_method_cancel(doc(method), 4_000, datetime(2026, 1, 31, tzinfo=UTC))
    assert refused.value.code == "NOT_ALLOWED_PARTIAL_REFUND"


def test_a_card_has_no_method_rule() -> None:
    rules.check_method_cancel(doc("카드"), 1_000, datetime(2027, 1, 1, tzinfo=UTC))


def test_the_window_reads_easy_pays_as_toss_sdk_takes_them() -> None:
    params: dict[str, Any] = {"easyPay": "KAKAOPAY"}
    assert method_window.normalize("카드", "CARD", params) == "EASY_PAY"
    tosspay: dict[str, Any] = {}
    assert method_window.normalize("토스페이", "EASY_PAY", tosspay) == "EASY_PAY" and tosspay["easyPay"] == "TOSSPAY"
    assert method_window.normalize("카드", "CARD", {}) == "CARD"
    with pytest.raises(method_window.MethodError) as bad:
        method_window.normalize("카드", "CARD", {"easyPay": "BITCOIN"})
    assert bad.value.code == "INVALID_EASY_PAY"


def test_the_confirm_step_masks_the_phone_number_and_keeps_the_choice() -> None:
    choice = {"carrier": "SKT", "phone": "010-1234-5678", "outcome": "approve"}
    page = method_window.confirm_section("MOBILE_PHONE", {}, choice)
    assert "<dd>010****5678</dd>" in page  # shown masked; the form carries it back only to the PG
    assert 'name="carrier" value="SKT"' in page and 'id="smsCode"' in page


def test_random_text_is_uniform_over_its_alphabet_and_of_its_length() -> None:
    from collections import Counter
    from datetime import UTC, datetime

    from tollway.sandbox.core import BASE62, new_payment_key, new_transaction_key, random_text

    drawn = random_text("abc", 30_000)
    assert len(drawn) == 30_000 and set(drawn) == {"a", "b", "c"}
    counts = Counter(drawn)
    assert all(9_400 < n < 10_600 for n in counts.values()), counts  # ±6σ of a fair draw
    sixty_two = Counter(random_text(BASE62, 62_000))  # 256 is no multiple of 62: the bias it avoids
    assert len(sixty_two) == 62 and max(sixty_two.values()) < 1_200, sixty_two.most_common(3)
    assert len(new_transaction_key()) == 31 and new_transaction_key().startswith("txrd_")
    key = new_payment_key("tosstest", datetime(2026, 1, 1, tzinfo=UTC))
    assert key.startswith("tosst20260101090000") and len(key) == 24
