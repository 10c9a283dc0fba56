"""Toss's cash-receipt API (``/v1/cash-receipts``): request bodies out, ``PgCashReceipt`` in. Pure.

Toss names the two purposes in Korean (``소득공제`` for a person's income deduction, ``지출증빙`` for a
business's expense proof); ``PgCashReceipt.purpose`` carries them as ``deduction`` / ``proof``.
A cancel comes back as its own record (``transactionType: CANCEL``, ``receiptKey`` = ``c_`` + the
issue's key).
"""

from __future__ import annotations

from typing import Any

from tollway.pg.base import CashReceiptRequest, PgCashReceipt
from tollway.pg.toss.wire import _int, _str, parse_time

#: PG-neutral purpose → Toss's ``type``
TOSS_TYPES = {"deduction": "소득공제", "proof": "지출증빙"}
PURPOSES = {toss: purpose for purpose, toss in TOSS_TYPES.items()}


def cash_receipt_body(request: CashReceiptRequest) -> dict[str, Any]:
    """``POST /v1/cash-receipts``. Holds the clear identifier: build it just before sending, never log it."""
    return {
        "amount": request.amount,
        "orderId": request.order_id,
        "orderName": request.order_name[:100],
        "customerIdentityNumber": request.identifier.reveal(),
        "type": TOSS_TYPES[request.purpose],
        "taxFreeAmount": request.tax_free,
    }


def cancel_cash_receipt_body(amount: int | None) -> dict[str, Any]:
    """``POST /v1/cash-receipts/{receiptKey}/cancel``: no amount cancels all of it."""
    return {} if amount is None else {"amount": amount}


def cash_receipt_from_wire(raw: Any) -> PgCashReceipt:
    """Raises ``ValueError`` when ``raw`` is not a Toss CashReceipt object."""
    if not isinstance(raw, dict) or not isinstance(raw.get("receiptKey"), str):
        raise ValueError("not a Toss CashReceipt object")
    failure = raw.get("failure")
    return PgCashReceipt(
        receipt_key=raw["receiptKey"],
        order_id=str(raw.get("orderId", "")),
        amount=_int(raw.get("amount")),
        tax_free=_int(raw.get("taxFreeAmount")),
        issue_status=str(raw.get("issueStatus") or "IN_PROGRESS"),
        transaction_type=str(raw.get("transactionType") or "CONFIRM"),
        purpose=PURPOSES.get(str(raw.get("type"))),
        issue_number=_str(raw.get("issueNumber")),
        receipt_url=_str(raw.get("receiptUrl")),
        requested_at=parse_time(raw.get("requestedAt")),
        failure_code=_str(failure.get("code")) if isinstance(failure, dict) else None,
        failure_message=_str(failure.get("message")) if isinstance(failure, dict) else None,
    )


def mask_identifier(value: str) -> str:
    """A cash-receipt identifier as it may be kept or shown: its last 4 digits, the rest starred."""
    return "*" * max(len(value) - 4, 0) + value[-4:] if len(value) > 4 else "*" * len(value)
