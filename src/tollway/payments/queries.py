"""Reading the ledger. Every query is scoped to one merchant: another merchant's payment does not exist."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tollway import v1texts
from tollway.db.driver import Driver, Statement
from tollway.db.engine import Reader
from tollway.db.models import Payment, PaymentCancel, PgChannel
from tollway.errors import InvalidRequest, NotFound
from tollway.payments.states import PaymentStatus
from tollway.payments.v1 import CancelData, PagedPaymentsV1, PaymentData, PaymentV1, paged, payment_to_v1

NOT_FOUND = "존재하지 않는 결제정보입니다."
#: An unknown status segment (``/payments/status/x``, ``find``/``findAll`` with a status)
UNKNOWN_STATUS = "지원되지 않는 상태값입니다."
SORTINGS = ("-started", "started", "-paid", "paid", "-updated", "updated")
STATUS_FILTERS = ("all", *(s.value for s in PaymentStatus))
MAX_LIMIT = 1000
MAX_MULTI = 100
MAX_WINDOW = timedelta(days=90)

_SORT_COLUMNS = {"started": Payment.started_at, "paid": Payment.paid_at, "updated": Payment.updated_at}
#: The time each status is searched by in ``/payments/status/{status}`` (reference §3.1).
_TIME_COLUMNS = {
    "all": Payment.started_at,
    "ready": Payment.started_at,
    "paid": Payment.paid_at,
    "cancelled": Payment.cancelled_at,
    "failed": Payment.failed_at,
}


def parse_status(value: str | None, *, allow_all: bool = False) -> str | None:
    """``None``/empty means no filter. Unknown names are a 400 that lists the known ones."""
    if value is None or value == "":
        return None
    allowed = STATUS_FILTERS if allow_all else tuple(s.value for s in PaymentStatus)
    if value not in allowed:
        raise InvalidRequest(UNKNOWN_STATUS, detail=f"{value[:20]!r} is none of {', '.join(allowed)}")
    return None if value == "all" else value


def parse_sorting(value: str | None) -> str:
    if value is None or value == "":
        return "-started"
    if value not in SORTINGS:
        raise v1texts.invalid("sorting", f"{value[:20]!r} is none of {', '.join(SORTINGS)}")
    return value


def _order(sorting: str) -> tuple[ColumnElement[Any], ...]:
    column = _SORT_COLUMNS[sorting.lstrip("-")]
    if sorting.startswith("-"):
        return (column.desc(), Payment.id.desc())
    return (column.asc(), Payment.id.asc())


@dataclass(frozen=True)
class Page:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def parse_page(page: int | None, limit: int | None) -> Page:
    page = 1 if page is None else page
    limit = 20 if limit is None else limit
    if page < 1:
        raise v1texts.invalid("page", "1 or more", v1texts.OUT_OF_RANGE)
    if not 1 <= limit <= MAX_LIMIT:
        raise v1texts.invalid("limit", f"between 1 and {MAX_LIMIT}", v1texts.OUT_OF_RANGE)
    return Page(page, limit)


async def load_cancels(reader: Reader, payments: Sequence[PaymentData]) -> dict[int, list[CancelData]]:
    """Cancel history for the payments that have any, in one query (none when nothing was cancelled).
    Core rows: the V1 object needs no entities, and a ``Sessions.statements()`` connection has none."""
    ids = [p.id for p in payments if p.cancel_amount > 0]
    found: dict[int, list[CancelData]] = defaultdict(list)
    if ids:
        rows = await reader.execute(
            select(PaymentCancel.__table__).where(PaymentCancel.payment_id.in_(ids)).order_by(PaymentCancel.id)
        )
        for row in rows:
            found[row.payment_id].append(row)
    return found


async def to_v1_list(reader: Reader, payments: Sequence[PaymentData]) -> list[PaymentV1]:
    cancels = await load_cancels(reader, payments)
    return [payment_to_v1(p, cancels.get(p.id, ())) for p in payments]


async def get_payment(session: AsyncSession, merchant_id: int, imp_uid: str) -> Payment:
    payment = await session.scalar(
        select(Payment).where(Payment.imp_uid == imp_uid, Payment.merchant_id == merchant_id)
    )
    if payment is None:
        raise NotFound(NOT_FOUND)
    return payment


async def merchant_has_live_channel(reader: Reader, merchant_id: int) -> bool:
    found = await reader.scalar(
        select(PgChannel.id).where(PgChannel.merchant_id == merchant_id, PgChannel.sandbox.is_(False)).limit(1)
    )
    return found is not None


_PAYMENTS = Payment.__table__
_BY_IMP_UID = Statement(
    select(_PAYMENTS).where(
        _PAYMENTS.c.imp_uid == bindparam("imp_uid"), _PAYMENTS.c.merchant_id == bindparam("merchant")
    )
)
_LIVE_CHANNEL = Statement(
    select(PgChannel.id).where(PgChannel.merchant_id == bindparam("merchant"), PgChannel.sandbox.is_(False)).limit(1)
)
_CANCELS_OF = Statement(
    select(PaymentCancel.__table__).where(PaymentCancel.payment_id == bindparam("payment")).order_by(PaymentCancel.id)
)


async def lookup_one(db: Driver, merchant_id: int, imp_uid: str, *, include_sandbox: bool) -> PaymentV1:
    """``GET /payments/{imp_uid}``.

    ``include_sandbox=false`` hides test-channel payments only for merchants that have a live
    channel: for a merchant with only sandbox channels (the demo, an integration in progress) every
    payment is a test payment, and hiding them all would break every client that sends the V1
    default (the Java client always sends ``include_sandbox=false``).
    """
    # The hottest read: one prepared statement on the driver's connection, a plain row out.
    async with db.connection() as conn:
        payment = await conn.first(_BY_IMP_UID, imp_uid=imp_uid, merchant=merchant_id)
        if payment is None:
            raise NotFound(NOT_FOUND)
        if payment.sandbox and not include_sandbox and await conn.first(_LIVE_CHANNEL, merchant=merchant_id):
            raise NotFound(NOT_FOUND)
        cancels = await conn.all(_CANCELS_OF, payment=payment.id) if payment.cancel_amount > 0 else []
    return payment_to_v1(payment, cancels)


@dataclass(frozen=True)
class MultiResult:
    found: list[PaymentV1]
    missing: list[str]


async def lookup_many(
    session: AsyncSession, merchant_id: int, imp_uids: Sequence[str], merchant_uids: Sequence[str]
) -> MultiResult:
    """``GET /payments``: by imp_uid, and by merchant_uid (its latest payment), at most 100 in all."""
    if not imp_uids and not merchant_uids:
        raise InvalidRequest(
            "imp_uid[] 또는 merchant_uid[] 중 하나 이상을 보내주세요.", detail="give imp_uid[] and/or merchant_uid[]"
        )
    if len(imp_uids) + len(merchant_uids) > MAX_MULTI:
        raise InvalidRequest(
            f"한 번에 최대 {MAX_MULTI}건까지 조회할 수 있습니다.", detail=f"at most {MAX_MULTI} ids per call"
        )
    payments: list[Payment] = []
    missing: list[str] = []
    if imp_uids:
        rows = await session.scalars(
            select(Payment).where(Payment.merchant_id == merchant_id, Payment.imp_uid.in_(set(imp_uids)))
        )
        by_uid = {p.imp_uid: p for p in rows}
        for uid in dict.fromkeys(imp_uids):
            (payments.append(by_uid[uid]) if uid in by_uid else missing.append(uid))
    for merchant_uid in dict.fromkeys(merchant_uids):
        latest = await session.scalar(
            _scoped(merchant_id).where(Payment.merchant_uid == merchant_uid).order_by(*_order("-started")).limit(1)
        )
        (payments.append(latest) if latest is not None else missing.append(merchant_uid))
    return MultiResult(await to_v1_list(session, payments), missing)


def _scoped(merchant_id: int) -> Select[Payment]:
    return select(Payment).where(Payment.merchant_id == merchant_id)


async def find_one(
    session: AsyncSession, merchant_id: int, merchant_uid: str, status: str | None, sorting: str
) -> PaymentV1:
    """``GET /payments/find/{merchant_uid}[/{status}]``: the first payment by ``sorting``."""
    query = _scoped(merchant_id).where(Payment.merchant_uid == merchant_uid)
    if status is not None:
        query = query.where(Payment.status == status)
    payment = await session.scalar(query.order_by(*_order(sorting)).limit(1))
    if payment is None:
        raise NotFound(NOT_FOUND)
    return (await to_v1_list(session, [payment]))[0]


async def _page_of(
    session: AsyncSession, query: Select[Payment], page: Page, sorting: str
) -> tuple[int, list[Payment]]:
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    v1texts.check_page(page.page, page.limit, total)
    rows = await session.scalars(query.order_by(*_order(sorting)).offset(page.offset).limit(page.limit))
    return total, list(rows)


async def find_all(
    session: AsyncSession, merchant_id: int, merchant_uid: str, status: str | None, page: Page, sorting: str
) -> PagedPaymentsV1:
    """``GET /payments/findAll/{merchant_uid}[/{status}]``, paged; 404 when none."""
    query = _scoped(merchant_id).where(Payment.merchant_uid == merchant_uid)
    if status is not None:
        query = query.where(Payment.status == status)
    total, rows = await _page_of(session, query, page, sorting)
    if total == 0:
        raise NotFound(NOT_FOUND)
    return paged(total, page.page, page.limit, await to_v1_list(session, rows))


async def by_status(
    session: AsyncSession,
    merchant_id: int,
    status: str | None,
    page: Page,
    sorting: str,
    *,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
) -> PagedPaymentsV1:
    """``GET /payments/status/{status}``: a time window of at most 90 days, on the status's own time."""
    until = until or now
    since = since or until - MAX_WINDOW
    if since > until:
        raise v1texts.invalid("from", "must not be later than to")
    if until - since > MAX_WINDOW:
        raise InvalidRequest("from ~ to 구간은 최대 90일입니다.", detail="the from..to window is at most 90 days")
    column = _TIME_COLUMNS[status or "all"]
    query = _scoped(merchant_id).where(column >= since, column <= until)
    if status is not None:
        query = query.where(Payment.status == status)
    total, rows = await _page_of(session, query, page, sorting)
    return paged(total, page.page, page.limit, await to_v1_list(session, rows))


def balance_to_v1(payment: Payment, cancels: Sequence[CancelData]) -> dict[str, Any]:
    """``GET /payments/{imp_uid}/balance``: V1 defines it for PAYCO; for a card payment the whole
    amount is the primary means, split into tax-free, supply and VAT (10%), net of refunds."""

    def split(amount: int, tax_free: int) -> dict[str, int]:
        taxable = amount - tax_free
        vat = round(taxable / 11)
        return {"tax_free": tax_free, "supply": taxable - vat, "vat": vat, "service": 0}

    zero = {"tax_free": 0, "supply": 0, "vat": 0, "service": 0}
    net = payment.amount - payment.cancel_amount
    net_tax_free = payment.tax_free - sum(c.tax_free for c in cancels)
    histories = [
        {
            "cash_receipt": zero,
            "primary": split(payment.amount, payment.tax_free),
            "secondary": zero,
            "discount": zero,
            "created": int(payment.paid_at.timestamp()) if payment.paid_at else 0,
        }
    ]
    for c in cancels:
        histories.append(
            {
                "cash_receipt": zero,
                "primary": {k: -v for k, v in split(c.amount, c.tax_free).items()},
                "secondary": zero,
                "discount": zero,
                "created": int(c.cancelled_at.timestamp()),
            }
        )
    return {
        "amount": net,
        "cash_receipt": zero,
        "primary": split(net, net_tax_free),
        "secondary": zero,
        "discount": zero,
        "histories": histories if payment.paid_at else [],
    }
