"""Tables. Unique constraints carry the invariants; the services rely on them, not on luck.

Invariants held here:
- a user code, an ``imp_key``, a channel key and an ``imp_uid`` are each unique;
- one token row per API key (so concurrent ``getToken`` calls converge on one token);
- one default channel per merchant (partial unique index);
- one ``(merchant, pg_provider, mid)`` per channel;
- one prepared amount per ``(merchant, merchant_uid)``;
- at most one payment per ``(merchant, merchant_uid)`` *holds* the merchant_uid (paid, cancelled,
  or with a PG call in flight): ``merchant_uid_hold`` is the merchant_uid while it holds, NULL otherwise,
  and NULLs never collide.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tollway.db.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Merchant(Base):
    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    imp_key: Mapped[str] = mapped_column(String(64), unique=True)
    #: ``hmac-sha256$<data key id>$<digest>`` (legacy: ``scrypt$…``); the secret is shown once, never stored.
    secret_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AccessToken(Base):
    """The one live token of an API key (V1 hands the same token out until it expires)."""

    __tablename__ = "access_tokens"

    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: sealed so that a repeat ``getToken`` can hand the same token back.
    token_sealed: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PgChannel(Base):
    __tablename__ = "pg_channels"
    __table_args__ = (
        UniqueConstraint("merchant_id", "pg_provider", "mid", name="uq_pg_channels_merchant_provider_mid"),
        Index(
            "uq_pg_channels_one_default",
            "merchant_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    channel_key: Mapped[str] = mapped_column(String(64), unique=True)
    channel_name: Mapped[str] = mapped_column(String(100))
    pg_provider: Mapped[str] = mapped_column(String(32))
    mid: Mapped[str] = mapped_column(String(64))
    client_key: Mapped[str] = mapped_column(String(200))
    secret_key_sealed: Mapped[str] = mapped_column(Text)
    api_version: Mapped[str] = mapped_column(String(16))
    sandbox: Mapped[bool] = mapped_column(Boolean)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaymentPrepare(Base):
    __tablename__ = "payment_prepares"
    __table_args__ = (UniqueConstraint("merchant_id", "merchant_uid", name="uq_payment_prepares_merchant_uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    merchant_uid: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Payment(Base):
    """One payment attempt, with every V1 field. ``status`` moves only through ``payments.states``."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("merchant_id", "merchant_uid_hold", name="uq_payments_merchant_uid_hold"),
        Index("ix_payments_merchant_uid", "merchant_id", "merchant_uid", "started_at"),
        Index("ix_payments_merchant_status_started", "merchant_id", "status", "started_at"),
        Index("ix_payments_merchant_started", "merchant_id", "started_at"),
        Index("ix_payments_merchant_paid", "merchant_id", "paid_at"),
        Index("ix_payments_merchant_updated", "merchant_id", "updated_at"),
        Index(
            "ix_payments_pg_op_at",
            "pg_op_at",
            sqlite_where=text("pg_op IS NOT NULL"),
            postgresql_where=text("pg_op IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    imp_uid: Mapped[str] = mapped_column(String(32), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("pg_channels.id"), nullable=True)
    merchant_uid: Mapped[str] = mapped_column(String(40))
    merchant_uid_hold: Mapped[str | None] = mapped_column(String(40), nullable=True)

    pay_method: Mapped[str] = mapped_column(String(32), default="card")
    channel: Mapped[str] = mapped_column(String(8), default="api")
    pg_provider: Mapped[str] = mapped_column(String(32))
    emb_pg_provider: Mapped[str | None] = mapped_column(String(32), nullable=True)
    pg_tid: Mapped[str | None] = mapped_column(String(200), nullable=True)
    pg_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sandbox: Mapped[bool] = mapped_column(Boolean, default=False)
    escrow: Mapped[bool] = mapped_column(Boolean, default=False)

    apply_num: Mapped[str | None] = mapped_column(String(32), nullable=True)
    bank_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    bank_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    card_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    card_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    card_issuer_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    card_issuer_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    card_publisher_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    card_publisher_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    card_quota: Mapped[int] = mapped_column(Integer, default=0)
    #: masked only; the clear number never reaches storage.
    card_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    card_type: Mapped[int | None] = mapped_column(Integer, nullable=True)

    vbank_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    vbank_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    vbank_num: Mapped[str | None] = mapped_column(String(40), nullable=True)
    vbank_holder: Mapped[str | None] = mapped_column(String(50), nullable=True)
    vbank_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    vbank_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    cancel_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_free: Mapped[int] = mapped_column(BigInteger, default=0)
    vat_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str] = mapped_column(String(3), default="KRW")

    buyer_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    buyer_email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    buyer_tel: Mapped[str | None] = mapped_column(String(40), nullable=True)
    buyer_addr: Mapped[str | None] = mapped_column(String(400), nullable=True)
    buyer_postcode: Mapped[str | None] = mapped_column(String(20), nullable=True)
    custom_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: JSON list of URLs (V1's ``notice_url`` is a string or an array).
    notice_url: Mapped[str | None] = mapped_column(Text, nullable=True)

    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fail_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(256), nullable=True)
    receipt_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    cash_receipt_issued: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_uid: Mapped[str | None] = mapped_column(String(80), nullable=True)
    customer_uid_usage: Mapped[str | None] = mapped_column(String(32), nullable=True)
    promotion_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    promotion_discount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: A PG call whose answer is not recorded yet: ``approve`` or ``cancel`` (None when idle).
    #: Set and committed *before* the call, cleared with its outcome; a payment left with one
    #: (timeout, crash) is resolved by ``payments.reconcile`` looking the order up at the PG.
    pg_op: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: what the pending call was about (the cancellation id of a cancel; for an approval, the imp_uid).
    pg_op_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    pg_op_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    pg_op_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    cancels: Mapped[list[PaymentCancel]] = relationship(
        back_populates="payment", order_by="PaymentCancel.id", lazy="raise"
    )


class CheckoutSession(Base):
    """One ``IMP.request_pay`` window: what the buyer's browser may do with it, and how it ended.

    The browser holds a random token; only its SHA-256 digest is stored. ``state`` moves
    ``open → returned → done`` by conditional updates, so a success URL loaded twice (a reload, a
    double click) confirms at the PG once and shows the stored result the second time.
    """

    __tablename__ = "checkout_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("pg_channels.id"))
    #: the window's ``ready`` payment (None for a billing-key window, which charges nothing)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # payment | billing
    #: the merchant page's origin: the only one the result is posted to
    origin: Mapped[str] = mapped_column(String(300))
    mode: Mapped[str] = mapped_column(String(16))  # iframe | redirect
    redirect_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    merchant_uid: Mapped[str] = mapped_column(String(40))
    #: the PG window's method and parameters (JSON), success/fail URLs added when it opens
    pg_method: Mapped[str] = mapped_column(String(32))
    pg_params: Mapped[str] = mapped_column(Text)
    customer_uid: Mapped[str | None] = mapped_column(String(80), nullable=True)
    customer_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    #: buyer fields stored on the billing customer (JSON), billing windows only
    customer_fields: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(16))  # open | returned | done
    #: the V1 result object handed to the callback or the redirect (JSON), once done
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PaymentCancel(Base):
    """One entry of ``cancel_history``; rows are only ever added."""

    __tablename__ = "payment_cancels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    cancellation_id: Mapped[str] = mapped_column(String(64), unique=True)
    pg_tid: Mapped[str | None] = mapped_column(String(200), nullable=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    tax_free: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str | None] = mapped_column(String(256), nullable=True)
    receipt_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    cancelled_at: Mapped[datetime] = mapped_column(UTCDateTime)

    payment: Mapped[Payment] = relationship(back_populates="cancels", lazy="raise")


class CashReceipt(Base):
    """A cash receipt (현금영수증) at a channel's PG, for a payment or stand-alone (``payments.receipts``).
    ``live_key`` is set while it is issuing, issued or cancelling: one live receipt per payment or
    external merchant_uid. The buyer's identifier is never stored, only a masked form."""

    __tablename__ = "cash_receipts"
    __table_args__ = (
        UniqueConstraint("merchant_id", "live_key", name="uq_cash_receipts_merchant_live_key"),
        Index("ix_cash_receipts_merchant_uid", "merchant_id", "kind", "merchant_uid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Tollway's own id of the receipt, sent to the PG as its ``orderId``
    receipt_uid: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # payment | external
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True, index=True)
    merchant_uid: Mapped[str] = mapped_column(String(40))
    live_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("pg_channels.id"))
    pg_provider: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    receipt_key: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the PG's
    apply_num: Mapped[str | None] = mapped_column(String(32), nullable=True)  # 국세청 승인번호
    receipt_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    type: Mapped[str] = mapped_column(String(16))  # person (소득공제) | company (지출증빙)
    identifier_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: masked (``*******5678``); the clear identifier never reaches storage
    identifier_masked: Mapped[str] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    tax_free: Mapped[int] = mapped_column(BigInteger, default=0)
    vat: Mapped[int] = mapped_column(BigInteger, default=0)
    buyer_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    buyer_email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    buyer_tel: Mapped[str | None] = mapped_column(String(40), nullable=True)
    fail_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VaultKey(Base):
    """A data key, wrapped (sealed) by the master key. One is active: new values are sealed under it."""

    __tablename__ = "vault_keys"
    __table_args__ = (
        Index(
            "uq_vault_keys_one_active",
            "active",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    key_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    wrapped: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BillingCustomer(Base):
    """A ``customer_uid``: one billing key at one channel's PG, which no API response ever shows."""

    __tablename__ = "billing_customers"
    __table_args__ = (UniqueConstraint("merchant_id", "customer_uid", name="uq_billing_customers_merchant_uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    customer_uid: Mapped[str] = mapped_column(String(80))
    channel_id: Mapped[int] = mapped_column(ForeignKey("pg_channels.id"))
    pg_provider: Mapped[str] = mapped_column(String(32))
    pg_id: Mapped[str] = mapped_column(String(64))
    sandbox: Mapped[bool] = mapped_column(Boolean)
    #: Toss's ``customerKey`` (V1 ``customer_id``).
    customer_id: Mapped[str] = mapped_column(String(300))
    #: sealed by the vault (purpose ``billing.key``); opened only to hand it to the connector.
    billing_key_sealed: Mapped[str] = mapped_column(Text)
    card_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    card_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    card_issuer_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    card_issuer_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    card_publisher_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    card_publisher_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    card_number: Mapped[str | None] = mapped_column(String(32), nullable=True)  # masked
    card_type: Mapped[int | None] = mapped_column(Integer, nullable=True)
    customer_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    customer_tel: Mapped[str | None] = mapped_column(String(40), nullable=True)
    customer_email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    customer_addr: Mapped[str | None] = mapped_column(String(400), nullable=True)
    customer_postcode: Mapped[str | None] = mapped_column(String(20), nullable=True)
    inserted: Mapped[datetime] = mapped_column(UTCDateTime)
    updated: Mapped[datetime] = mapped_column(UTCDateTime)


class PaymentSchedule(Base):
    """One scheduled charge of a ``customer_uid``. ``schedule_status`` is V1's; ``executing`` is
    Tollway's claim by a worker (shown to V1 as ``scheduled``)."""

    __tablename__ = "payment_schedules"
    __table_args__ = (
        UniqueConstraint("merchant_id", "merchant_uid", name="uq_payment_schedules_merchant_uid"),
        Index("ix_payment_schedules_due", "schedule_status", "due_at"),
        Index("ix_payment_schedules_customer", "merchant_id", "customer_uid", "schedule_at"),
        Index("ix_payment_schedules_merchant_at", "merchant_id", "schedule_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    customer_uid: Mapped[str] = mapped_column(String(80))
    customer_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    merchant_uid: Mapped[str] = mapped_column(String(40))
    schedule_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: when the worker takes it: ``schedule_at``, moved earlier by a sandbox merchant's test clock.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    amount: Mapped[int] = mapped_column(BigInteger)
    tax_free: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="KRW")
    card_quota: Mapped[int] = mapped_column(Integer, default=0)
    interest_free: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    buyer_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    buyer_email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    buyer_tel: Mapped[str | None] = mapped_column(String(40), nullable=True)
    buyer_addr: Mapped[str | None] = mapped_column(String(400), nullable=True)
    buyer_postcode: Mapped[str | None] = mapped_column(String(20), nullable=True)
    custom_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    notice_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    pg_provider: Mapped[str | None] = mapped_column(String(32), nullable=True)
    pg_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    schedule_status: Mapped[str] = mapped_column(String(16))
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    imp_uid: Mapped[str | None] = mapped_column(String(32), nullable=True)
    payment_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    fail_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MerchantTestClock(Base):
    """A sandbox merchant's time travel: how far its schedules have been moved forward."""

    __tablename__ = "test_clocks"

    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True)
    offset_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookSettings(Base):
    """A merchant's notification settings (V1's console "결제알림(Webhook) 관리")."""

    __tablename__ = "webhook_settings"

    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True)
    #: used when a payment has no ``notice_url``
    default_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    content_type: Mapped[str] = mapped_column(String(8), default="json")  # json | form
    #: 1 = V1-strict single attempt
    max_attempts: Mapped[int] = mapped_column(Integer, default=12)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookSecret(Base):
    """A signing secret (Standard Webhooks ``whsec_…``), sealed. Two can be live during a rotation."""

    __tablename__ = "webhook_secrets"
    __table_args__ = (
        Index(
            "uq_webhook_secrets_one_current",
            "merchant_id",
            unique=True,
            sqlite_where=text("expires_at IS NULL"),
            postgresql_where=text("expires_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    secret_sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: None while current; set when rotated out (it still signs until then)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookNotification(Base):
    """The outbox: one V1 notification to one URL, written in the transaction of the change it reports."""

    __tablename__ = "webhook_notifications"
    __table_args__ = (
        Index("ix_webhook_notifications_due", "state", "next_attempt_at"),
        Index("ix_webhook_notifications_merchant_created", "merchant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(40), unique=True)  # Standard Webhooks' webhook-id
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    imp_uid: Mapped[str] = mapped_column(String(32))
    merchant_uid: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    cancellation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    url: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(8))
    max_attempts: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12))  # pending | delivering | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)


class WebhookAttempt(Base):
    """One delivery attempt: when, where, what came back, how long it took."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("webhook_notifications.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    url: Mapped[str] = mapped_column(String(500))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[int] = mapped_column(Integer)
    excerpt: Mapped[str | None] = mapped_column(String(300), nullable=True)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)


# -- the embedded Toss-compatible sandbox PG (``tollway.sandbox``) -----------------------------
# Its own tables, so that it can run alone against its own database. It keeps no card number:
# only masked numbers and the outcome a test card asks for; billing keys as SHA-256 digests.


class SandboxMerchant(Base):
    """A sandbox MID and its key pair; the secret key is kept as a SHA-256 digest."""

    __tablename__ = "sandbox_merchants"

    secret_key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    mid: Mapped[str] = mapped_column(String(64))
    client_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SandboxPayment(Base):
    """One Toss Payment object (``doc``, JSON), with the columns lookups need."""

    __tablename__ = "sandbox_payments"
    __table_args__ = (UniqueConstraint("mid", "order_id", name="uq_sandbox_payments_mid_order"),)

    payment_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    mid: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    #: optimistic lock: every write is ``WHERE version = :seen``.
    version: Mapped[int] = mapped_column(Integer, default=0)
    doc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SandboxIdempotency(Base):
    """Toss's idempotency record: (secret key, method, path, key) → the first answer, 15 days."""

    __tablename__ = "sandbox_idempotency"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # processing | done
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SandboxCashReceipt(Base):
    """One Toss CashReceipt (``doc``, JSON, with its cancels): the identifier is kept masked only."""

    __tablename__ = "sandbox_cash_receipts"
    __table_args__ = (UniqueConstraint("mid", "order_id", name="uq_sandbox_cash_receipts_mid_order"),)

    receipt_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    mid: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str] = mapped_column(String(64))
    #: optimistic lock: a cancel is ``WHERE version = :seen``
    version: Mapped[int] = mapped_column(Integer, default=0)
    doc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SandboxBillingKey(Base):
    __tablename__ = "sandbox_billing_keys"

    billing_key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    mid: Mapped[str] = mapped_column(String(64))
    customer_key: Mapped[str] = mapped_column(String(300))
    #: the Billing object without its key, plus the test card's outcome for later charges.
    doc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SandboxBillingAuth(Base):
    """A one-time ``authKey`` from the sandbox billing window, exchanged for a billing key once."""

    __tablename__ = "sandbox_billing_auths"

    auth_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    mid: Mapped[str] = mapped_column(String(64))
    customer_key: Mapped[str] = mapped_column(String(300))
    doc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


from tollway.db import auth_models as _a  # noqa: E402, F401 - registers their tables
