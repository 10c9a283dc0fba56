"""Cash receipts (현금영수증), issued and cancelled at the channel's PG: for a paid transfer or virtual
account (``/receipts/{imp_uid}``), or stand-alone for cash taken outside Tollway
(``/receipts/external/{merchant_uid}``).

Every PG call is committed first (the receipt ``issuing`` or ``cancelling``) and sent with an
Idempotency-Key derived from the receipt's own id. A call that got no answer leaves the receipt in
that state, and the merchant's retry of the same request repeats the call with the same key, so
the PG replays its first answer instead of issuing twice. The buyer's identifier (phone, resident
or business registration, cash-receipt card number) is never stored, only a masked form: the retry
carries it again.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from typing_extensions import TypedDict

from tollway.clock import to_unix
from tollway.db.models import CashReceipt, Payment, PgChannel
from tollway.errors import BusinessError, InvalidRequest, NotFound
from tollway.merchants.service import list_channels
from tollway.payments.queries import get_payment
from tollway.payments.states import PaymentStatus
from tollway.payments.vbanks import pick_channel
from tollway.pg.base import CashReceiptRequest, PgCashReceipt, PgError, PgUnknown
from tollway.pg.toss.receipts import mask_identifier
from tollway.services import Services
from tollway.vault import Secret

ISSUING, ISSUED, FAILED, CANCELLING, CANCELLED = "issuing", "issued", "failed", "cancelling", "cancelled"
#: V1 ``type`` → the PG-neutral purpose (소득공제 for a person, 지출증빙 for a business)
PURPOSES = {"person": "deduction", "company": "proof"}
#: V1 ``identifier_type`` → the lengths its digits may have
IDENTIFIER_LENGTHS = {"person": (13,), "business": (10,), "phone": (10, 11), "taxcard": tuple(range(13, 20))}
CASH_METHODS = ("trans", "vbank")

NO_RECEIPT = "현금영수증 발급내역이 존재하지 않습니다."
NOT_CASH = "현금영수증은 계좌이체, 가상계좌 결제건에만 발급할 수 있습니다."
NOT_PAID = "결제완료(paid) 상태인 결제건에만 현금영수증을 발급할 수 있습니다."
ALREADY_ISSUED = "이미 현금영수증이 발급되었습니다."
ALREADY_CANCELLED = "이미 발급취소된 현금영수증입니다."
BUSY = "현금영수증에 대한 다른 요청이 처리 중입니다. 잠시 후 다시 시도해주세요."
ISSUE_FAILED = "현금영수증 발행에 실패하였습니다. {reason}"
CANCEL_FAILED = "현금영수증 발행취소에 실패하였습니다. {reason}"
UNKNOWN_OUTCOME = "PG사의 현금영수증 처리 결과를 확인하지 못했습니다. 같은 요청을 다시 보내주시면 결과를 확인합니다."


class ReceiptFieldsV1(TypedDict):
    receipt_tid: str | None
    apply_num: str | None
    type: str
    amount: int
    vat: int
    receipt_url: str | None
    applied_at: int
    cancelled_at: int


class ReceiptV1(ReceiptFieldsV1):
    """V1's ``Receipt`` (``ReceiptAnnotation``)."""

    imp_uid: str


class ExternalReceiptV1(ReceiptFieldsV1):
    """V1's ``ExternalReceipt``: ``merchant_uid`` in place of ``imp_uid``."""

    merchant_uid: str


@dataclass(frozen=True, repr=False)
class ReceiptOrder:
    """What a receipt request carries. ``name``, ``amount``, ``pg`` and ``channel_key`` are for a
    stand-alone receipt (a payment's receipt takes them from the payment)."""

    identifier: Secret
    identifier_type: str | None = None
    type: str = "person"
    tax_free: int | None = None
    buyer_name: str | None = None
    buyer_email: str | None = None
    buyer_tel: str | None = None
    name: str | None = None
    amount: int | None = None
    pg: str | None = None
    channel_key: str | None = None

    def __repr__(self) -> str:
        return f"ReceiptOrder(type={self.type!r}, identifier=***)"


def parse_identifier(raw: str, identifier_type: str | None) -> Secret:
    """The identifier as digits (dashes and spaces dropped), checked against ``identifier_type``.
    Errors never repeat it."""
    if identifier_type is not None and identifier_type not in IDENTIFIER_LENGTHS:
        raise InvalidRequest(
            "identifier_type 파라메터가 올바르지 않습니다.",
            detail="identifier_type: person, business, phone or taxcard",
        )
    digits = raw.replace("-", "").replace(" ", "")
    valid = digits.isdigit() and 1 <= len(digits) <= 30
    if valid and identifier_type is not None:
        valid = len(digits) in IDENTIFIER_LENGTHS[identifier_type]
        valid = valid and (identifier_type != "phone" or digits.startswith("01"))
    if not valid:
        raise InvalidRequest(
            "identifier 파라메터가 올바르지 않습니다.",
            detail="identifier: digits of a phone, resident or business registration, or cash-receipt card number"
            + (f" ({identifier_type})" if identifier_type else ""),
        )
    return Secret(digits)


def check_type(value: str | None) -> str:
    if value in (None, ""):
        return "person"
    if value not in PURPOSES:
        raise InvalidRequest(
            "type 파라메터가 올바르지 않습니다.", detail="type: person (소득공제) or company (지출증빙)"
        )
    return value


def receipt_to_v1(row: CashReceipt, imp_uid: str) -> ReceiptV1:
    return {"imp_uid": imp_uid, **_fields(row)}


def external_to_v1(row: CashReceipt) -> ExternalReceiptV1:
    return {"merchant_uid": row.merchant_uid, **_fields(row)}


def _fields(row: CashReceipt) -> ReceiptFieldsV1:
    return {
        "receipt_tid": row.receipt_key,
        "apply_num": row.apply_num,
        "type": row.type,
        "amount": row.amount,
        "vat": row.vat,
        "receipt_url": row.receipt_url,
        "applied_at": to_unix(row.applied_at),
        "cancelled_at": to_unix(row.cancelled_at),
    }


def _vat(amount: int, tax_free: int) -> int:
    """The VAT in ``amount``: a 1/11 of the taxable part, rounded half up, as Toss computes it."""
    return (2 * (amount - tax_free) + 11) // 22  # taxable / 11, half up, in integers


def _new_receipt_uid() -> str:
    alphabet = string.ascii_letters + string.digits
    return "rct_" + "".join(secrets.choice(alphabet) for _ in range(20))


@dataclass(frozen=True)
class _Target:
    """What a receipt is for: a payment (``payment_id``) or a stand-alone merchant_uid."""

    kind: str
    merchant_uid: str
    live_key: str
    payment_id: int | None = None


# -- a payment's receipt ----------------------------------------------------------------------


async def _paid_cash_payment(services: Services, merchant_id: int, imp_uid: str) -> Payment:
    async with services.sessions() as session:
        payment = await get_payment(session, merchant_id, imp_uid)
    if payment.pay_method not in CASH_METHODS:
        raise InvalidRequest(NOT_CASH, detail=f"payment {imp_uid} is {payment.pay_method}")
    if payment.status != PaymentStatus.PAID:
        raise InvalidRequest(NOT_PAID, detail=f"payment {imp_uid} is {payment.status}")
    return payment


async def issue_for_payment(services: Services, merchant_id: int, imp_uid: str, order: ReceiptOrder) -> ReceiptV1:
    """``POST /receipts/{imp_uid}``: for what is left of the payment (a partly cancelled one's balance)."""
    payment = await _paid_cash_payment(services, merchant_id, imp_uid)
    amount = payment.amount - payment.cancel_amount
    target = _Target("payment", payment.merchant_uid, f"p:{payment.id}", payment.id)
    async with services.sessions() as session:
        channel = await session.get(PgChannel, payment.channel_id) if payment.channel_id else None
    if channel is None:  # pragma: no cover - every paid payment has its channel
        raise BusinessError(ISSUE_FAILED.format(reason="no PG channel"))
    row = await _issue(services, merchant_id, channel, target, payment.name or payment.merchant_uid, amount, order)
    return receipt_to_v1(row, imp_uid)


async def get_for_payment(services: Services, merchant_id: int, imp_uid: str) -> ReceiptV1:
    row = await _shown(
        services, merchant_id, CashReceipt.payment_id == await _payment_id(services, merchant_id, imp_uid)
    )
    if row is None:
        raise NotFound(NO_RECEIPT)
    return receipt_to_v1(row, imp_uid)


async def cancel_for_payment(services: Services, merchant_id: int, imp_uid: str) -> ReceiptV1:
    row = await _shown(
        services, merchant_id, CashReceipt.payment_id == await _payment_id(services, merchant_id, imp_uid)
    )
    if row is None:  # V1 answers 400 for a payment whose receipt was never issued
        raise InvalidRequest(NO_RECEIPT, detail=f"no cash receipt was issued for {imp_uid}")
    return receipt_to_v1(await _cancel(services, row), imp_uid)


async def _payment_id(services: Services, merchant_id: int, imp_uid: str) -> int:
    async with services.sessions() as session:
        return (await get_payment(session, merchant_id, imp_uid)).id


# -- a stand-alone receipt --------------------------------------------------------------------


async def issue_external(
    services: Services, merchant_id: int, merchant_uid: str, order: ReceiptOrder
) -> ExternalReceiptV1:
    """``POST /receipts/external/{merchant_uid}``: cash the merchant took outside Tollway."""
    if order.amount is None or order.amount <= 0:
        raise InvalidRequest("amount 파라메터가 누락되었습니다.", detail="amount: a positive integer KRW")
    if not order.name:
        raise InvalidRequest("name 파라메터가 누락되었습니다.", detail="name: the receipt's order name")
    async with services.sessions() as session:
        channel = pick_channel(await list_channels(session, merchant_id), order.pg, order.channel_key)
    target = _Target("external", merchant_uid, f"x:{merchant_uid}")
    row = await _issue(services, merchant_id, channel, target, order.name, order.amount, order)
    return external_to_v1(row)


async def get_external(services: Services, merchant_id: int, merchant_uid: str) -> ExternalReceiptV1:
    row = await _shown(services, merchant_id, *_external(merchant_uid))
    if row is None:
        raise NotFound(NO_RECEIPT)
    return external_to_v1(row)


async def cancel_external(services: Services, merchant_id: int, merchant_uid: str) -> ExternalReceiptV1:
    row = await _shown(services, merchant_id, *_external(merchant_uid))
    if row is None:
        raise NotFound(NO_RECEIPT)
    return external_to_v1(await _cancel(services, row))


def _external(merchant_uid: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (CashReceipt.kind == "external", CashReceipt.merchant_uid == merchant_uid)


async def _shown(services: Services, merchant_id: int, *where: ColumnElement[bool]) -> CashReceipt | None:
    """The target's newest receipt that was issued (and may since be cancelling or cancelled): one
    that failed, or whose issue is still waiting for the PG's answer, is not shown."""
    async with services.sessions() as session:
        row = await session.scalar(
            select(CashReceipt)
            .where(CashReceipt.merchant_id == merchant_id, CashReceipt.state != FAILED, *where)
            .order_by(CashReceipt.id.desc())
            .limit(1)
        )
    return row if row is not None and row.state != ISSUING else None


# -- the PG calls -----------------------------------------------------------------------------


async def _issue(
    services: Services,
    merchant_id: int,
    channel: PgChannel,
    target: _Target,
    name: str,
    amount: int,
    order: ReceiptOrder,
) -> CashReceipt:
    """Opens the receipt (or finds the one whose call got no answer) and issues it at the PG."""
    tax_free = order.tax_free or 0
    if tax_free > amount:
        raise InvalidRequest("tax_free 파라메터가 올바르지 않습니다.", detail=f"tax_free cannot exceed {amount}")
    receipt = await _open(services, merchant_id, channel, target, name, amount, tax_free, order)
    request = CashReceiptRequest(
        order_id=receipt.receipt_uid,
        order_name=(receipt.name or receipt.merchant_uid)[:100],
        amount=receipt.amount,
        identifier=order.identifier,
        purpose=PURPOSES[receipt.type],
        tax_free=receipt.tax_free,
    )
    connector = await services.pg.for_channel(channel)
    try:
        issued = await connector.issue_cash_receipt(request, idempotency_key=f"tollway-{receipt.receipt_uid}-issue")
    except PgUnknown:
        raise BusinessError(UNKNOWN_OUTCOME, code=-1, detail="send the same request again") from None
    except PgError as exc:
        reason = f"[{exc.code}] {exc.message}"
        await _finish(services, receipt.id, ISSUING, state=FAILED, live_key=None, fail_reason=reason[:500])
        raise BusinessError(ISSUE_FAILED.format(reason=reason), code=-1) from None
    return await _record_issue(services, receipt, issued)


async def _open(
    services: Services,
    merchant_id: int,
    channel: PgChannel,
    target: _Target,
    name: str,
    amount: int,
    tax_free: int,
    order: ReceiptOrder,
) -> CashReceipt:
    """The target's live receipt: a new one, committed ``issuing`` before the PG is called, or the
    one a previous call left ``issuing`` (its retry). One issued already is a 400, as in V1."""
    now = services.clock.now()
    async with services.sessions() as session:
        live = await session.scalar(
            select(CashReceipt).where(CashReceipt.merchant_id == merchant_id, CashReceipt.live_key == target.live_key)
        )
        if live is None:
            live = CashReceipt(
                receipt_uid=_new_receipt_uid(),
                merchant_id=merchant_id,
                kind=target.kind,
                payment_id=target.payment_id,
                merchant_uid=target.merchant_uid,
                live_key=target.live_key,
                channel_id=channel.id,
                pg_provider=channel.pg_provider,
                state=ISSUING,
                type=order.type,
                identifier_type=order.identifier_type,
                identifier_masked=mask_identifier(order.identifier.reveal()),
                name=name[:200],
                amount=amount,
                tax_free=tax_free,
                vat=_vat(amount, tax_free),
                buyer_name=order.buyer_name,
                buyer_email=order.buyer_email,
                buyer_tel=order.buyer_tel,
                created_at=now,
                updated_at=now,
            )
            session.add(live)
            try:
                await session.commit()
            except IntegrityError:  # a concurrent request opened it first
                raise BusinessError(BUSY, detail="another request is issuing this receipt") from None
    if live.state == ISSUED:
        raise InvalidRequest(ALREADY_ISSUED, detail="cancel it first (DELETE) to issue another")
    if live.state == CANCELLING:
        raise BusinessError(BUSY, detail="its cancel is waiting for the PG's answer")
    return live


async def _record_issue(services: Services, receipt: CashReceipt, issued: PgCashReceipt) -> CashReceipt:
    now = services.clock.now()
    row = await _finish(
        services,
        receipt.id,
        ISSUING,
        state=ISSUED,
        receipt_key=issued.receipt_key,
        apply_num=issued.issue_number,
        receipt_url=issued.receipt_url,
        applied_at=issued.requested_at or now,
        payment_flag=True,
    )
    return row


async def _cancel(services: Services, receipt: CashReceipt) -> CashReceipt:
    """Cancels all of an issued receipt at the PG (or repeats a cancel that got no answer)."""
    if receipt.state == CANCELLED:
        raise InvalidRequest(ALREADY_CANCELLED)
    if receipt.state == ISSUED:
        async with services.sessions() as session:
            claimed = await session.execute(
                update(CashReceipt)
                .where(CashReceipt.id == receipt.id, CashReceipt.state == ISSUED)
                .values(state=CANCELLING, updated_at=services.clock.now())
            )
            await session.commit()
        if not getattr(claimed, "rowcount", 0):
            raise BusinessError(BUSY)
    async with services.sessions() as session:
        channel = await session.get(PgChannel, receipt.channel_id)
    assert channel is not None and receipt.receipt_key is not None
    connector = await services.pg.for_channel(channel)
    try:
        cancelled = await connector.cancel_cash_receipt(
            receipt.receipt_key, idempotency_key=f"tollway-{receipt.receipt_uid}-cancel"
        )
    except PgUnknown:
        raise BusinessError(UNKNOWN_OUTCOME, code=-1, detail="send the same request again") from None
    except PgError as exc:
        await _finish(services, receipt.id, CANCELLING, state=ISSUED)
        raise BusinessError(CANCEL_FAILED.format(reason=f"[{exc.code}] {exc.message}"), code=-1) from None
    return await _finish(
        services,
        receipt.id,
        CANCELLING,
        state=CANCELLED,
        live_key=None,
        cancelled_at=cancelled.requested_at or services.clock.now(),
        payment_flag=False,
    )


async def _finish(
    services: Services, receipt_id: int, expected: str, *, payment_flag: bool | None = None, **values: object
) -> CashReceipt:
    """Moves the receipt from ``expected`` to what ``values`` say, only if nobody moved it first;
    ``payment_flag`` sets the payment's ``cash_receipt_issued`` in the same transaction."""
    async with services.sessions() as session:
        now = services.clock.now()
        moved = await session.execute(
            update(CashReceipt)
            .where(CashReceipt.id == receipt_id, CashReceipt.state == expected)
            .values(updated_at=now, **values)
        )
        row = await session.get(CashReceipt, receipt_id, populate_existing=True)
        assert row is not None
        if getattr(moved, "rowcount", 0) and payment_flag is not None and row.payment_id is not None:
            await session.execute(
                update(Payment).where(Payment.id == row.payment_id).values(cash_receipt_issued=payment_flag)
            )
        await session.commit()
        return row
