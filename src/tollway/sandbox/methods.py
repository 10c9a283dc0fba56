"""The sandbox's easy pays, phone and gift-certificate payments: what the window's choice leaves at
the PG, and what ``confirm`` makes of it — Toss's Payment object with ``method`` 간편결제 / 휴대폰 /
문화상품권…, and its ``easyPay{provider, amount, discountAmount}`` (with a ``card`` when a card
funded it), ``mobilePhone`` or ``giftCertificate`` object (reference toss-v1 §3, §8.3).

Test outcomes: approve, or decline at confirm (``REJECT_CARD_COMPANY`` for a card-funded easy pay,
``REJECT_ACCOUNT_PAYMENT`` for a balance, ``EXCEED_MAX_MONTHLY_PAYMENT_AMOUNT`` for a phone); the
buyer's cancel is the window's 취소 button. Cancels follow ``sandbox.rules.check_method_cancel``.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import Request

from tollway.pg.toss.wire import format_time
from tollway.sandbox import cards
from tollway.sandbox.core import PRIVATE, Answer, Caller, TossApiError, new_transaction_key
from tollway.sandbox.method_window import CARRIERS, EASY_PAYS, FUNDING, METHOD_NAMES, OUTCOMES, mask_phone
from tollway.sandbox.payments import PaymentsApi
from tollway.sandbox.store import StoredPayment
from tollway.sandbox.window import WindowError, WindowRequest

#: the card behind a card-funded easy pay (a 현대카드 registered with the provider)
EASY_PAY_CARD = cards.TestCard(cards.Outcome.APPROVE, "61", "61", "신용")
EASY_PAY_CARD_NUMBER = "4330123412340005"
TEST_SMS_CODE = "000000"


def _decline_code(method: str, funding: str | None) -> str:
    if method == "간편결제":
        return "REJECT_CARD_COMPANY" if funding == "card" else "REJECT_ACCOUNT_PAYMENT"
    if method == "휴대폰":
        return "EXCEED_MAX_MONTHLY_PAYMENT_AMOUNT"
    return "REJECT_ACCOUNT_PAYMENT"


class MethodsApi(PaymentsApi):
    def check_method_choice(self, window: WindowRequest, choice: dict[str, str]) -> None:
        """The first step's choice, checked before the confirm step shows it."""
        if choice.get("outcome") not in OUTCOMES:
            raise WindowError("RETRY", "테스트 결과를 선택해 주세요.")
        if window.method == "EASY_PAY" and choice.get("funding") not in FUNDING:
            raise WindowError("RETRY", "결제 수단을 선택해 주세요.")
        if window.method == "MOBILE_PHONE":
            digits = "".join(c for c in choice.get("phone", "") if c.isdigit())
            if choice.get("carrier") not in CARRIERS:
                raise WindowError("RETRY", "통신사를 선택해 주세요.")
            if not 10 <= len(digits) <= 11 or not digits.startswith("01"):
                raise WindowError("RETRY", "휴대폰 번호를 확인해 주세요. (예: 01012345678)")
        if window.method not in ("EASY_PAY", "MOBILE_PHONE") and not choice.get("giftId", "").strip():
            raise WindowError("RETRY", "상품권 아이디를 입력해 주세요.")

    async def window_method_payment(
        self, window: WindowRequest, choice: dict[str, str], sms_code: str, request: Request
    ) -> str:
        """The buyer confirmed: an ``IN_PROGRESS`` payment for ``confirm``; its paymentKey."""
        self.check_method_choice(window, choice)
        if window.method == "MOBILE_PHONE" and sms_code.strip() != TEST_SMS_CODE:
            raise WindowError("RETRY", "인증번호가 올바르지 않습니다. 테스트 인증번호는 000000입니다.")
        private: dict[str, Any] = {"method": METHOD_NAMES[window.method], "outcome": choice["outcome"]}
        if window.method == "EASY_PAY":
            private.update(easyPay=str(window.params.get("easyPay")), funding=choice["funding"])
        elif window.method == "MOBILE_PHONE":
            private.update(carrier=choice["carrier"], phone=mask_phone(choice["phone"]))
        return await self._open_window_payment(window, private, request)

    async def _confirm_other(self, caller: Caller, stored: StoredPayment, request: Request) -> Answer:
        doc = stored.doc
        private = doc.get(PRIVATE) or {}
        method = str(private.get("method"))
        if private.get("outcome") != "approve":
            failed = TossApiError(_decline_code(method, private.get("funding")))
            doc.update(status="ABORTED", method=method, failure={"code": failed.code, "message": failed.message})
            await self._write(caller, doc, stored)
            raise failed
        now = self.clock.now()
        receipt = f"{self._base_url(request)}/_sandbox/receipts/{doc['paymentKey']}"
        amount = doc["totalAmount"]
        doc.update(
            status="DONE",
            method=method,
            approvedAt=format_time(now),
            lastTransactionKey=new_transaction_key(),
            receipt={"url": receipt},
        )
        if method == "간편결제":
            by_card = private.get("funding") == "card"
            provider = EASY_PAYS.get(str(private.get("easyPay")), "간편결제")
            doc["easyPay"] = {"provider": provider, "amount": 0 if by_card else amount, "discountAmount": 0}
            doc["easyPayAmount"], doc["easyPayDiscountAmount"] = doc["easyPay"]["amount"], 0
            if by_card:
                masked = cards.mask(EASY_PAY_CARD_NUMBER)
                doc["card"] = self._card_doc(EASY_PAY_CARD, masked, amount, 0, False)
        elif method == "휴대폰":
            doc["mobilePhone"] = {
                "customerMobilePhone": private.get("phone"),
                "settlementStatus": "INCOMPLETED",
                "receiptUrl": receipt,
            }
        else:
            doc["giftCertificate"] = {"approveNo": f"{secrets.randbelow(10**8):08d}", "settlementStatus": "INCOMPLETED"}
        return await self._settle(caller, doc, cards.Outcome.APPROVE, request, existing=stored)
