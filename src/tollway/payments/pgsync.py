"""Applying what a PG says about a payment to the ledger, through the state machine.

Used by every flow that calls a PG (key-in, cancel) and by reconciliation, so that an answer
read later from a lookup is recorded exactly as the direct answer would have been.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.codes import BANKS
from tollway.db.models import Payment, PaymentCancel
from tollway.payments.ledger import (
    CardApproval,
    VirtualAccount,
    mark_failed,
    mark_paid,
    record_cancel,
    record_vbank_issued,
)
from tollway.payments.states import PaymentStatus, end_pg_call, transition
from tollway.pg.base import PgCard, PgError, PgPayment
from tollway.pg.toss.codes import CARD_TYPES, kftc_bank_code, kftc_card_code, toss_card_name
from tollway.pg.toss.methods import emb_pg_provider
from tollway.webhooks import outbox

if TYPE_CHECKING:
    from tollway.services import Services


def card_fields(card: PgCard) -> dict[str, Any]:
    """V1's card fields (KFTC codes, Korean names, masked number, type) of a PG's card."""
    issuer_kftc = kftc_card_code(card.issuer_code)
    acquirer = card.acquirer_code or card.issuer_code
    return {
        "card_code": issuer_kftc,
        "card_name": toss_card_name(card.issuer_code),
        "card_number": card.number,
        "card_type": CARD_TYPES.get(card.card_type or ""),
        "card_issuer_code": issuer_kftc,
        "card_issuer_name": toss_card_name(card.issuer_code),
        "card_publisher_code": kftc_card_code(acquirer),
        "card_publisher_name": toss_card_name(acquirer),
    }


def approval_of(pg: PgPayment) -> CardApproval:
    """V1's fields of an approval: the card's (a card payment, or an easy pay a card funded), the
    bank's (a transfer), the easy pay as ``emb_pg_provider``, a gift certificate's approval number."""
    card = pg.card
    emb = emb_pg_provider(pg.easy_pay)
    if card is None:
        bank = kftc_bank_code(pg.transfer_bank or (pg.virtual_account.bank_code if pg.virtual_account else None))
        return CardApproval(
            pg_tid=pg.payment_key,
            receipt_url=pg.receipt_url,
            bank_code=bank,
            bank_name=BANKS.get(bank or ""),
            apply_num=pg.gift_approve_no,
            emb_pg_provider=emb,
        )
    return CardApproval(
        pg_tid=pg.payment_key,
        apply_num=card.approve_no,
        card_quota=card.installment_months,
        receipt_url=pg.receipt_url,
        emb_pg_provider=emb,
        **card_fields(card),
    )


def fail_reason(error: PgError) -> str:
    return f"[{error.code}] {error.message}"


#: i'mport's own words for a card number the card company does not know (clients look for them)
UNKNOWN_CARD_NUMBER = "유효하지않은 카드번호를 입력하셨습니다."


def card_refusal(prefix: str, error: PgError, *, always: bool = False) -> str:
    """The text for a key-in the PG refused: ``prefix`` (``"카드정보 인증에 실패하였습니다."``) and the
    PG's reason, with i'mport's words for an unknown card number. A refusal about the amount or the
    installments (``BELOW_MINIMUM_AMOUNT``…) is no failed card check: it says only what is wrong
    (Toss's text), unless ``always``."""
    if error.code == "INVALID_CARD_NUMBER":
        return f"{prefix} {UNKNOWN_CARD_NUMBER} [{error.code}]"
    if not always and ("AMOUNT" in error.code or "INSTALLMENT" in error.code):
        return fail_reason(error)
    return f"{prefix} {fail_reason(error)}"


async def load_for_update(session: AsyncSession, payment_id: int) -> Payment:
    """The payment row, locked on PostgreSQL until commit (SQLite has one writer anyway)."""
    payment = await session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
    if payment is None:  # pragma: no cover - payments are never deleted
        raise LookupError(payment_id)
    return payment


async def cancels_of(session: AsyncSession, payment: Payment) -> list[PaymentCancel]:
    rows = await session.scalars(
        select(PaymentCancel).where(PaymentCancel.payment_id == payment.id).order_by(PaymentCancel.id)
    )
    return list(rows)


async def apply_approval(session: AsyncSession, payment: Payment, pg: PgPayment, at: datetime) -> None:
    """An approval the PG reports (directly or on lookup): ``ready → paid``, plus any cancels it shows.
    The ``paid`` notification is queued in the same transaction."""
    if payment.status == PaymentStatus.READY and pg.is_waiting_for_deposit and pg.virtual_account is not None:
        account = pg.virtual_account
        bank = kftc_bank_code(account.bank_code)
        if payment.vbank_num is None:
            ledger_vbank = VirtualAccount(
                pg.payment_key, bank, BANKS.get(bank or ""), account.account_number, account.due_date, pg.receipt_url
            )
            record_vbank_issued(payment, ledger_vbank, at)
            # V1 notifies the issue of a virtual account (status ready), then its deposit (paid)
            await outbox.enqueue(session, payment, PaymentStatus.READY, at)
        end_pg_call(payment, at)
        return
    if payment.status == PaymentStatus.READY:
        await mark_paid(session, payment, approval_of(pg), pg.approved_at or at)
        await outbox.enqueue(session, payment, PaymentStatus.PAID, at)
    await sync_cancels(session, payment, pg, at)


async def apply_failure(session: AsyncSession, payment: Payment, reason: str, at: datetime) -> None:
    """``ready → failed``. V1 notifies failures of scheduled payments only."""
    if payment.status == PaymentStatus.READY:
        mark_failed(payment, reason[:500], at)
        if payment.customer_uid_usage == "payment.scheduled":
            await outbox.enqueue(session, payment, PaymentStatus.FAILED, at)


async def sync_cancels(
    session: AsyncSession, payment: Payment, pg: PgPayment, at: datetime, *, cancellation_id: str | None = None
) -> list[PaymentCancel]:
    """Records every cancel the PG shows that the ledger lacks (matched by transaction key).

    ``cancellation_id`` names the cancel this call asked for: it goes to the newest new entry, so
    the caller can hand the same id back to the merchant.
    """
    if payment.status != PaymentStatus.PAID or not pg.cancels:
        return []
    known = {c.pg_tid for c in await cancels_of(session, payment)}
    fresh = [c for c in pg.cancels if c.transaction_key not in known]
    added = []
    for index, entry in enumerate(fresh):
        if payment.status != PaymentStatus.PAID:
            break
        mine = cancellation_id if index == len(fresh) - 1 else None
        added.append(
            record_cancel(
                session,
                payment,
                min(entry.amount, payment.amount - payment.cancel_amount),
                entry.canceled_at or at,
                reason=entry.reason,
                pg_tid=entry.transaction_key,
                tax_free=entry.tax_free,
                receipt_url=payment.receipt_url,
                cancellation_id=mine,
            )
        )
    return added


async def apply_revoke_outcome(
    session: AsyncSession, payment: Payment, pg: PgPayment | None, at: datetime, *, release: bool
) -> bool:
    """What the PG holds for a virtual account being revoked (the cancel's answer, or a later read):
    cancelled there → ``ready → cancelled``; deposited first → ``paid``; still waiting → the claim is
    released when ``release`` (the cancel never happened). Returns whether the call is settled."""
    if payment.status == PaymentStatus.READY and pg is not None and pg.is_revoked:
        transition(payment, PaymentStatus.CANCELLED, at)
        payment.cancel_reason = pg.cancels[-1].reason if pg.cancels else None
    elif payment.status == PaymentStatus.READY and pg is not None and pg.is_approved:
        await apply_approval(session, payment, pg, at)
    elif not release:
        return False
    end_pg_call(payment, at)
    return True


async def apply_truth(services: Services, payment_id: int, truth: PgPayment, at: datetime) -> tuple[bool, str]:
    """What the PG says of a payment now (read back after a webhook or a sandbox deposit), applied
    through the state machine: an approval or a failure of a ``ready`` payment, a virtual account
    issued or cancelled unpaid, cancels made at the PG. Returns (whether anything changed, the status)."""
    async with services.sessions() as session:
        current = await load_for_update(session, payment_id)
        before = (current.status, current.cancel_amount, current.vbank_num)
        added: list[PaymentCancel] = []
        if current.status == PaymentStatus.READY and (truth.is_approved or truth.is_waiting_for_deposit):
            await apply_approval(session, current, truth, at)  # queues its own notification
        elif current.status == PaymentStatus.READY and truth.is_revoked and current.pg_op is None:
            # an unpaid account cancelled at the PG (its dashboard): V1 notifies console cancels
            await apply_revoke_outcome(session, current, truth, at, release=True)
            await outbox.enqueue(session, current, PaymentStatus.CANCELLED, at)
        elif current.status == PaymentStatus.READY and truth.is_failed:
            await apply_failure(session, current, f"[{truth.failure_code}] {truth.failure_message}", at)
        elif current.status == PaymentStatus.PAID:
            added = await sync_cancels(session, current, truth, at)
        for entry in added:  # cancelled at the PG (its dashboard): V1 notifies console cancels
            await outbox.enqueue(session, current, PaymentStatus.CANCELLED, at, cancellation_id=entry.cancellation_id)
        await session.commit()
        return (current.status, current.cancel_amount, current.vbank_num) != before, current.status
