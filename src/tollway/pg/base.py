"""The connector interface: what Tollway asks of a PG, in PG-neutral types.

Every call either returns a result or raises one of three errors, and the caller's next step
depends only on which:

- ``PgDeclined``: the PG (or the card company) said no. Nothing was charged; V1 answers ``code 0``
  with ``status: "failed"``.
- ``PgRejected``: the request itself was refused (bad card data, bad parameters, bad keys).
  Nothing was charged; V1 answers ``code != 0``.
- ``PgUnknown``: no usable answer (timeout, connection lost, 5xx, "still processing"). The
  outcome is *unknown*: the caller must keep the record pending and reconcile by lookup, never
  retry a charge blindly.

Card data and billing keys travel as ``Secret`` so that no ``repr``, log line or error can show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from tollway.vault import Secret


class PgError(Exception):
    """Base of the three outcomes; ``code``/``message`` are the PG's own."""

    def __init__(self, code: str, message: str, *, http_status: int | None = None) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message
        self.http_status = http_status


class PgDeclined(PgError):
    """A definitive no from the card company or the PG: nothing charged."""


class PgRejected(PgError):
    """The request was refused before anything could be charged."""


class PgNotFound(PgRejected):
    """A lookup found nothing (``NOT_FOUND_PAYMENT``, ``NOT_FOUND_BILLING``…)."""


class PgUnknown(PgError):
    """No usable answer; the outcome must be reconciled."""


@dataclass(frozen=True, repr=False)
class CardData:
    """What a buyer types for a key-in payment or a billing key. Never stored, never logged."""

    number: Secret  # digits only
    expiry_year: Secret  # YY
    expiry_month: Secret  # MM
    identity: Secret | None  # birth YYMMDD or a 10-digit business number
    password_2digit: Secret | None = None

    def __repr__(self) -> str:
        return "CardData(***)"


@dataclass(frozen=True)
class Buyer:
    name: str | None = None
    email: str | None = None
    tel: str | None = None


@dataclass(frozen=True)
class ChargeRequest:
    """One charge: ``order_id`` is Tollway's own id for the attempt (the imp_uid)."""

    order_id: str
    order_name: str
    amount: int
    tax_free: int = 0
    installment_months: int = 0
    interest_free: bool = False
    use_card_point: bool = False
    buyer: Buyer = field(default_factory=Buyer)
    buyer_ip: str | None = None


@dataclass(frozen=True)
class VirtualAccountTerms:
    """What a virtual account adds to a charge: the bank, the deposit deadline and, for a fixed
    (고정) account, the key that gives the same buyer the same account again."""

    bank: str  # the PG's bank code
    due: datetime
    account_key: str | None = None


@dataclass(frozen=True, repr=False)
class CashReceiptRequest:
    """A cash receipt (현금영수증) for ``amount``. ``identifier`` is the buyer's phone, resident or
    business registration or cash-receipt card number: sent to the PG, never stored in clear."""

    order_id: str
    order_name: str
    amount: int
    identifier: Secret
    #: ``deduction`` (소득공제, a person) or ``proof`` (지출증빙, a business)
    purpose: str = "deduction"
    tax_free: int = 0

    def __repr__(self) -> str:
        return f"CashReceiptRequest(order_id={self.order_id!r}, amount={self.amount}, identifier=***)"


@dataclass(frozen=True)
class PgCashReceipt:
    """A cash receipt as the PG sees it. ``issue_status`` is the PG's own (Toss: IN_PROGRESS,
    COMPLETED, FAILED); the tax office's verdict comes a day or two after the request."""

    receipt_key: str
    order_id: str
    amount: int
    tax_free: int
    issue_status: str
    transaction_type: str  # CONFIRM (an issue) or CANCEL
    purpose: str | None  # deduction / proof
    issue_number: str | None
    receipt_url: str | None
    requested_at: datetime | None
    failure_code: str | None = None
    failure_message: str | None = None


@dataclass(frozen=True)
class RefundAccount:
    bank: str  # the PG's bank code
    number: str
    holder: str


@dataclass(frozen=True)
class CancelRequest:
    reason: str
    amount: int | None = None  # None: everything that is left
    tax_free: int = 0
    #: the balance the caller believes is left; the PG refuses the cancel when it differs.
    expected_balance: int | None = None
    refund_account: RefundAccount | None = None


@dataclass(frozen=True)
class PgCard:
    issuer_code: str | None  # the PG's own code
    acquirer_code: str | None
    number: str | None  # masked
    installment_months: int = 0
    approve_no: str | None = None
    card_type: str | None = None  # 신용 / 체크 / 기프트 / 미확인
    owner_type: str | None = None
    interest_free: bool = False


@dataclass(frozen=True)
class PgCancel:
    transaction_key: str
    amount: int
    tax_free: int
    reason: str | None
    canceled_at: datetime
    receipt_key: str | None = None


@dataclass(frozen=True)
class PgVirtualAccount:
    account_number: str
    bank_code: str | None  # the PG's own bank code
    customer_name: str | None
    due_date: datetime | None
    expired: bool = False


@dataclass(frozen=True)
class PgEasyPay:
    """An easy pay (간편결제) inside the PG's window. ``amount`` is what the provider's balance or
    points paid; a card behind it shows as the payment's ``card``."""

    provider: str  # the PG's name for it (Toss: the Korean display name, 카카오페이)
    amount: int = 0
    discount: int = 0


@dataclass(frozen=True)
class PgPayment:
    """A payment as the PG sees it. ``status`` is the PG's own (Toss: DONE, CANCELED, ABORTED…)."""

    payment_key: str
    order_id: str
    status: str
    method: str | None
    total_amount: int
    balance_amount: int
    requested_at: datetime | None
    approved_at: datetime | None
    card: PgCard | None = None
    receipt_url: str | None = None
    cancels: tuple[PgCancel, ...] = ()
    failure_code: str | None = None
    failure_message: str | None = None
    mid: str | None = None
    type: str | None = None
    virtual_account: PgVirtualAccount | None = None
    transfer_bank: str | None = None  # the PG's bank code of an account transfer
    easy_pay: PgEasyPay | None = None
    phone_number: str | None = None  # masked; a phone (휴대폰) payment's number
    gift_approve_no: str | None = None  # a gift-certificate payment's approval number

    @property
    def is_waiting_for_deposit(self) -> bool:
        return self.status == "WAITING_FOR_DEPOSIT" and self.virtual_account is not None

    @property
    def is_approved(self) -> bool:
        return self.status in ("DONE", "PARTIAL_CANCELED", "CANCELED") and self.approved_at is not None

    @property
    def is_failed(self) -> bool:
        return self.status in ("ABORTED", "EXPIRED")

    @property
    def is_revoked(self) -> bool:
        """An unpaid virtual account cancelled at the PG (nothing was ever deposited)."""
        return self.status == "CANCELED" and self.approved_at is None and self.virtual_account is not None


@dataclass(frozen=True, repr=False)
class PgBillingKey:
    billing_key: Secret
    customer_key: str
    card: PgCard | None
    authenticated_at: datetime | None

    def __repr__(self) -> str:
        return f"PgBillingKey(customer_key={self.customer_key!r}, billing_key=***)"


class PgConnector(Protocol):
    """One channel's PG. ``idempotency_key`` is derived from Tollway's own record of the attempt."""

    async def confirm(self, payment_key: str, order_id: str, amount: int, *, idempotency_key: str) -> PgPayment: ...

    async def get_payment(self, payment_key: str) -> PgPayment: ...

    async def get_payment_by_order(self, order_id: str) -> PgPayment: ...

    async def cancel(self, payment_key: str, request: CancelRequest, *, idempotency_key: str) -> PgPayment: ...

    async def key_in(self, card: CardData, charge: ChargeRequest, *, idempotency_key: str) -> PgPayment: ...

    async def issue_billing_key(
        self, card: CardData, customer_key: str, buyer: Buyer, *, idempotency_key: str
    ) -> PgBillingKey: ...

    async def issue_billing_key_from_auth(
        self, auth_key: str, customer_key: str, *, idempotency_key: str
    ) -> PgBillingKey: ...

    async def charge_billing_key(
        self, billing_key: Secret, customer_key: str, charge: ChargeRequest, *, idempotency_key: str
    ) -> PgPayment: ...

    async def delete_billing_key(self, billing_key: Secret) -> None: ...

    async def issue_virtual_account(
        self, charge: ChargeRequest, account: VirtualAccountTerms, *, idempotency_key: str
    ) -> PgPayment: ...

    async def issue_cash_receipt(self, request: CashReceiptRequest, *, idempotency_key: str) -> PgCashReceipt: ...

    async def cancel_cash_receipt(
        self, receipt_key: str, *, amount: int | None = None, idempotency_key: str
    ) -> PgCashReceipt: ...
