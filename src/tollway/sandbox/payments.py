"""The sandbox's payments resource: key-in, the window's confirm (cards, transfers, virtual
accounts and their deposit), lookups by paymentKey and orderId, and cancels."""

from __future__ import annotations

import secrets
import string
from datetime import timedelta
from typing import Any

from fastapi import Request

from tollway.pg.toss.wire import format_time
from tollway.sandbox import cards, rules
from tollway.sandbox.core import (
    PRIVATE,
    Answer,
    Caller,
    SandboxCore,
    TossApiError,
    new_payment_key,
    new_transaction_key,
    public_doc,
    split_vat,
)
from tollway.sandbox.method_window import METHOD_NAMES as OTHER_METHOD_NAMES
from tollway.sandbox.store import StoredPayment
from tollway.sandbox.window import BANKS, METHOD_NAMES, OUTCOME_CARDS, WindowError, WindowRequest

OTHER_METHODS = frozenset(OTHER_METHOD_NAMES.values())


class PaymentsApi(SandboxCore):
    async def key_in(self, caller: Caller, body: dict[str, Any], request: Request) -> Answer:
        self._tax_free(body, self._amount(body))
        self._order(body)
        card, masked = self._card(body)
        if body.get("customerIdentityNumber") is None and not card.foreign:  # a card issued abroad needs none
            raise TossApiError("INVALID_REQUIRED_PARAM", "필수 파라미터가 누락되었습니다. (customerIdentityNumber)")
        return await self._charge(caller, body, request, card, masked, kind="NORMAL")

    async def confirm(self, caller: Caller, body: dict[str, Any], request: Request) -> Answer:
        payment_key = body.get("paymentKey")
        order_id = body.get("orderId")
        amount = body.get("amount")
        if not isinstance(payment_key, str) or not isinstance(order_id, str) or amount is None:
            raise TossApiError("INVALID_REQUIRED_PARAM")
        stored = await self.store.by_key(caller.mid, payment_key)
        if stored is None:
            raise TossApiError("NOT_FOUND_PAYMENT_SESSION")
        stored = await self._expire_if_due(stored)
        doc = stored.doc
        if doc["status"] in ("DONE", "PARTIAL_CANCELED", "CANCELED", "WAITING_FOR_DEPOSIT"):
            raise TossApiError("ALREADY_PROCESSED_PAYMENT")
        if doc["status"] != "IN_PROGRESS" or doc["orderId"] != order_id or doc["totalAmount"] != amount:
            raise TossApiError("NOT_FOUND_PAYMENT_SESSION")
        private = doc.get(PRIVATE) or {}
        card = cards.TestCard(
            cards.Outcome(private.get("outcome", "approve")),
            private.get("issuerCode", "41"),
            private.get("issuerCode", "41"),
            private.get("cardType", "신용"),
        )
        months = int(private.get("installmentPlanMonths", 0))
        now = self.clock.now()
        method = private.get("method", "카드")
        if method in OTHER_METHODS:
            return await self._confirm_other(caller, stored, request)
        if method != "카드":
            return await self._confirm_account(caller, stored, method, request)
        doc.update(
            status="DONE",
            approvedAt=format_time(now),
            lastTransactionKey=new_transaction_key(),
            receipt={"url": f"{self._base_url(request)}/_sandbox/receipts/{payment_key}"},
            card=self._card_doc(
                card, private.get("maskedNumber", "43301234****000*"), doc["totalAmount"], months, False
            ),
            method="카드",
        )
        return await self._settle(caller, doc, card.outcome, request, existing=stored)

    async def _confirm_account(self, caller: Caller, stored: StoredPayment, method: str, request: Request) -> Answer:
        """A transfer is done at once; a virtual account is issued and waits for the deposit (§2.6)."""
        doc = stored.doc
        private = doc.get(PRIVATE) or {}
        now = self.clock.now()
        bank = private.get("bankCode", "06")
        if method == "계좌이체":
            doc.update(
                status="DONE",
                method=method,
                approvedAt=format_time(now),
                lastTransactionKey=new_transaction_key(),
                receipt={"url": f"{self._base_url(request)}/_sandbox/receipts/{doc['paymentKey']}"},
                transfer={"bankCode": bank, "settlementStatus": "INCOMPLETED"},
            )
        else:
            due = now + timedelta(hours=int(private.get("validHours", 168)))
            doc.update(
                status="WAITING_FOR_DEPOSIT",
                method=method,
                approvedAt=None,
                secret="ps_" + secrets.token_urlsafe(18),
                virtualAccount={
                    "accountType": "일반",
                    "accountNumber": "X" + "".join(secrets.choice(string.digits) for _ in range(13)),
                    "bankCode": bank,
                    "customerName": private.get("customerName") or "구매자",
                    "depositorName": None,
                    "dueDate": format_time(due),
                    "refundStatus": "NONE",
                    "expired": False,
                    "settlementStatus": "INCOMPLETED",
                    "refundReceiveAccount": None,
                },
            )
        return await self._settle(caller, doc, cards.Outcome.APPROVE, request, existing=stored)

    async def _confirm_other(self, caller: Caller, stored: StoredPayment, request: Request) -> Answer:
        """Easy pays, phone and gift certificates: ``sandbox.methods`` overrides this."""
        raise TossApiError("NOT_SUPPORTED_METHOD")

    async def deposit(self, caller: Caller, _: dict[str, Any], request: Request) -> Answer:
        """Sandbox helper, like the developer center's 입금처리: a waiting virtual account is paid."""
        stored = await self.store.by_key(caller.mid, request.path_params["payment_key"])
        if stored is None:
            raise TossApiError("NOT_FOUND_PAYMENT")
        doc = stored.doc
        if doc["status"] != "WAITING_FOR_DEPOSIT":
            raise TossApiError("NOT_CANCELABLE_PAYMENT", "입금을 기다리는 가상계좌가 아닙니다.")
        now = self.clock.now()
        doc.update(status="DONE", approvedAt=format_time(now), lastTransactionKey=new_transaction_key())
        doc["virtualAccount"] = {**doc["virtualAccount"], "depositorName": doc["virtualAccount"]["customerName"]}
        if not await self.store.replace(stored, doc, now):
            raise TossApiError("FORBIDDEN_CONSECUTIVE_REQUEST")
        return Answer(200, public_doc(doc))

    # -- the window (sandbox.window): what the buyer's choices leave at the PG --------------------

    async def window_payment(self, window: WindowRequest, choice: dict[str, str], request: Request) -> str:
        """The buyer approved in the window: an ``IN_PROGRESS`` payment for ``confirm``; its paymentKey."""
        private: dict[str, Any] = {}
        if window.method == "CARD":
            company, outcome = choice["company"], choice["outcome"]
            if company not in window.companies:
                raise WindowError("RETRY", "카드사를 선택해 주세요.")
            try:
                months = int(choice["months"])
            except ValueError:
                months = -1
            try:  # Toss's rule first (a forged form gets Toss's code), then what this window offered
                rules.check_installment(months, window.amount)
            except TossApiError as exc:
                raise WindowError(exc.code, exc.message) from None
            if months not in window.months:
                raise WindowError("RETRY", "할부 개월 수를 선택해 주세요.")
            test_card = cards.lookup(OUTCOME_CARDS.get(outcome, ""))
            if test_card is None:
                raise WindowError("RETRY", "테스트 결과를 선택해 주세요.")
            private.update(
                method="카드",
                outcome=test_card.outcome.value,
                issuerCode=company,
                cardType="신용",
                maskedNumber=cards.mask(OUTCOME_CARDS[outcome]),
                installmentPlanMonths=months,
            )
        else:
            if choice["bank"] not in BANKS:
                raise WindowError("RETRY", "은행을 선택해 주세요.")
            hours = window.params.get("validHours")
            private.update(
                method=METHOD_NAMES[window.method],
                bankCode=choice["bank"],
                customerName=window.params.get("customerName"),
                validHours=hours if isinstance(hours, int) and 0 < hours <= 2160 else 168,
            )
        return await self._open_window_payment(window, private, request)

    async def _open_window_payment(self, window: WindowRequest, private: dict[str, Any], request: Request) -> str:
        """The window's ``IN_PROGRESS`` payment, whatever its method; its paymentKey."""
        try:
            tax_free = self._tax_free(window.params, window.amount)
        except TossApiError as exc:
            raise WindowError(exc.code, exc.message) from None
        # an order tried before and not approved (left, expired, aborted) may be tried again
        replaceable = ("ABORTED", "EXPIRED", "IN_PROGRESS", "READY")
        payment_key = await self._open_in_progress(
            window.mid, window.order_id, window.order_name, window.amount, tax_free, private, request, replaceable
        )
        if payment_key is None:
            raise WindowError("DUPLICATED_ORDER_ID", "이미 승인 및 취소가 진행된 중복된 주문번호 입니다.")
        return payment_key

    async def _open_in_progress(
        self,
        mid: str,
        order_id: str,
        order_name: str,
        amount: int,
        tax_free: int,
        private: dict[str, Any],
        request: Request,
        replaceable: tuple[str, ...] = (),
    ) -> str | None:
        """Stores an ``IN_PROGRESS`` payment for ``confirm``, as Toss's window leaves one, expiring
        after ``session_minutes``; its paymentKey, or None when the orderId is taken."""
        now = self.clock.now()
        expires = now + timedelta(minutes=self.config.session_minutes)
        doc = self._payment_doc(
            mid,
            payment_key=new_payment_key(mid, now),
            order_id=order_id,
            order_name=order_name,
            amount=amount,
            tax_free=tax_free,
            kind="NORMAL",
            status="IN_PROGRESS",
            card=None,
            base_url=self._base_url(request),
            approved=False,
            extra={PRIVATE: {**private, "expiresAt": expires.timestamp()}, "method": private.get("method", "카드")},
        )
        return str(doc["paymentKey"]) if await self.store.insert(mid, doc, now, replace=replaceable) else None

    async def get_payment(self, caller: Caller, _: dict[str, Any], request: Request) -> Answer:
        stored = await self.store.by_key(caller.mid, request.path_params["payment_key"])
        if stored is None:
            raise TossApiError("NOT_FOUND_PAYMENT")
        return Answer(200, public_doc((await self._expire_if_due(stored)).doc))

    async def get_by_order(self, caller: Caller, _: dict[str, Any], request: Request) -> Answer:
        stored = await self.store.by_order(caller.mid, request.path_params["order_id"])
        if stored is None:
            raise TossApiError("NOT_FOUND_PAYMENT")
        return Answer(200, public_doc((await self._expire_if_due(stored)).doc))

    async def cancel(self, caller: Caller, body: dict[str, Any], request: Request) -> Answer:
        stored = await self.store.by_key(caller.mid, request.path_params["payment_key"])
        if stored is None:
            raise TossApiError("NOT_FOUND_PAYMENT")
        reason = body.get("cancelReason")
        if not isinstance(reason, str) or not reason.strip():
            raise TossApiError("INVALID_REQUIRED_PARAM", "필수 파라미터가 누락되었습니다. (cancelReason)")
        if len(reason) > 200:
            raise TossApiError("INVALID_REQUEST", "cancelReason은 200자 이하여야 합니다.")
        doc = stored.doc
        if doc["status"] == "CANCELED":
            raise TossApiError("ALREADY_CANCELED_PAYMENT")
        if doc["status"] not in ("DONE", "PARTIAL_CANCELED", "WAITING_FOR_DEPOSIT"):
            raise TossApiError("NOT_CANCELABLE_PAYMENT")
        balance: int = doc["balanceAmount"]
        expected = body.get("refundableAmount")
        if expected is not None and expected != balance:
            raise TossApiError("NOT_MATCHES_REFUNDABLE_AMOUNT")
        amount = body.get("cancelAmount")
        if amount is None:
            amount = balance
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= balance:
            raise TossApiError("NOT_CANCELABLE_AMOUNT")
        if doc["status"] == "WAITING_FOR_DEPOSIT" and amount != balance:
            raise TossApiError("NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT")
        rules.check_method_cancel(doc, amount, self.clock.now())
        tax_free = body.get("taxFreeAmount", 0) or 0
        if (
            isinstance(tax_free, bool)
            or not isinstance(tax_free, int)
            or not 0 <= tax_free <= min(amount, doc["taxFreeAmount"])
        ):
            raise TossApiError("INVALID_REQUEST", "taxFreeAmount는 취소 금액과 남은 면세 금액 이하여야 합니다.")
        now = self.clock.now()
        transaction_key = new_transaction_key()
        remaining = balance - amount
        remaining_tax_free = doc["taxFreeAmount"] - tax_free
        supplied, vat = split_vat(remaining, remaining_tax_free)
        entry = {
            "transactionKey": transaction_key,
            "cancelReason": reason,
            "taxExemptionAmount": 0,
            "canceledAt": format_time(now),
            "cardDiscountAmount": 0,
            "transferDiscountAmount": 0,
            "easyPayDiscountAmount": 0,
            "receiptKey": None,
            "cancelAmount": amount,
            "taxFreeAmount": tax_free,
            "refundableAmount": remaining,
            "cancelStatus": "DONE",
            "cancelRequestId": None,
        }
        doc.update(
            cancels=[*(doc.get("cancels") or []), entry],
            balanceAmount=remaining,
            taxFreeAmount=remaining_tax_free,
            suppliedAmount=supplied,
            vat=vat,
            lastTransactionKey=transaction_key,
            status="CANCELED" if remaining == 0 else "PARTIAL_CANCELED",
        )
        if not await self.store.replace(stored, doc, now):
            raise TossApiError("FORBIDDEN_CONSECUTIVE_REQUEST")
        return Answer(200, public_doc(doc))

    # -- sandbox helpers (the buyer's side of Toss's windows) -----------------------------------

    async def open_session(self, caller: Caller, body: dict[str, Any], request: Request) -> Answer:
        """An authenticated checkout session (``IN_PROGRESS``), as Toss's window leaves one for ``confirm``."""
        amount = self._amount(body)
        order_id, order_name = self._order(body)
        card, masked = self._card({**body, "cardExpirationYear": "99", "cardExpirationMonth": "12"})
        private = {
            "outcome": card.outcome.value,
            "issuerCode": card.issuer_code,
            "cardType": card.card_type,
            "maskedNumber": masked,
            "installmentPlanMonths": self._installment(body, amount),
        }
        tax_free = self._tax_free(body, amount)
        payment_key = await self._open_in_progress(caller.mid, order_id, order_name, amount, tax_free, private, request)
        if payment_key is None:
            raise TossApiError("DUPLICATED_ORDER_ID")
        return Answer(200, {"paymentKey": payment_key, "orderId": order_id, "amount": amount})

    async def ledger(self, caller: Caller, _: dict[str, Any], __: Request) -> Answer:
        return Answer(200, [public_doc(doc) for doc in await self.store.ledger(caller.mid)])
