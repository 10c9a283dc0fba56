"""The console's payment search: filters, keyset pages (newest first) and a CSV export streamed in
batches, so that exporting 100,000 payments holds one batch in memory, not the search.

Every query is scoped to one merchant. A page is ``(started_at, id) < cursor`` on the
``(merchant_id, started_at)`` index, so page 500 costs what page 1 costs (no OFFSET, no COUNT).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select

from tollway.clock import KST
from tollway.db.engine import Reader, Sessions
from tollway.db.models import Payment
from tollway.errors import InvalidRequest
from tollway.payments.states import PaymentStatus

PAGE = 50
EXPORT_BATCH = 1000
PAY_METHODS = ("card", "trans", "vbank", "phone", "samsung", "kakaopay", "naverpay", "payco", "tosspay")
CHANNELS = ("pc", "mobile", "api")


@dataclass(frozen=True)
class PaymentFilter:
    imp_uid: str | None = None
    merchant_uid: str | None = None
    buyer_name: str | None = None
    buyer_email: str | None = None
    buyer_tel: str | None = None
    amount: int | None = None
    card_digits: str | None = None
    status: str | None = None
    pay_method: str | None = None
    channel: str | None = None
    #: None: both; True: test (sandbox) payments only; False: live only
    sandbox: bool | None = None
    since: datetime | None = None
    until: datetime | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


def parse_filter(values: dict[str, str]) -> PaymentFilter:
    """From a search form (strings; empty means no filter). Bad values are a clear 400."""

    def text(name: str, limit: int = 200) -> str | None:
        value = (values.get(name) or "").strip()
        return value[:limit] or None

    amount = text("amount")
    if amount is not None and not amount.replace(",", "").isdigit():
        raise InvalidRequest("금액은 숫자로 입력해 주세요.", detail=f"amount {amount!r} is not a whole number")
    digits = text("card_digits")
    if digits is not None and (not digits.isdigit() or len(digits) > 8):
        raise InvalidRequest("카드번호는 끝자리 숫자로 입력해 주세요.", detail="card_digits: up to 8 digits")
    status = text("status")
    if status is not None and status not in {s.value for s in PaymentStatus}:
        raise InvalidRequest("결제 상태가 올바르지 않습니다.", detail=f"status {status!r}")
    pay_method, channel, mode = text("pay_method"), text("channel"), text("mode")
    if pay_method is not None and pay_method not in PAY_METHODS:
        raise InvalidRequest("결제수단이 올바르지 않습니다.", detail=f"pay_method {pay_method!r}")
    if channel is not None and channel not in CHANNELS:
        raise InvalidRequest("채널이 올바르지 않습니다.", detail=f"channel {channel!r}")
    if mode not in (None, "live", "test"):
        raise InvalidRequest("모드가 올바르지 않습니다.", detail=f"mode {mode!r}")
    return PaymentFilter(
        imp_uid=text("imp_uid", 32),
        merchant_uid=text("merchant_uid", 40),
        buyer_name=text("buyer_name", 100),
        buyer_email=text("buyer_email"),
        buyer_tel=text("buyer_tel", 40),
        amount=int(amount.replace(",", "")) if amount is not None else None,
        card_digits=digits,
        status=status,
        pay_method=pay_method,
        channel=channel,
        sandbox=None if mode is None else mode == "test",
        since=_day(text("date_from"), "date_from"),
        until=_day(text("date_to"), "date_to", end=True),
    )


def _day(value: str | None, name: str, *, end: bool = False) -> datetime | None:
    """A KST date (``YYYY-MM-DD``) as the instant it starts, or (``end``) the last instant of it."""
    if value is None:
        return None
    try:
        start = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=KST)
    except ValueError:
        raise InvalidRequest("날짜는 YYYY-MM-DD 형식으로 입력해 주세요.", detail=f"{name} {value!r}") from None
    if end:
        return start.replace(hour=23, minute=59, second=59, microsecond=999999)
    return start


def _conditions(merchant_id: int, f: PaymentFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Payment.merchant_id == merchant_id]
    if f.imp_uid:
        where.append(Payment.imp_uid == f.imp_uid)
    if f.merchant_uid:
        where.append(Payment.merchant_uid == f.merchant_uid)
    if f.buyer_email:
        where.append(Payment.buyer_email.in_(sorted({f.buyer_email, f.buyer_email.lower()})))
    if f.buyer_name:
        where.append(func.lower(Payment.buyer_name).contains(f.buyer_name.lower(), autoescape=True))
    if f.buyer_tel:
        digits = "".join(c for c in f.buyer_tel if c.isdigit())
        where.append(func.replace(Payment.buyer_tel, "-", "").contains(digits, autoescape=True))
    if f.amount is not None:
        where.append(Payment.amount == f.amount)
    if f.card_digits:
        # Toss masks all but the first 8 and the 13th to 15th digits (43301234****123*)
        where.append(
            or_(
                Payment.card_number.endswith(f.card_digits, autoescape=True),
                Payment.card_number.endswith(f.card_digits + "*", autoescape=True),
                Payment.card_number.startswith(f.card_digits, autoescape=True),
            )
        )
    if f.status:
        where.append(Payment.status == f.status)
    if f.pay_method:
        where.append(Payment.pay_method == f.pay_method)
    if f.channel:
        where.append(Payment.channel == f.channel)
    if f.sandbox is not None:
        where.append(Payment.sandbox.is_(f.sandbox))
    if f.since is not None:
        where.append(Payment.started_at >= f.since)
    if f.until is not None:
        where.append(Payment.started_at <= f.until)
    return where


@dataclass(frozen=True)
class Cursor:
    started_at: datetime
    id: int

    def encode(self) -> str:
        return f"{int(self.started_at.timestamp() * 1_000_000)}.{self.id}"

    @staticmethod
    def decode(value: str | None) -> Cursor | None:
        if not value:
            return None
        micros, _, ident = value.partition(".")
        if not micros.isdigit() or not ident.isdigit() or len(value) > 40:
            raise InvalidRequest("잘못된 페이지입니다.", detail=f"bad cursor {value!r}")
        return Cursor(datetime.fromtimestamp(int(micros) / 1_000_000, KST), int(ident))


def _page_query(merchant_id: int, f: PaymentFilter, after: Cursor | None, limit: int) -> Select[Any]:
    query = select(Payment.__table__).where(*_conditions(merchant_id, f))
    if after is not None:
        # (started_at, id) < cursor, written so the column's type binds the time on every engine
        # (a row-value comparison would hand SQLite an untyped datetime) and the index serves the range
        query = query.where(
            Payment.started_at <= after.started_at,
            or_(Payment.started_at < after.started_at, Payment.id < after.id),
        )
    return query.order_by(Payment.started_at.desc(), Payment.id.desc()).limit(limit)


@dataclass(frozen=True)
class SearchPage:
    rows: list[Any]
    next: Cursor | None


async def search(
    reader: Reader, merchant_id: int, f: PaymentFilter, after: Cursor | None, limit: int = PAGE
) -> SearchPage:
    rows = list(await reader.execute(_page_query(merchant_id, f, after, limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return SearchPage(rows, Cursor(rows[-1].started_at, rows[-1].id) if more and rows else None)


CSV_COLUMNS = (
    "imp_uid",
    "merchant_uid",
    "status",
    "pay_method",
    "channel",
    "pg_provider",
    "pg_tid",
    "sandbox",
    "name",
    "amount",
    "cancel_amount",
    "currency",
    "buyer_name",
    "buyer_email",
    "buyer_tel",
    "card_name",
    "card_number",
    "card_quota",
    "apply_num",
    "vbank_name",
    "vbank_num",
    "started_at",
    "paid_at",
    "failed_at",
    "cancelled_at",
    "fail_reason",
    "customer_uid",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(KST).isoformat(timespec="seconds")
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # a buyer's name is the buyer's to choose: never let a spreadsheet run it as a formula
    return "'" + text if text.startswith(_FORMULA) else text


def csv_lines(rows: Sequence[Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([_cell(getattr(row, c)) for c in CSV_COLUMNS])
    return out.getvalue()


async def export_csv(
    sessions: Sessions, merchant_id: int, f: PaymentFilter, batch: int = EXPORT_BATCH
) -> AsyncIterator[str]:
    """The search as CSV, a batch of rows at a time, each batch read on its own short connection
    (no transaction stays open while the client downloads)."""
    yield "\ufeff" + ",".join(CSV_COLUMNS) + "\r\n"  # the BOM makes spreadsheets read UTF-8 Korean
    after: Cursor | None = None
    while True:
        async with sessions.statements() as conn:
            found = await search(conn, merchant_id, f, after, batch)
        if found.rows:
            yield csv_lines(found.rows)
        if found.next is None:
            return
        after = found.next
