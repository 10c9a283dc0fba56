"""The sandbox PG's core: the request pipeline every Toss endpoint goes through (Basic auth,
idempotency, ``TossPayments-Test-Code``, Toss's error bodies), the validation the charge endpoints
share, the payment document, and settling a test card's outcome. Each Toss resource is a subclass
in its own module (``sandbox.payments``, ``sandbox.billing``); ``sandbox.app`` combines them."""

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
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import Request
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from tollway.clock import Clock
from tollway.db.driver import Driver
from tollway.db.engine import Sessions
from tollway.pg.toss.errors import CATALOGUE
from tollway.pg.toss.wire import KST, format_time
from tollway.sandbox import cards
from tollway.sandbox.store import Store, StoredPayment, digest

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


def random_text(alphabet: str, length: int) -> str:
    """``length`` characters drawn uniformly from ``alphabet`` (at most 256) with one read of the
    OS's random source, where ``secrets.choice`` read it once per character (4% of a charge's CPU)."""
    size = len(alphabet)
    limit = 256 - 256 % size  # bytes at or above it would favour the first characters: dropped
    drawn: list[str] = []
    while len(drawn) < length:
        drawn.extend(alphabet[b % size] for b in secrets.token_bytes(2 * length) if b < limit)
    return "".join(drawn[:length])


def new_payment_key(mid: str, now: datetime) -> str:
    """The observed form: the MID's first 5 characters, KST yyyyMMddHHmmss, 5 base62 (reference §3.4)."""
    stamp = now.astimezone(KST).strftime("%Y%m%d%H%M%S")
    return f"{(mid + 'xxxxx')[:5]}{stamp}{random_text(BASE62, 5)}"


def new_transaction_key() -> str:
    return "txrd_" + random_text(string.ascii_lowercase + string.digits, 26)


def split_vat(amount: int, tax_free: int) -> tuple[int, int]:
    """(suppliedAmount, vat): vat = round((amount − taxFree) / 11) half-up (reference §3.1)."""
    taxable = max(amount - tax_free, 0)
    vat = int((Decimal(taxable) / Decimal(11)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return taxable - vat, vat


def public_doc(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != PRIVATE}


class SandboxCore:
    def __init__(self, sessions: Sessions, clock: Clock, config: SandboxConfig, db: Driver) -> None:
        self.store = Store(sessions, db)
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
        supplied, vat = split_vat(amount, tax_free)
        transaction_key = new_transaction_key() if approved else None
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
        body = public_doc(doc)
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
            payment_key=new_payment_key(caller.mid, self.clock.now()),
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
