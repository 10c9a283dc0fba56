"""The sandbox's virtual-accounts resource: ``POST /v1/virtual-accounts`` (reference toss-v1 §2.6).

The account is issued ``WAITING_FOR_DEPOSIT`` at once, as Toss issues it; the deposit is the same
``/_sandbox/virtual-accounts/{paymentKey}/deposit`` helper that pays the window's accounts, and a
cancel is the payments resource's own. Test account numbers start with ``X`` (Toss's test mode).
A fixed (고정) account, asked for with ``accountKey``, gets the same number for the same key.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request

from tollway.pg.toss.codes import TOSS_BANK_CODES
from tollway.pg.toss.wire import KST, format_time, parse_time
from tollway.sandbox import cards
from tollway.sandbox.core import Answer, Caller, SandboxCore, TossApiError, new_payment_key, new_transaction_key

ACCOUNT_MINIMUM = 200  # Toss: account payments start at 200 KRW (reference §2.1)
DEFAULT_VALID_HOURS = 168
MAX_VALID_HOURS = 2160  # 90 days
MAX_DUE = timedelta(days=90)
CASH_RECEIPT_TYPES = ("소득공제", "지출증빙", "미발행")


class VirtualAccountsApi(SandboxCore):
    async def issue_virtual_account(self, caller: Caller, body: dict[str, Any], request: Request) -> Answer:
        amount = self._amount(body)
        order_id, order_name = self._order(body)
        tax_free = self._tax_free(body, amount)
        if amount < ACCOUNT_MINIMUM:
            raise TossApiError("BELOW_MINIMUM_AMOUNT")
        customer_name = body.get("customerName")
        if not isinstance(customer_name, str) or not customer_name.strip():
            raise TossApiError("INVALID_REQUIRED_PARAM", "필수 파라미터가 누락되었습니다. (customerName)")
        if len(customer_name) > 100:
            raise TossApiError("INVALID_REQUEST", "customerName은 100자 이하여야 합니다.")
        bank = body.get("bank")
        if bank is None:
            raise TossApiError("INVALID_REQUIRED_PARAM", "필수 파라미터가 누락되었습니다. (bank)")
        if not isinstance(bank, str) or bank not in TOSS_BANK_CODES:
            raise TossApiError("INVALID_BANK")
        now = self.clock.now()
        due = self._due(body, now)
        account_key = body.get("accountKey")
        if account_key is not None and (not isinstance(account_key, str) or not 1 <= len(account_key) <= 13):
            raise TossApiError("INVALID_REQUEST", "accountKey는 13자 이하여야 합니다.")
        _check_cash_receipt(body.get("cashReceipt"))
        payment_key = new_payment_key(caller.mid, now)
        base = self._base_url(request)
        doc = self._payment_doc(
            caller.mid,
            payment_key=payment_key,
            order_id=order_id,
            order_name=order_name,
            amount=amount,
            tax_free=tax_free,
            kind="NORMAL",
            status="WAITING_FOR_DEPOSIT",
            card=None,
            base_url=base,
            approved=False,
            extra={
                "method": "가상계좌",
                "lastTransactionKey": new_transaction_key(),
                "useEscrow": bool(body.get("useEscrow")),
                "secret": "ps_" + secrets.token_urlsafe(18),
                "receipt": {"url": f"{base}/_sandbox/receipts/{payment_key}"},
                "virtualAccount": {
                    "accountType": "고정" if account_key else "일반",
                    "accountNumber": _account_number(caller.mid, account_key),
                    "bankCode": bank,
                    "customerName": customer_name,
                    "depositorName": None,
                    "dueDate": format_time(due),
                    "refundStatus": "NONE",
                    "expired": False,
                    "settlementStatus": "INCOMPLETED",
                    "refundReceiveAccount": None,
                },
            },
        )
        return await self._settle(caller, doc, cards.Outcome.APPROVE, request)

    def _due(self, body: dict[str, Any], now: datetime) -> datetime:
        """``validHours`` (default 168, at most 2160) or ``dueDate`` (at most 90 days ahead), never both."""
        hours, due_date = body.get("validHours"), body.get("dueDate")
        if hours is not None and due_date is not None:
            raise TossApiError("INVALID_VALID_HOURS_WITH_DUE_DATE_AND_SINGLE")
        if due_date is None:
            if hours is None:
                hours = DEFAULT_VALID_HOURS
            if isinstance(hours, str) and hours.isdigit():  # Toss reads "1" as 1 (its own logs show it)
                hours = int(hours)
            if isinstance(hours, bool) or not isinstance(hours, int) or hours < 1:
                raise TossApiError("INVALID_REQUEST", "validHours는 1 이상의 정수여야 합니다.")
            if hours > MAX_VALID_HOURS:
                raise TossApiError("EXCEED_MAX_VALID_HOURS")
            return now + timedelta(hours=hours)
        if not isinstance(due_date, str):
            raise TossApiError("INVALID_ISO_DATE_FORMAT")
        try:
            due = parse_time(due_date)
        except ValueError:
            raise TossApiError("INVALID_ISO_DATE_FORMAT") from None
        if due is None:
            raise TossApiError("INVALID_ISO_DATE_FORMAT")
        if due <= now:
            raise TossApiError("INVALID_DATE")
        if due > now + MAX_DUE:
            raise TossApiError("EXCEED_MAX_DUE_DATE")
        return due.astimezone(KST)


def _account_number(mid: str, account_key: str | None) -> str:
    """``X`` + 13 digits: random, or for a fixed account derived from (MID, accountKey)."""
    if account_key is None:
        return "X" + "".join(secrets.choice(string.digits) for _ in range(13))
    digest = hashlib.sha256(f"{mid}|{account_key}".encode()).hexdigest()
    return "X" + str(int(digest, 16))[-13:].rjust(13, "0")


def _check_cash_receipt(value: object) -> None:
    """``cashReceipt{type, registrationNumber}``: the receipt the deposit would issue (checked, not issued)."""
    if value is None:
        return
    if not isinstance(value, dict) or value.get("type") not in CASH_RECEIPT_TYPES:
        raise TossApiError("INVALID_CASH_RECEIPT_INFO")
    number = value.get("registrationNumber")
    if value["type"] != "미발행" and not (isinstance(number, str) and number.isdigit() and len(number) <= 30):
        raise TossApiError("INVALID_CASH_RECEIPT_INFO")
