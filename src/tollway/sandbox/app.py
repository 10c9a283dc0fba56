"""A Toss-compatible sandbox PG: Toss v1's HTTP API under ``/sandbox/toss/v1/…``.

What it reproduces (reference toss-v1 §10): Basic auth with the sandbox keys (§1.2 mapping),
Toss's error bodies and statuses (§4), idempotency on every POST (§1.3: the first answer is
replayed, errors included; 409 while the first is still processing; 400 over 300 characters),
``TossPayments-Test-Code`` (§7), the amount, order id and installment rules (§2.1, §8.4), payment
lookups, cancels with ``refundableAmount`` (§2.4), key-in (§2.5) and billing (§2.7). Test cards
give deterministic outcomes (``sandbox.cards``).

Besides Toss's own paths it has a few ``/_sandbox/…`` helpers that stand in for the buyer's side
of Toss's windows: open an authenticated checkout session (then ``confirm`` it), get a billing
``authKey``, and read the ledger.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import re
import secrets
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import APIRouter, FastAPI, Request
from starlette.requests import ClientDisconnect
from starlette.responses import HTMLResponse, Response

from tollway.clock import Clock
from tollway.db.engine import Sessions
from tollway.pg.toss.codes import toss_card_name
from tollway.pg.toss.errors import CATALOGUE
from tollway.pg.toss.wire import KST, format_time
from tollway.sandbox import cards
from tollway.sandbox.store import Store, StoredPayment, digest
from tollway.sandbox.window import BANKS, METHOD_NAMES, OUTCOME_CARDS, WindowError, WindowRequest, add_routes

ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
CUSTOMER_KEY = re.compile(r"^[A-Za-z0-9\-_=.@*]{2,300}$")
BASE62 = string.ascii_letters + string.digits
INSTALLMENT_MINIMUM = 50_000
CARD_MINIMUM = 100
IDEMPOTENCY_DAYS = 15
PRIVATE = "_sandbox"  # a doc key never shown on the wire


@dataclass(frozen=True)
class SandboxConfig:
    #: how long the ``slow`` test card takes to answer
    slow_seconds: float = 2.0
    #: how long the ``hang`` test card keeps the caller waiting (longer than any sane read timeout)
    hang_seconds: float = 75.0
    #: checkout sessions expire when not confirmed within this time (Toss: 10 minutes)
    session_minutes: int = 10
    #: extra time every charge takes (a real PG answers in hundreds of milliseconds)
    charge_latency_seconds: float = 0.0


class TossApiError(Exception):
    def __init__(self, code: str, message: str | None = None) -> None:
        status, default = CATALOGUE.get(code, (400, code))
        super().__init__(code)
        self.code = code
        self.status = status
        self.message = message or default


@dataclass(frozen=True)
class Caller:
    mid: str
    secret_hash: str
    live: bool
    #: a key only a caller holding the secret key can derive (seals stored idempotent answers)
    answer_key: bytes


@dataclass
class Answer:
    status: int
    body: Any
    hang: float = 0.0  # seconds to wait *after* the outcome is stored and before answering
    stored: bool = False  # the idempotent answer was already stored with the outcome


Handler = Callable[[Caller, dict[str, Any], Request], Awaitable[Answer]]


def _new_payment_key(mid: str, now: datetime) -> str:
    """The observed form: the MID's first 5 characters, KST yyyyMMddHHmmss, 5 base62 (reference §3.4)."""
    stamp = now.astimezone(KST).strftime("%Y%m%d%H%M%S")
    return f"{(mid + 'xxxxx')[:5]}{stamp}{''.join(secrets.choice(BASE62) for _ in range(5))}"


def _new_transaction_key() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "txrd_" + "".join(secrets.choice(alphabet) for _ in range(26))


def _vat(amount: int, tax_free: int) -> tuple[int, int]:
    """(suppliedAmount, vat): vat = round((amount − taxFree) / 11) half-up (reference §3.1)."""
    taxable = max(amount - tax_free, 0)
    vat = int((Decimal(taxable) / Decimal(11)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return taxable - vat, vat


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != PRIVATE}


class Sandbox:
    def __init__(self, sessions: Sessions, clock: Clock, config: SandboxConfig) -> None:
        self.store = Store(sessions)
        self.clock = clock
        self.config = config

    # -- the request pipeline ------------------------------------------------------------------

    async def authenticate(self, request: Request) -> Caller:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic" or not value.strip():
            raise TossApiError("UNAUTHORIZED_KEY")
        token = value.strip()
        try:
            decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise TossApiError("UNAUTHORIZED_KEY") from None
        if ":" not in decoded:
            raise TossApiError("INCORRECT_BASIC_AUTH_FORMAT")
        secret_key = decoded.split(":", 1)[0]
        if "_ck_" in secret_key or "_gck_" in secret_key:
            raise TossApiError("UNAUTHORIZED_KEY")
        mid = await self.store.mid_for_secret(secret_key)
        if mid is None:
            raise TossApiError("UNAUTHORIZED_KEY")
        return Caller(
            mid=mid,
            secret_hash=digest(secret_key),
            live=secret_key.startswith("live_"),
            answer_key=hashlib.sha256(b"tollway-sandbox-answers|" + secret_key.encode()).digest(),
        )

    async def run(self, request: Request, handler: Handler) -> Response:
        try:
            caller = await self.authenticate(request)
        except TossApiError as exc:
            return self._respond(Answer(exc.status, {"code": exc.code, "message": exc.message}))
        key_hash: str | None = None
        idempotency_key = request.headers.get("idempotency-key")
        if request.method == "POST" and idempotency_key is not None:
            if len(idempotency_key) > 300:
                return self._error("INVALID_IDEMPOTENCY_KEY")
            key_hash = digest(f"{caller.secret_hash}|{request.method}|{request.url.path}|{idempotency_key}")
            existing = await self.store.claim(key_hash, self.clock.now())
            request.state.idempotency = (key_hash, caller.answer_key)
            if existing is not None:
                if existing.state != "done" or existing.status_code is None:
                    return self._error("IDEMPOTENT_REQUEST_PROCESSING")
                return self._raw(existing.status_code, _open_answer(caller.answer_key, key_hash, existing.body or ""))
        try:
            answer = await self._answer(caller, request, handler)
        except BaseException as exc:
            if key_hash is not None:
                await self.store.release(key_hash)
            if isinstance(exc, ClientDisconnect):
                # The caller hung up before its body arrived (a killed worker): nothing was done,
                # the key is free for its retry, and there is nobody to answer.
                return Response(status_code=499)
            raise
        content = b"" if answer.body is None else orjson.dumps(answer.body)
        if key_hash is not None and not answer.stored:
            await self.store.finish(key_hash, answer.status, _seal_answer(caller.answer_key, key_hash, content))
        if answer.hang:
            await asyncio.sleep(answer.hang)
        return self._raw(answer.status, content)

    async def _answer(self, caller: Caller, request: Request, handler: Handler) -> Answer:
        try:
            body: dict[str, Any] = {}
            if request.method == "POST":
                raw = await request.body()
                if raw.strip():
                    try:
                        parsed = orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        raise TossApiError("INVALID_REQUEST", "요청 본문이 올바른 JSON이 아닙니다.") from None
                    if not isinstance(parsed, dict):
                        raise TossApiError("INVALID_REQUEST")
                    body = parsed
            test_code = request.headers.get("tosspayments-test-code")
            if test_code and not caller.live:
                if test_code not in CATALOGUE:
                    raise TossApiError("INVALID_TEST_CODE")
                raise TossApiError(test_code)
            return await handler(caller, body, request)
        except TossApiError as exc:
            return Answer(exc.status, {"code": exc.code, "message": exc.message})

    def _error(self, code: str) -> Response:
        exc = TossApiError(code)
        return self._respond(Answer(exc.status, {"code": exc.code, "message": exc.message}))

    def _respond(self, answer: Answer) -> Response:
        return self._raw(answer.status, b"" if answer.body is None else orjson.dumps(answer.body))

    @staticmethod
    def _raw(status: int, content: bytes) -> Response:
        return Response(
            content,
            status_code=status,
            media_type="application/json",
            headers={"X-TossPayments-Trace-Id": secrets.token_hex(16)},
        )

    # -- validation shared by the charge endpoints ---------------------------------------------

    @staticmethod
    def _amount(body: dict[str, Any], key: str = "amount") -> int:
        value = body.get(key)
        if value is None:
            raise TossApiError("INVALID_REQUIRED_PARAM", f"필수 파라미터가 누락되었습니다. ({key})")
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise TossApiError("INVALID_REQUEST", f"{key}는 숫자여야 합니다.")
        if value <= 0:
            raise TossApiError("BELOW_ZERO_AMOUNT")
        return int(value)

    @staticmethod
    def _order(body: dict[str, Any]) -> tuple[str, str]:
        order_id = body.get("orderId")
        if not isinstance(order_id, str) or not ORDER_ID.match(order_id):
            raise TossApiError("INVALID_ORDER_ID")
        order_name = body.get("orderName")
        if not isinstance(order_name, str) or not order_name:
            raise TossApiError("INVALID_REQUIRED_PARAM", "필수 파라미터가 누락되었습니다. (orderName)")
        if len(order_name) > 100:
            raise TossApiError("INVALID_ORDER_NAME")
        return order_id, order_name

    @staticmethod
    def _installment(body: dict[str, Any], amount: int) -> int:
        months = body.get("cardInstallmentPlan", 0) or 0
        if isinstance(months, bool) or not isinstance(months, int) or months < 0 or months == 1 or months > 12:
            raise TossApiError("INVALID_CARD_INSTALLMENT_PLAN")
        if months >= 2 and amount < INSTALLMENT_MINIMUM:
            raise TossApiError("NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT")
        return months

    @staticmethod
    def _tax_free(body: dict[str, Any], amount: int) -> int:
        value = body.get("taxFreeAmount", 0) or 0
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= amount:
            raise TossApiError("INVALID_REQUEST", "taxFreeAmount는 0 이상, 결제 금액 이하의 정수여야 합니다.")
        return value

    def _card(self, body: dict[str, Any]) -> tuple[cards.TestCard, str]:
        """Checks card data as a card company would; returns the test card and the masked number."""
        number = body.get("cardNumber")
        if not isinstance(number, str) or not number.isdigit() or len(number) > 20:
            raise TossApiError("INVALID_CARD_NUMBER")
        card = cards.lookup(number)
        if card is None or card.outcome is cards.Outcome.INVALID:
            raise TossApiError("INVALID_CARD_NUMBER")
        year, month = body.get("cardExpirationYear"), body.get("cardExpirationMonth")
        if not (isinstance(year, str) and isinstance(month, str) and len(year) == 2 and len(month) == 2):
            raise TossApiError("INVALID_CARD_EXPIRATION")
        if not (year.isdigit() and month.isdigit() and 1 <= int(month) <= 12):
            raise TossApiError("INVALID_CARD_EXPIRATION")
        now = self.clock.now().astimezone(KST)
        if (2000 + int(year), int(month)) < (now.year, now.month):
            raise TossApiError("INVALID_CARD_EXPIRATION")
        identity = body.get("customerIdentityNumber")
        if identity is not None and not _identity_ok(identity):
            raise TossApiError("INVALID_BIRTH_DAY_FORMAT")
        password = body.get("cardPassword")
        if password is not None and not (isinstance(password, str) and len(password) == 2 and password.isdigit()):
            raise TossApiError("INVALID_CARD_PASSWORD")
        return card, cards.mask(number)

    # -- documents -----------------------------------------------------------------------------

    def _payment_doc(
        self,
        mid: str,
        *,
        payment_key: str,
        order_id: str,
        order_name: str,
        amount: int,
        tax_free: int,
        kind: str,
        status: str,
        card: dict[str, Any] | None,
        base_url: str,
        approved: bool,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        now = self.clock.now()
        supplied, vat = _vat(amount, tax_free)
        transaction_key = _new_transaction_key() if approved else None
        doc: dict[str, Any] = {
            "mId": mid,
            "version": "2022-11-16",
            "lastTransactionKey": transaction_key,
            "paymentKey": payment_key,
            "orderId": order_id,
            "orderName": order_name,
            "taxExemptionAmount": 0,
            "status": status,
            "requestedAt": format_time(now),
            "approvedAt": format_time(now) if approved else None,
            "useEscrow": False,
            "cultureExpense": False,
            "card": card,
            "virtualAccount": None,
            "transfer": None,
            "mobilePhone": None,
            "giftCertificate": None,
            "cashReceipt": None,
            "cashReceipts": None,
            "discount": None,
            "cancels": None,
            "secret": None,
            "type": kind,
            "easyPay": None,
            "country": "KR",
            "failure": None,
            "isPartialCancelable": True,
            "receipt": {"url": f"{base_url}/_sandbox/receipts/{payment_key}"} if approved else None,
            "checkout": {"url": f"{base_url}/v1/payments/{payment_key}/checkout"},
            "currency": "KRW",
            "totalAmount": amount,
            "balanceAmount": amount,
            "suppliedAmount": supplied,
            "vat": vat,
            "taxFreeAmount": tax_free,
            "metadata": None,
            "method": "카드",
        }
        if extra:
            doc.update(extra)
        return doc

    @staticmethod
    def _card_doc(card: cards.TestCard, masked: str, amount: int, months: int, interest_free: bool) -> dict[str, Any]:
        return {
            "amount": amount,
            "issuerCode": card.issuer_code,
            "acquirerCode": card.acquirer_code,
            "number": masked,
            "installmentPlanMonths": months,
            "isInterestFree": interest_free,
            "interestPayer": "MERCHANT" if interest_free and months else None,
            "approveNo": f"{secrets.randbelow(10**8):08d}",
            "useCardPoint": False,
            "cardType": card.card_type,
            "ownerType": "개인",
            "acquireStatus": "READY",
        }

    @staticmethod
    def _base_url(request: Request) -> str:
        base = str(request.base_url).rstrip("/")
        root = str(request.scope.get("root_path", "")).rstrip("/")  # the mount path, /sandbox/toss
        return base if not root or base.endswith(root) else base + root

    async def _settle(
        self,
        caller: Caller,
        doc: dict[str, Any],
        outcome: cards.Outcome,
        request: Request,
        *,
        existing: StoredPayment | None = None,
    ) -> Answer:
        """Applies a test card's outcome to a payment being approved and stores the result."""
        error = cards.OUTCOME_ERRORS[outcome]
        if self.config.charge_latency_seconds:
            await asyncio.sleep(self.config.charge_latency_seconds)
        if outcome is cards.Outcome.SLOW:
            await asyncio.sleep(self.config.slow_seconds)
        if error is not None:
            failed = TossApiError(error)
            doc.update(
                status="ABORTED",
                approvedAt=None,
                lastTransactionKey=None,
                receipt=None,
                card=None,
                failure={"code": failed.code, "message": failed.message},
            )
            await self._write(caller, doc, existing)
            raise failed
        body = _public(doc)
        # the idempotent answer is stored in the payment's own transaction (one commit, not two)
        claim: tuple[str, bytes] | None = getattr(request.state, "idempotency", None)
        finish = (claim[0], 200, _seal_answer(claim[1], claim[0], orjson.dumps(body))) if claim else None
        await self._write(caller, doc, existing, finish=finish)
        hang = self.config.hang_seconds if outcome is cards.Outcome.HANG else 0.0
        return Answer(200, body, hang=hang, stored=finish is not None)

    async def _write(
        self,
        caller: Caller,
        doc: dict[str, Any],
        existing: StoredPayment | None,
        *,
        finish: tuple[str, int, str] | None = None,
    ) -> None:
        """Stores a settled payment. An orderId tried before and ABORTED/EXPIRED is replaced (Toss
        lets an aborted order be tried again); one that was approved is ``DUPLICATED_ORDER_ID``."""
        now = self.clock.now()
        if existing is not None:
            if not await self.store.replace(existing, doc, now):
                raise TossApiError("FORBIDDEN_CONSECUTIVE_REQUEST")
            return
        if await self.store.insert(caller.mid, doc, now, finish=finish):
            return
        prior = await self.store.by_order(caller.mid, doc["orderId"])
        retried = prior is not None and prior.doc["status"] in ("ABORTED", "EXPIRED")
        if retried and await self.store.insert(caller.mid, doc, now, replace=("ABORTED", "EXPIRED"), finish=finish):
            return
        raise TossApiError("DUPLICATED_ORDER_ID")

    async def _expire_if_due(self, stored: StoredPayment) -> StoredPayment:
        doc = stored.doc
        private = doc.get(PRIVATE) or {}
        expires = private.get("expiresAt")
        if doc["status"] in ("READY", "IN_PROGRESS") and expires and self.clock.now().timestamp() > expires:
            doc.update(
                status="EXPIRED",
                method=None,
                useEscrow=None,
                failure={
                    "code": "EXPIRED_PAYMENT",
                    "message": "결제가 만료되었습니다. 다시 시도해주세요.",
                },
            )
            if await self.store.replace(stored, doc, self.clock.now()):
                return StoredPayment(stored.payment_key, stored.version + 1, doc)
        return stored

    # -- Toss endpoints ------------------------------------------------------------------------

    async def key_in(self, caller: Caller, body: dict[str, Any], request: Request) -> Answer:
        self._tax_free(body, self._amount(body))
        self._order(body)
        card, masked = self._card(body)
        if body.get("customerIdentityNumber") is None:
            raise TossApiError("INVALID_REQUIRED_PARAM", "필수 파라미터가 누락되었습니다. (customerIdentityNumber)")
        return await self._charge(caller, body, request, card, masked, kind="NORMAL")

    async def _charge(
        self, caller: Caller, body: dict[str, Any], request: Request, card: cards.TestCard, masked: str, *, kind: str
    ) -> Answer:
        """What a key-in payment and a billing charge share once the card is known: the amount and
        installment rules, the orderId's uniqueness, and the test card's outcome."""
        amount = self._amount(body)
        order_id, order_name = self._order(body)
        tax_free = self._tax_free(body, amount)
        if amount < CARD_MINIMUM:
            raise TossApiError("BELOW_MINIMUM_AMOUNT")
        months = self._installment(body, amount)
        interest_free = bool(body.get("useFreeInstallmentPlan"))
        doc = self._payment_doc(
            caller.mid,
            payment_key=_new_payment_key(caller.mid, self.clock.now()),
            order_id=order_id,
            order_name=order_name,
            amount=amount,
            tax_free=tax_free,
            kind=kind,
            status="DONE",
            card=self._card_doc(card, masked, amount, months, interest_free),
            base_url=self._base_url(request),
            approved=True,
        )
        return await self._settle(caller, doc, card.outcome, request)

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
        if method != "카드":
            return await self._confirm_account(caller, stored, method, request)
        doc.update(
            status="DONE",
            approvedAt=format_time(now),
            lastTransactionKey=_new_transaction_key(),
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
                lastTransactionKey=_new_transaction_key(),
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

    async def deposit(self, caller: Caller, _: dict[str, Any], request: Request) -> Answer:
        """Sandbox helper, like the developer center's 입금처리: a waiting virtual account is paid."""
        stored = await self.store.by_key(caller.mid, request.path_params["payment_key"])
        if stored is None:
            raise TossApiError("NOT_FOUND_PAYMENT")
        doc = stored.doc
        if doc["status"] != "WAITING_FOR_DEPOSIT":
            raise TossApiError("NOT_CANCELABLE_PAYMENT", "입금을 기다리는 가상계좌가 아닙니다.")
        now = self.clock.now()
        doc.update(status="DONE", approvedAt=format_time(now), lastTransactionKey=_new_transaction_key())
        doc["virtualAccount"] = {**doc["virtualAccount"], "depositorName": doc["virtualAccount"]["customerName"]}
        if not await self.store.replace(stored, doc, now):
            raise TossApiError("FORBIDDEN_CONSECUTIVE_REQUEST")
        return Answer(200, _public(doc))

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
            payment_key=_new_payment_key(mid, now),
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

    async def _new_billing_auth(self, mid: str, customer_key: str, card: cards.TestCard, masked: str) -> str:
        """A one-time ``authKey`` for a card, as Toss's billing window hands to ``successUrl``."""
        auth_key = "bln_" + secrets.token_urlsafe(24)
        await self.store.add_billing_auth(mid, auth_key, customer_key, _billing_card(card, masked), self.clock.now())
        return auth_key

    async def window_billing_auth(self, window: WindowRequest, card_number: str, sms_code: str) -> str:
        """The buyer registered a card in the billing window: a one-time ``authKey``."""
        if sms_code.strip() != "000000":
            raise WindowError("RETRY", "인증번호가 올바르지 않습니다. 테스트 인증번호는 000000입니다.")
        number = card_number.replace("-", "").replace(" ", "")
        card = cards.lookup(number)
        if card is None or card.outcome in cards.REFUSED_AT_REGISTRATION:
            raise WindowError("RETRY", "카드 정보를 확인해 주세요. 등록할 수 없는 카드입니다.")
        return await self._new_billing_auth(window.mid, window.customer_key, card, cards.mask(number))

    async def get_payment(self, caller: Caller, _: dict[str, Any], request: Request) -> Answer:
        stored = await self.store.by_key(caller.mid, request.path_params["payment_key"])
        if stored is None:
            raise TossApiError("NOT_FOUND_PAYMENT")
        return Answer(200, _public((await self._expire_if_due(stored)).doc))

    async def get_by_order(self, caller: Caller, _: dict[str, Any], request: Request) -> Answer:
        stored = await self.store.by_order(caller.mid, request.path_params["order_id"])
        if stored is None:
            raise TossApiError("NOT_FOUND_PAYMENT")
        return Answer(200, _public((await self._expire_if_due(stored)).doc))

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
        tax_free = body.get("taxFreeAmount", 0) or 0
        if (
            isinstance(tax_free, bool)
            or not isinstance(tax_free, int)
            or not 0 <= tax_free <= min(amount, doc["taxFreeAmount"])
        ):
            raise TossApiError("INVALID_REQUEST", "taxFreeAmount는 취소 금액과 남은 면세 금액 이하여야 합니다.")
        now = self.clock.now()
        transaction_key = _new_transaction_key()
        remaining = balance - amount
        remaining_tax_free = doc["taxFreeAmount"] - tax_free
        supplied, vat = _vat(remaining, remaining_tax_free)
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
        return Answer(200, _public(doc))

    # -- billing -------------------------------------------------------------------------------

    def _customer_key(self, body: dict[str, Any]) -> str:
        key = body.get("customerKey")
        if not isinstance(key, str) or not CUSTOMER_KEY.match(key):
            raise TossApiError("INVALID_CUSTOMER_KEY")
        return key

    async def _issue(self, caller: Caller, customer_key: str, card_doc: dict[str, Any]) -> Answer:
        billing_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        now = self.clock.now()
        public_card = {k: card_doc[k] for k in ("issuerCode", "acquirerCode", "number", "cardType", "ownerType")}
        billing = {
            "mId": caller.mid,
            "customerKey": customer_key,
            "authenticatedAt": format_time(now),
            "method": "카드",
            "billingKey": billing_key,
            "card": public_card,
            "cardCompany": (card_doc.get("issuerName") or ""),
            "cardNumber": card_doc["number"],
        }
        stored = {**public_card, "outcome": card_doc["outcome"]}
        await self.store.add_billing_key(caller.mid, billing_key, customer_key, stored, now)
        return Answer(200, billing)

    async def billing_from_card(self, caller: Caller, body: dict[str, Any], _: Request) -> Answer:
        customer_key = self._customer_key(body)
        card, masked = self._card(body)
        if body.get("customerIdentityNumber") is None:
            raise TossApiError("INVALID_REQUIRED_PARAM", "필수 파라미터가 누락되었습니다. (customerIdentityNumber)")
        if card.outcome in cards.REFUSED_AT_REGISTRATION:
            raise TossApiError(cards.OUTCOME_ERRORS[card.outcome] or "INVALID_CARD")
        return await self._issue(caller, customer_key, _billing_card(card, masked))

    async def billing_from_auth(self, caller: Caller, body: dict[str, Any], _: Request) -> Answer:
        customer_key = self._customer_key(body)
        auth_key = body.get("authKey")
        if not isinstance(auth_key, str) or not auth_key:
            raise TossApiError("INVALID_REQUIRED_PARAM", "필수 파라미터가 누락되었습니다. (authKey)")
        card_doc = await self.store.use_billing_auth(caller.mid, auth_key, customer_key, self.clock.now())
        if card_doc is None:
            raise TossApiError("INVALID_BILLING_AUTH")
        return await self._issue(caller, customer_key, card_doc)

    async def billing_charge(self, caller: Caller, body: dict[str, Any], request: Request) -> Answer:
        row = await self.store.billing_key(caller.mid, request.path_params["billing_key"])
        if row is None:
            raise TossApiError("NOT_FOUND_BILLING")
        customer_key = self._customer_key(body)
        if customer_key != row.customer_key:
            raise TossApiError("NOT_MATCHES_CUSTOMER_KEY")
        stored = orjson.loads(row.doc)
        card = cards.TestCard(
            cards.Outcome(stored["outcome"]), stored["issuerCode"], stored["acquirerCode"], stored["cardType"]
        )
        return await self._charge(caller, body, request, card, stored["number"], kind="BILLING")

    async def billing_delete(self, caller: Caller, _: dict[str, Any], request: Request) -> Answer:
        if not await self.store.delete_billing_key(caller.mid, request.path_params["billing_key"], self.clock.now()):
            raise TossApiError("NOT_FOUND_BILLING")
        return Answer(200, None)

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

    async def open_billing_auth(self, caller: Caller, body: dict[str, Any], _: Request) -> Answer:
        """A one-time ``authKey`` for a card, as Toss's billing window hands to ``successUrl``."""
        customer_key = self._customer_key(body)
        card, masked = self._card({**body, "cardExpirationYear": "99", "cardExpirationMonth": "12"})
        if card.outcome in cards.REFUSED_AT_REGISTRATION:
            raise TossApiError(cards.OUTCOME_ERRORS[card.outcome] or "INVALID_CARD")
        auth_key = await self._new_billing_auth(caller.mid, customer_key, card, masked)
        return Answer(200, {"authKey": auth_key, "customerKey": customer_key})

    async def ledger(self, caller: Caller, _: dict[str, Any], __: Request) -> Answer:
        return Answer(200, [_public(doc) for doc in await self.store.ledger(caller.mid)])


def _seal_answer(key: bytes, key_hash: str, content: bytes) -> str:
    """A stored idempotent answer may hold a billing key: it is kept sealed (AES-GCM) under a key
    derived from the caller's secret key, which the database does not hold."""
    nonce = secrets.token_bytes(12)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, content, key_hash.encode())).decode()


def _open_answer(key: bytes, key_hash: str, sealed: str) -> bytes:
    raw = base64.b64decode(sealed)
    return AESGCM(key).decrypt(raw[:12], raw[12:], key_hash.encode())


def _identity_ok(value: object) -> bool:
    if not isinstance(value, str) or not value.isdigit():
        return False
    if len(value) == 10:
        return True
    if len(value) != 6:
        return False
    month, day = int(value[2:4]), int(value[4:6])
    return 1 <= month <= 12 and 1 <= day <= 31


def _billing_card(card: cards.TestCard, masked: str) -> dict[str, Any]:
    return {
        "issuerCode": card.issuer_code,
        "acquirerCode": card.acquirer_code,
        "number": masked,
        "cardType": card.card_type,
        "ownerType": "개인",
        "issuerName": (toss_card_name(card.issuer_code) or "").removesuffix("카드"),
        "outcome": card.outcome.value,
    }


def create_sandbox_app(sandbox: Sandbox) -> FastAPI:
    """The sandbox as an ASGI app; the gateway mounts it at ``/sandbox/toss``."""
    app = FastAPI(title="Tollway Toss sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    router = APIRouter()

    def route(method: str, path: str, handler: Handler) -> None:
        async def endpoint(request: Request) -> Response:
            return await sandbox.run(request, handler)

        router.add_api_route(path, endpoint, methods=[method], include_in_schema=False)

    route("POST", "/v1/payments/confirm", sandbox.confirm)
    route("POST", "/v1/payments/key-in", sandbox.key_in)
    route("GET", "/v1/payments/orders/{order_id}", sandbox.get_by_order)
    route("GET", "/v1/payments/{payment_key}", sandbox.get_payment)
    route("POST", "/v1/payments/{payment_key}/cancel", sandbox.cancel)
    route("POST", "/v1/billing/authorizations/card", sandbox.billing_from_card)
    route("POST", "/v1/billing/authorizations/issue", sandbox.billing_from_auth)
    route("POST", "/v1/billing/{billing_key}", sandbox.billing_charge)
    route("DELETE", "/v1/billing/{billing_key}", sandbox.billing_delete)
    route("POST", "/_sandbox/checkout-sessions", sandbox.open_session)
    route("POST", "/_sandbox/billing-auths", sandbox.open_billing_auth)
    route("GET", "/_sandbox/payments", sandbox.ledger)
    route("POST", "/_sandbox/virtual-accounts/{payment_key}/deposit", sandbox.deposit)
    add_routes(router, sandbox)

    @router.get("/_sandbox/receipts/{payment_key}", include_in_schema=False)
    async def receipt(payment_key: str) -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>Sandbox receipt</title>"
            f"<p>Tollway sandbox receipt for payment <code>{_html(payment_key)}</code>. No money moved.</p>"
        )

    app.include_router(router)

    async def not_found(request: Request, exc: Exception) -> Response:
        del request, exc
        return sandbox._error("NOT_FOUND")

    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, lambda r, e: sandbox._error("NOT_FOUND_HTTP_METHOD"))
    return app


def _html(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
