"""The sandbox's cash-receipts resource (reference toss-v1 §2.8): issue, cancel (all or part), and
the by-day listing.

As at Toss, a receipt is ``IN_PROGRESS`` when it is requested and the tax office's verdict comes
later: the sandbox shows ``COMPLETED`` once a day has passed on its clock. A cancel is a record of
its own (``transactionType: CANCEL``, ``receiptKey`` = ``c_`` + the issue's key, numbered after
the first). The identifier is kept masked only. Sandbox test value: an identifier of only zeros is
refused by the "tax office" (``INVALID_CASH_RECEIPT_INFO``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from fastapi import Request
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from tollway.db.models import SandboxCashReceipt
from tollway.pg.toss.receipts import mask_identifier
from tollway.pg.toss.wire import KST, format_time, parse_time
from tollway.sandbox.core import PRIVATE, Answer, Caller, SandboxCore, TossApiError, new_payment_key, public_doc

TYPES = ("소득공제", "지출증빙")
SETTLES_AFTER = timedelta(days=1)
MAX_LIMIT = 10_000


@dataclass
class _Stored:
    version: int
    doc: dict[str, Any]


class CashReceiptsApi(SandboxCore):
    async def issue_cash_receipt(self, caller: Caller, body: dict[str, Any], request: Request) -> Answer:
        amount = self._amount(body)
        order_id, order_name = self._order(body)
        tax_free = self._tax_free(body, amount)
        identifier = body.get("customerIdentityNumber")
        if identifier is None:
            raise TossApiError("INVALID_REQUIRED_PARAM", "필수 파라미터가 누락되었습니다. (customerIdentityNumber)")
        if not isinstance(identifier, str) or not identifier.isdigit() or len(identifier) > 30:
            raise TossApiError("INVALID_CASH_RECEIPT_INFO")
        kind = body.get("type")
        if kind is None:
            raise TossApiError("INVALID_REQUIRED_PARAM", "필수 파라미터가 누락되었습니다. (type)")
        if kind not in TYPES:
            raise TossApiError("INVALID_CASH_RECEIPT_INFO")
        if set(identifier) == {"0"}:
            raise TossApiError("INVALID_CASH_RECEIPT_INFO")
        now = self.clock.now()
        receipt_key = new_payment_key(caller.mid, now)
        doc = {
            "receiptKey": receipt_key,
            "issueNumber": f"{secrets.randbelow(10**9):09d}",
            "issueStatus": "IN_PROGRESS",
            "amount": amount,
            "taxFreeAmount": tax_free,
            "orderId": order_id,
            "orderName": order_name,
            "type": kind,
            "transactionType": "CONFIRM",
            "businessNumber": _business_number(caller.mid),
            "customerIdentityNumber": mask_identifier(identifier),
            "failure": None,
            "requestedAt": format_time(now),
            "receiptUrl": f"{self._base_url(request)}/_sandbox/cash-receipts/{receipt_key}",
            PRIVATE: {"cancels": [], "balance": amount},
        }
        try:
            async with self.store.sessions.transaction() as conn:
                await conn.execute(
                    insert(SandboxCashReceipt).values(
                        receipt_key=receipt_key,
                        mid=caller.mid,
                        order_id=order_id,
                        version=0,
                        doc=orjson.dumps(doc).decode(),
                        created_at=now,
                    )
                )
        except IntegrityError:
            raise TossApiError("DUPLICATED_CASH_RECEIPT") from None
        return Answer(200, _view(doc, now))

    async def cancel_cash_receipt(self, caller: Caller, body: dict[str, Any], request: Request) -> Answer:
        stored = await self._receipt(caller.mid, request.path_params["receipt_key"])
        if stored is None:
            raise TossApiError("NOT_FOUND")
        doc = stored.doc
        private = doc[PRIVATE]
        balance: int = private["balance"]
        amount = body.get("amount")
        if amount is None:
            amount = balance
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= balance:
            raise TossApiError("NOT_CANCELABLE_AMOUNT")
        now = self.clock.now()
        number = len(private["cancels"])
        cancel = {
            **{k: v for k, v in doc.items() if k != PRIVATE},
            "receiptKey": f"c_{doc['receiptKey']}" + (f"_{number}" if number else ""),
            "issueNumber": f"{secrets.randbelow(10**9):09d}",
            "issueStatus": "IN_PROGRESS",
            "amount": amount,
            "taxFreeAmount": min(doc["taxFreeAmount"], amount),
            "transactionType": "CANCEL",
            "requestedAt": format_time(now),
        }
        private["cancels"].append(cancel)
        private["balance"] = balance - amount
        async with self.store.sessions.statements() as conn:
            result = await conn.execute(
                update(SandboxCashReceipt)
                .where(
                    SandboxCashReceipt.receipt_key == doc["receiptKey"],
                    SandboxCashReceipt.version == stored.version,
                )
                .values(doc=orjson.dumps(doc).decode(), version=stored.version + 1)
            )
        if not result.rowcount:
            raise TossApiError("FORBIDDEN_CONSECUTIVE_REQUEST")
        return Answer(200, _view(cancel, now))

    async def list_cash_receipts(self, caller: Caller, _: dict[str, Any], request: Request) -> Answer:
        """``GET /v1/cash-receipts?requestDate=yyyy-MM-dd[&cursor][&limit]``: the issues and cancels
        requested that day (KST), ``cursor`` being the position after the last one seen."""
        query = request.query_params
        day_text = query.get("requestDate")
        if not day_text:
            raise TossApiError("INVALID_REQUIRED_PARAM", "필수 파라미터가 누락되었습니다. (requestDate)")
        try:
            day = datetime.strptime(day_text, "%Y-%m-%d").replace(tzinfo=KST)
        except ValueError:
            raise TossApiError("INVALID_DATE") from None
        cursor, limit = _whole(query.get("cursor"), 0), _whole(query.get("limit"), 100)
        if not 1 <= limit <= MAX_LIMIT:
            raise TossApiError("INVALID_REQUEST", f"limit은 1 이상 {MAX_LIMIT} 이하여야 합니다.")
        async with self.store.sessions.statements() as conn:
            rows = await conn.execute(
                select(SandboxCashReceipt.doc)
                .where(SandboxCashReceipt.mid == caller.mid, SandboxCashReceipt.created_at < day + timedelta(days=1))
                .order_by(SandboxCashReceipt.created_at)
            )
            docs = [orjson.loads(row.doc) for row in rows]
        now = self.clock.now()
        records = [record for doc in docs for record in (doc, *doc[PRIVATE]["cancels"])]
        same_day = [r for r in records if _requested_on(r) == day.date()]
        same_day.sort(key=lambda r: (r["requestedAt"], r["receiptKey"]))  # a stable order for the cursor
        page = same_day[cursor : cursor + limit]
        return Answer(
            200,
            {
                "hasNext": cursor + limit < len(same_day),
                "lastCursor": cursor + len(page),
                "data": [_view(r, now) for r in page],
            },
        )

    async def _receipt(self, mid: str, receipt_key: str) -> _Stored | None:
        async with self.store.sessions.statements() as conn:
            row = (
                await conn.execute(
                    select(SandboxCashReceipt.version, SandboxCashReceipt.doc).where(
                        SandboxCashReceipt.receipt_key == receipt_key, SandboxCashReceipt.mid == mid
                    )
                )
            ).one_or_none()
        return _Stored(row.version, orjson.loads(row.doc)) if row is not None else None


def _view(record: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The record as Toss shows it now: the tax office answers a day after the request."""
    view = public_doc(record)
    requested = parse_time(view["requestedAt"])
    if view["issueStatus"] == "IN_PROGRESS" and requested is not None and now - requested >= SETTLES_AFTER:
        view["issueStatus"] = "COMPLETED"
    return view


def _requested_on(record: dict[str, Any]) -> Any:
    requested = parse_time(record["requestedAt"])
    return requested.astimezone(KST).date() if requested else None


def _whole(value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise TossApiError("INVALID_REQUEST", "cursor와 limit은 0 이상의 정수여야 합니다.")
    return int(value)


def _business_number(mid: str) -> str:
    """A stable, made-up 10-digit business registration number for a sandbox MID."""
    return str(int.from_bytes(mid.encode()[:8].ljust(8, b"0"), "big"))[-10:].rjust(10, "0")
