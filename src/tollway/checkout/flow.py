"""The hosted payment window: from ``IMP.request_pay`` to a V1 result, without charging twice.

1. ``open_window``: the SDK posts the merchant's params; Tollway checks them (channel, prepared
   amount, a merchant_uid already paid), creates the ``ready`` payment (not for a billing-key
   window) and a checkout session whose random token the browser keeps.
2. The window page hands off to the PG's window (Toss's SDK, or the sandbox's imitation) with
   ``orderId`` = the imp_uid and success/fail URLs back to ``/checkout/{token}/…``.
3. ``finish_success`` / ``finish_fail``: the session moves ``open → returned`` by a conditional
   UPDATE, so one return confirms once; a reload gets the stored result. The confirm goes through
   ``payments.approve`` (the payment holds its merchant_uid during the call, the Idempotency-Key
   is derived from the imp_uid, an unknown outcome is left to reconciliation).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.billing import customers
from tollway.checkout.params import ParamError, WindowParams, parse, toss_request
from tollway.clock import rest
from tollway.db.models import CheckoutSession, Merchant, Payment, PaymentPrepare, PgChannel
from tollway.errors import BusinessError
from tollway.merchants.channels import resolve_channel
from tollway.merchants.origins import allows, list_origins
from tollway.merchants.service import list_channels
from tollway.payments.approve import ApprovalRefused, approve, holder_status, refusal
from tollway.payments.ledger import ALREADY_PAID, PaymentRequest, open_payment
from tollway.payments.pgsync import apply_failure, load_for_update
from tollway.payments.states import PaymentStatus, begin_approval
from tollway.payments.v1 import payment_to_v1
from tollway.pg.base import ChargeRequest, PgConnector, PgError, PgPayment
from tollway.services import Services

log = structlog.get_logger("tollway.checkout")
WINDOW_MINUTES = 30  # Toss's window is valid for 30 minutes (reference toss-v1 §5.2)
EXPIRED = ("WINDOW_EXPIRED", "결제창 유효시간이 지났습니다. 다시 시도해 주세요. (the payment window expired)")
AMOUNT_MISMATCH = ("AMOUNT_MISMATCH", "결제 금액이 요청과 다릅니다. (the amount returned by the window differs)")
PENDING = (
    "PG_RESULT_PENDING",
    "PG사의 결제 결과를 확인하지 못했습니다. 결과를 자동으로 확인합니다. "
    "(no answer from the PG yet; look the payment up with GET /payments/{imp_uid})",
)
BILLING_FAILED = "BILLING_KEY_FAILED"
BILLING_PENDING = "카드 등록 결과를 확인하는 중입니다. (look it up with GET /subscribe/customers/{customer_uid})"
#: The V1 payment fields the callback carries (reference §7.3), besides success, error and amount.
CALLBACK_FIELDS = (
    "imp_uid",
    "merchant_uid",
    "pay_method",
    "status",
    "name",
    "pg_provider",
    "emb_pg_provider",
    "pg_tid",
    "buyer_name",
    "buyer_email",
    "buyer_tel",
    "buyer_addr",
    "buyer_postcode",
    "custom_data",
    "paid_at",
    "receipt_url",
    "apply_num",
    "card_name",
    "card_number",
    "card_quota",
    "bank_name",
    "currency",
    "vbank_num",
    "vbank_name",
    "vbank_holder",
    "vbank_date",
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Opened:
    token: str
    imp_uid: str | None


async def open_window(
    services: Services,
    *,
    user_code: str,
    tier_code: str | None,
    raw_params: object,
    mode: str,
    origin: str,
    user_agent: str | None,
) -> Opened:
    """Checks a ``request_pay`` call and opens its window; raises ``ParamError`` with V1's answer."""
    if tier_code:
        raise ParamError("하위 상점(tier)은 아직 지원하지 않습니다. (IMP.agency tier codes are not supported yet)")
    params = parse(raw_params)
    now = services.clock.now()
    token = secrets.token_urlsafe(24)
    async with services.sessions() as session:
        merchant = await session.scalar(select(Merchant).where(Merchant.user_code == user_code))
        if merchant is None:
            raise ParamError(
                f"등록되지 않은 가맹점 식별코드입니다: {user_code} (unknown user code; check IMP.init)",
                code="INVALID_USER_CODE",
            )
        _check_origins(await list_origins(session, merchant.id), origin, params)
        try:
            channel = resolve_channel(await list_channels(session, merchant.id), params.pg)
        except BusinessError as exc:
            raise ParamError(str(exc), code="PG_NOT_FOUND") from None
        payment: Payment | None = None
        if params.customer_uid is None:
            await _check_order(session, merchant.id, params)
            payment = await open_payment(session, merchant.id, channel, _payment_request(params, mode, user_agent), now)
            method, pg_params = toss_request(params, payment.imp_uid, sandbox=channel.sandbox, now=now)
            customer_key = None
        else:
            customer_key = params.customer_id or f"tollway-{uuid.uuid4().hex}"
            method = "카드"
            pg_params = {"customerKey": customer_key}
            if params.buyer_name:
                pg_params["customerName"] = params.buyer_name
            if params.buyer_email:
                pg_params["customerEmail"] = params.buyer_email
            if channel.sandbox:  # shown, never charged; Toss's billing window has no parameter for it
                pg_params["tollway"] = {"amount": params.amount, "orderName": (params.name or "")[:100]}
        session.add(
            CheckoutSession(
                token_hash=token_hash(token),
                merchant_id=merchant.id,
                channel_id=channel.id,
                payment_id=payment.id if payment is not None else None,
                kind="payment" if payment is not None else "billing",
                origin=origin,
                mode=mode,
                redirect_url=params.m_redirect_url,
                merchant_uid=params.merchant_uid,
                pg_method=method,
                pg_params=json.dumps(pg_params, ensure_ascii=False),
                customer_uid=params.customer_uid,
                customer_key=customer_key,
                customer_fields=json.dumps(
                    [params.buyer_name, params.buyer_tel, params.buyer_email, params.buyer_addr, params.buyer_postcode]
                ),
                state="open",
                created_at=now,
                expires_at=now + timedelta(minutes=WINDOW_MINUTES),
            )
        )
        await session.commit()
        return Opened(token, payment.imp_uid if payment is not None else None)


def _check_origins(origins: list[str], origin: str, params: WindowParams) -> None:
    """With allowed origins set, the window opens only from them and sends the buyer (and the
    browser-given notifications) only to them: the gateway is nobody else's redirector."""
    if not allows(origins, origin):
        raise ParamError(
            "허용되지 않은 도메인에서 결제창을 열 수 없습니다. "
            f"(origin {origin} is not among the merchant's allowed origins)",
            code="INVALID_ORIGIN",
        )
    if params.m_redirect_url and not allows(origins, params.m_redirect_url):
        raise ParamError(
            "m_redirect_url이 허용된 도메인이 아닙니다. (m_redirect_url is not on the merchant's allowed origins)",
            code="INVALID_REDIRECT_URL",
        )
    if any(not allows(origins, url) for url in params.notice_urls):
        raise ParamError(
            "notice_url이 허용된 도메인이 아닙니다. (notice_url is not on the merchant's allowed origins)",
            code="INVALID_NOTICE_URL",
        )


async def _check_order(session: AsyncSession, merchant_id: int, params: WindowParams) -> None:
    holder = await holder_status(session, merchant_id, params.merchant_uid)
    if holder is not None:
        code = "ALREADY_PAID" if holder == PaymentStatus.PAID else "PAYMENT_IN_PROGRESS"
        raise ParamError(refusal(holder, params.merchant_uid), code=code)
    prepared = await session.scalar(
        select(PaymentPrepare.amount).where(
            PaymentPrepare.merchant_id == merchant_id, PaymentPrepare.merchant_uid == params.merchant_uid
        )
    )
    if prepared is not None and prepared != params.amount:
        raise ParamError(
            f"사전 등록된 결제 금액({prepared})과 요청 금액({params.amount})이 다릅니다. "
            "(amount differs from the amount registered with POST /payments/prepare)",
            code="AMOUNT_NOT_PREPARED",
        )


def _payment_request(params: WindowParams, mode: str, user_agent: str | None) -> PaymentRequest:
    return PaymentRequest(
        merchant_uid=params.merchant_uid,
        amount=params.amount,
        name=params.name,
        pay_method=params.pay_method,
        channel="mobile" if mode == "redirect" else "pc",
        currency=params.currency,
        tax_free=params.tax_free,
        vat_amount=params.vat_amount,
        buyer_name=params.buyer_name,
        buyer_email=params.buyer_email,
        buyer_tel=params.buyer_tel,
        buyer_addr=params.buyer_addr,
        buyer_postcode=params.buyer_postcode,
        custom_data=params.custom_data,
        user_agent=(user_agent or "")[:500] or None,
        notice_urls=params.notice_urls,
        card_quota=params.card.direct_quota or 0,
        escrow=params.escrow,
    )


# -- the window and its return --------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    session: CheckoutSession
    channel: PgChannel
    #: the merchant's allowed origins: who may frame the window (none: anyone)
    origins: tuple[str, ...] = ()


async def load(services: Services, token: str) -> Window | None:
    async with services.sessions() as session:
        row = await session.scalar(select(CheckoutSession).where(CheckoutSession.token_hash == token_hash(token)))
        if row is None:
            return None
        channel = await session.get(PgChannel, row.channel_id)
        assert channel is not None
        return Window(row, channel, tuple(await list_origins(session, row.merchant_id)))


def expired(services: Services, window: Window) -> bool:
    return services.clock.now() >= window.session.expires_at


async def _claim(services: Services, window: Window) -> bool:
    """``open → returned``: True for the one caller that may act on the return."""
    async with services.sessions() as session:
        result = await session.execute(
            update(CheckoutSession)
            .where(CheckoutSession.id == window.session.id, CheckoutSession.state == "open")
            .values(state="returned")
        )
        await session.commit()
        return bool(getattr(result, "rowcount", 0))


async def _store_result(services: Services, window: Window, result: dict[str, Any]) -> dict[str, Any]:
    async with services.sessions() as session:
        await session.execute(
            update(CheckoutSession)
            .where(CheckoutSession.id == window.session.id)
            .values(state="done", result=json.dumps(result, ensure_ascii=False), finished_at=services.clock.now())
        )
        await session.commit()
    return result


async def stored_result(services: Services, window: Window) -> dict[str, Any]:
    """The result of a window already returned (a reload); a pending one while the first return runs."""
    async with services.sessions() as session:
        row = await session.get(CheckoutSession, window.session.id)
        if row is not None and row.result:
            loaded: dict[str, Any] = json.loads(row.result)
            return loaded
    return await _payment_result(services, window, PENDING)


async def finish_success(services: Services, window: Window, query: dict[str, str]) -> dict[str, Any]:
    if not await _claim(services, window):
        return await stored_result(services, window)
    if expired(services, window):
        return await _store_result(services, window, await _fail(services, window, *EXPIRED))
    if window.session.kind == "billing":
        return await _store_result(services, window, await _issue(services, window, query))
    return await _store_result(services, window, await _confirm(services, window, query))


async def finish_fail(services: Services, window: Window, code: str, message: str) -> dict[str, Any]:
    if not await _claim(services, window):
        return await stored_result(services, window)
    return await _store_result(services, window, await _fail(services, window, code or "PAY_PROCESS_ABORTED", message))


async def expire(services: Services, window: Window) -> dict[str, Any]:
    """The window page was opened after its time: the attempt ends failed, nothing was charged."""
    return await finish_fail(services, window, *EXPIRED)


async def expire_stale(services: Services, *, grace: timedelta = timedelta(minutes=5), limit: int = 100) -> int:
    """Windows opened and never returned end ``failed`` with the reason ``WINDOW_EXPIRED`` (their
    ``ready`` payment does not linger in the ledger); returns how many. ``grace`` leaves a buyer's
    late return from the PG to ``finish_success``, which refuses it the same way."""
    cutoff = services.clock.now() - grace
    async with services.sessions() as session:
        rows = (
            await session.scalars(
                select(CheckoutSession)
                .where(CheckoutSession.state == "open", CheckoutSession.expires_at < cutoff)
                .order_by(CheckoutSession.id)
                .limit(limit)
            )
        ).all()
        channels = {
            c.id: c
            for c in await session.scalars(select(PgChannel).where(PgChannel.id.in_({r.channel_id for r in rows})))
        }
    for row in rows:
        await expire(services, Window(row, channels[row.channel_id]))
    return len(rows)


async def expire_periodically(services: Services, interval: float, stop: asyncio.Event) -> None:
    """``tollway serve``'s sweep of abandoned windows (beside the reconciler, at its interval);
    setting ``stop`` ends it after the sweep in progress."""
    while True:
        await rest(stop, interval)
        if stop.is_set():
            return
        try:
            await expire_stale(services)
        except Exception:  # a failed sweep is retried at the next interval
            log.exception("expiring abandoned payment windows failed")


async def _fail(services: Services, window: Window, code: str, message: str) -> dict[str, Any]:
    if window.session.payment_id is not None:
        async with services.sessions() as session:
            payment = await load_for_update(session, window.session.payment_id)
            if payment.status == PaymentStatus.READY and payment.pg_op is None:
                await apply_failure(session, payment, f"[{code}] {message}", services.clock.now())
                await session.commit()
    return await _payment_result(services, window, (code, message))


async def _confirm(services: Services, window: Window, query: dict[str, str]) -> dict[str, Any]:
    payment_id = window.session.payment_id
    assert payment_id is not None
    payment_key = query.get("paymentKey", "")
    refused: tuple[str, str] | None = None
    async with services.sessions() as session:
        payment = await load_for_update(session, payment_id)
        if query.get("orderId") != payment.imp_uid or query.get("amount") != str(payment.amount) or not payment_key:
            refused = AMOUNT_MISMATCH
        else:
            try:
                begin_approval(payment, services.clock.now())
                await session.commit()
            except IntegrityError:  # the merchant_uid was paid meanwhile by another attempt: do not confirm
                await session.rollback()
                refused = ("ALREADY_PAID", ALREADY_PAID.format(merchant_uid=window.session.merchant_uid))
    if refused is not None:
        return await _fail(services, window, *refused)
    request = PaymentRequest(merchant_uid=payment.merchant_uid, amount=payment.amount, name=payment.name)

    async def call(connector: PgConnector, charge: ChargeRequest, idempotency_key: str) -> PgPayment:
        return await connector.confirm(payment_key, charge.order_id, charge.amount, idempotency_key=idempotency_key)

    try:
        await approve(services, payment, window.channel, request, call)
    except ApprovalRefused:
        pass  # recorded as failed; the result carries its reason
    except BusinessError:
        return await _payment_result(services, window, PENDING)
    return await _payment_result(services, window, None)


async def _issue(services: Services, window: Window, query: dict[str, str]) -> dict[str, Any]:
    row = window.session
    assert row.customer_uid is not None and row.customer_key is not None
    base: dict[str, Any] = {"imp_uid": None, "merchant_uid": row.merchant_uid, "customer_uid": row.customer_uid}
    if query.get("customerKey") != row.customer_key or not query.get("authKey"):
        return _error(base, "INVALID_BILLING_AUTH", "결제창이 돌려준 customerKey가 요청과 다릅니다.")
    connector = await services.pg.for_channel(window.channel)
    try:
        issued = await connector.issue_billing_key_from_auth(
            query["authKey"], row.customer_key, idempotency_key=f"tollway-billing-auth-{row.id}"
        )
    except PgError as exc:
        return _error(base, exc.code or BILLING_FAILED, exc.message)
    name, tel, email, addr, postcode = json.loads(row.customer_fields or "[null,null,null,null,null]")
    fields = customers.CustomerFields(name, tel, email, addr, postcode)
    try:
        customer = await customers.store(services, row.merchant_id, row.customer_uid, window.channel, issued, fields)
    except BusinessError as exc:
        return _error(base, BILLING_FAILED, str(exc))
    return {
        "success": True,
        "imp_success": True,
        **base,
        "pay_method": "card",
        "status": "issued",
        "pg_provider": window.channel.pg_provider,
        "customer_uid_usage": "issue",
        "card_name": customer.card_name,
        "card_number": customer.card_number,
        "error_code": None,
        "error_msg": None,
    }


def _error(base: dict[str, Any], code: str, message: str) -> dict[str, Any]:
    return {"success": False, "imp_success": False, **base, "error_code": code, "error_msg": message}


async def _payment_result(services: Services, window: Window, error: tuple[str, str] | None) -> dict[str, Any]:
    """The callback's V1 response object (reference §7.3), from the payment as it now stands."""
    payment_id = window.session.payment_id
    if payment_id is None:  # a billing-key window: no payment, the customer is the outcome
        row = window.session
        base = {"imp_uid": None, "merchant_uid": row.merchant_uid, "customer_uid": row.customer_uid}
        code, message = error or EXPIRED
        if code == PENDING[0]:
            message = BILLING_PENDING.format(customer_uid=row.customer_uid)
        return _error(base, code, message)
    async with services.sessions() as session:
        p = await session.get(Payment, payment_id)
        assert p is not None
    success = p.status == PaymentStatus.PAID or (p.status == PaymentStatus.READY and p.vbank_num is not None)
    if error is None and not success:
        reason = p.fail_reason or "[PAY_PROCESS_ABORTED] 결제가 완료되지 않았습니다."
        code, _, message = reason.removeprefix("[").partition("] ")
        error = (code, message or reason)
    if error is not None and error[0] == PENDING[0]:
        error = (PENDING[0], PENDING[1].replace("{imp_uid}", p.imp_uid))
    v1: dict[str, Any] = dict(payment_to_v1(p))
    return {
        "success": success,
        "imp_success": success,
        "error_code": None if success else (error[0] if error else None),
        "error_msg": None if success else (error[1] if error else None),
        "paid_amount": p.amount if p.status == PaymentStatus.PAID else 0,
        "pg_type": "payment",
        **{field: v1[field] for field in CALLBACK_FIELDS},
    }
