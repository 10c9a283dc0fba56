"""Virtual accounts by REST (``/vbanks``): issue, revoke, and the two changes Toss cannot make.

Issuing is a charge like any other (``payments.approve``): the ``ready`` payment holds its
merchant_uid while Toss's ``POST /v1/virtual-accounts`` is in flight, with an Idempotency-Key
derived from the imp_uid, and the account Toss issues is recorded by ``pgsync.apply_approval``
(``vbank_*``, a ``ready`` notification). The deposit then arrives as the window's accounts' does
(Toss's webhook, or the sandbox's deposit helper) and makes the payment ``paid``: one way to settle.

Revoking (``DELETE /vbanks/{imp_uid}``) cancels the unpaid account at Toss: the payment is claimed
for the call first (``states.begin_revoke``), Toss is asked what it holds (a deposit that came in
meanwhile is recorded, not revoked), then the account is cancelled and the payment becomes
``cancelled``. An unanswered call is settled by ``payments.reconcile``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from tollway.clock import from_unix
from tollway.db.models import Payment, PgChannel
from tollway.errors import BusinessError, InvalidRequest
from tollway.merchants.channels import resolve_channel
from tollway.merchants.service import list_channels
from tollway.payments.approve import approve, open_for_approval
from tollway.payments.ids import new_cancellation_id
from tollway.payments.ledger import PaymentRequest
from tollway.payments.pgsync import apply_revoke_outcome, load_for_update
from tollway.payments.queries import get_payment
from tollway.payments.states import PaymentStatus, begin_revoke, end_pg_call
from tollway.pg.base import (
    CancelRequest,
    ChargeRequest,
    PgConnector,
    PgError,
    PgPayment,
    PgUnknown,
    VirtualAccountTerms,
)
from tollway.pg.toss.codes import KFTC_TO_TOSS_BANK, TOSS_BANK_CODES
from tollway.services import Services

ISSUE_FAILED = "가상계좌 발급에 실패하였습니다. {reason}"
NOT_VBANK = "가상계좌 결제건이 아닙니다."
NOT_READY = "입금대기 상태(ready)인 가상계좌가 아닙니다."
NOT_CHANGEABLE = "토스페이먼츠는 가상계좌 발급정보(입금기한, 입금금액) 수정을 지원하지 않습니다."
NO_HOLDER_LOOKUP = "토스페이먼츠는 예금주 조회를 지원하지 않습니다."
REVOKE_REASON = "가상계좌 발급취소"
REVOKE_FAILED = "가상계좌 발급취소에 실패하였습니다. {reason}"
UNKNOWN_REVOKE = "PG사의 가상계좌 발급취소 결과를 확인하지 못했습니다. 결과를 자동으로 확인합니다."
#: Toss's own limit for a fixed account's ``accountKey``
ACCOUNT_KEY_MAX = 13


@dataclass(frozen=True)
class VbankOrder:
    """``POST /vbanks``. ``bank`` is V1's ``vbank_code`` (KFTC), ``due`` V1's ``vbank_due`` (UNIX s)."""

    request: PaymentRequest
    bank: str
    due: int
    account_key: str | None = None
    pg: str | None = None
    channel_key: str | None = None


def toss_vbank_code(v1_code: str) -> str | None:
    """V1's ``vbank_code`` as Toss's bank code: KFTC's 3 digits, or 2 of them with the leading zero
    left out (``"03"`` is KFTC ``003``), or else a Toss code as is (``"06"``)."""
    code = v1_code.strip()
    if len(code) == 2 and f"0{code}" in KFTC_TO_TOSS_BANK:
        return KFTC_TO_TOSS_BANK[f"0{code}"]
    if code in KFTC_TO_TOSS_BANK:
        return KFTC_TO_TOSS_BANK[code]
    return code if code in TOSS_BANK_CODES else None


def pick_channel(channels: Sequence[PgChannel], pg: str | None, channel_key: str | None) -> PgChannel:
    """``channel_key`` (the current V1 spec) names one of the merchant's channels exactly; without
    it, or when it names none of them, the ``pg`` rules apply (``merchants.channels``)."""
    if channel_key:
        exact = next((c for c in channels if c.channel_key == channel_key), None)
        if exact is not None:
            return exact
    return resolve_channel(channels, pg)


async def issue(services: Services, merchant_id: int, order: VbankOrder) -> Payment:
    bank = toss_vbank_code(order.bank)
    if bank is None:
        raise InvalidRequest("vbank_code 파라메터가 올바르지 않습니다.", detail=f"{order.bank!r} is not a bank code")
    due = from_unix(order.due)
    if due <= services.clock.now():
        raise InvalidRequest("vbank_due 파라메터가 올바르지 않습니다.", detail="vbank_due must be in the future")
    if order.account_key is not None and not 1 <= len(order.account_key) <= ACCOUNT_KEY_MAX:
        raise InvalidRequest(
            "vbank_key 파라메터가 올바르지 않습니다.", detail=f"tosspayments takes up to {ACCOUNT_KEY_MAX} characters"
        )
    if not order.request.buyer_name:
        raise InvalidRequest("buyer_name 파라메터가 누락되었습니다.", detail="tosspayments needs the depositor's name")
    async with services.sessions() as session:
        channel = pick_channel(await list_channels(session, merchant_id), order.pg, order.channel_key)
    terms = VirtualAccountTerms(bank=bank, due=due, account_key=order.account_key)
    payment = await open_for_approval(services, merchant_id, channel, order.request)

    async def call(connector: PgConnector, charge: ChargeRequest, idempotency_key: str) -> PgPayment:
        return await connector.issue_virtual_account(charge, terms, idempotency_key=idempotency_key)

    return await approve(services, payment, channel, order.request, call, refused=ISSUE_FAILED)


async def _waiting_account(services: Services, merchant_id: int, imp_uid: str) -> Payment:
    """The merchant's payment ``imp_uid`` (404 otherwise), which must be an unpaid virtual account."""
    async with services.sessions() as session:
        payment = await get_payment(session, merchant_id, imp_uid)
    if payment.pay_method != "vbank" or payment.vbank_num is None:
        raise InvalidRequest(NOT_VBANK, detail=f"payment {imp_uid} is {payment.pay_method}")
    if payment.status != PaymentStatus.READY:
        raise InvalidRequest(NOT_READY, detail=f"payment {imp_uid} is {payment.status}")
    return payment


async def change(services: Services, merchant_id: int, imp_uid: str) -> NoReturn:
    """``PUT /vbanks/{imp_uid}``: Toss's API cannot change an issued account's amount or deadline
    (i'mport offers it for one other PG only). Revoke it and issue a new one instead."""
    await _waiting_account(services, merchant_id, imp_uid)
    raise InvalidRequest(
        NOT_CHANGEABLE,
        detail="revoke the account with DELETE /vbanks/{imp_uid} and issue a new one with POST /vbanks",
    )


def holder() -> NoReturn:
    """``GET /vbanks/holder``: Toss's core API has no account-holder lookup."""
    raise InvalidRequest(NO_HOLDER_LOOKUP, detail="tosspayments has no account-holder lookup API")


async def revoke(services: Services, merchant_id: int, imp_uid: str) -> Payment:
    payment = await _waiting_account(services, merchant_id, imp_uid)
    key = new_cancellation_id()
    async with services.sessions() as session:
        payment = await load_for_update(session, payment.id)
        await begin_revoke(session, payment, key, services.clock.now())
        channel = await session.get(PgChannel, payment.channel_id) if payment.channel_id else None
        await session.commit()
    if channel is None or payment.pg_tid is None:  # pragma: no cover - an issued account has both
        raise BusinessError(REVOKE_FAILED.format(reason="no PG transaction"))
    connector = await services.pg.for_channel(channel)
    try:
        truth = await connector.get_payment(payment.pg_tid)
        if truth.is_waiting_for_deposit:
            request = CancelRequest(reason=REVOKE_REASON, expected_balance=truth.balance_amount)
            truth = await connector.cancel(payment.pg_tid, request, idempotency_key=f"tollway-{imp_uid}-revoke-{key}")
    except PgUnknown:
        raise BusinessError(UNKNOWN_REVOKE, code=-1, detail=f"look it up with GET /payments/{imp_uid}") from None
    except PgError as exc:
        await _release(services, payment.id)
        raise BusinessError(REVOKE_FAILED.format(reason=f"[{exc.code}] {exc.message}"), code=-1) from None
    async with services.sessions() as session:
        payment = await load_for_update(session, payment.id)
        await apply_revoke_outcome(session, payment, truth, services.clock.now(), release=True)
        await session.commit()
    if payment.status != PaymentStatus.CANCELLED:  # a deposit came first: nothing to revoke
        raise InvalidRequest(NOT_READY, detail=f"payment {imp_uid} is {payment.status} at the PG")
    return payment


async def _release(services: Services, payment_id: int) -> None:
    async with services.sessions() as session:
        payment = await load_for_update(session, payment_id)
        end_pg_call(payment, services.clock.now())
        await session.commit()
