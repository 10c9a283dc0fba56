"""Tables of the merchant console: its users, their sessions, the audit log, and the daily rollups
its dashboard reads. Kept apart from ``models.py`` so that neither file grows past a screenful of
tables; they share one ``Base`` (``models.py`` imports this module, so every table is registered).

Invariants held here:
- an email signs in to one console account (unique);
- a session is found by the SHA-256 of its cookie, never by the cookie itself;
- a rollup row is one (merchant, sandbox, KST day, kind, key); a day is rolled up once it is closed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from tollway.db.models import Base, Payment, PaymentCancel
from tollway.db.types import UTCDateTime


class ConsoleUser(Base):
    """A person who signs in to the console: of one merchant (owner, manager, viewer), or the
    installation's operator (no merchant)."""

    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int | None] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), nullable=True, index=True
    )
    email: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # owner | manager | viewer | operator
    #: argon2id (``argon2-cffi``); the password itself is never stored
    password_hash: Mapped[str] = mapped_column(String(200))
    #: the TOTP secret, sealed by the vault; None while the second factor is off
    totp_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConsoleSession(Base):
    """A signed-in browser. The cookie holds a random token; the row keeps its SHA-256 only."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(300), nullable=True)


class AuditEntry(Base):
    """One state-changing action in the console (or a console command): who, when, what, from where."""

    __tablename__ = "console_audit"
    __table_args__ = (Index("ix_console_audit_merchant_id", "merchant_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("console_users.id", ondelete="SET NULL"), nullable=True)
    #: the actor's email at the time (kept when the user is gone), or ``cli``
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: JSON of what changed; never a secret
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    ok: Mapped[bool] = mapped_column(Boolean, default=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class MerchantOrigin(Base):
    """An origin (``https://shop.example``) a merchant allows: its checkout windows may be opened
    from it, framed by it, and send the buyer back to it (``merchants/origins.py``). None: any."""

    __tablename__ = "merchant_origins"

    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True)
    origin: Mapped[str] = mapped_column(String(300), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DailyStat(Base):
    """A closed KST day's payment figures for the dashboard (``payments/stats.py``): written once
    the day can no longer change, so the dashboard reads 30 rows a breakdown instead of a month of
    payments. ``kind``: paid | failed | cancelled | method | card | decline | done (the day's marker)."""

    __tablename__ = "payment_daily_stats"

    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True)
    sandbox: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD in KST
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)


# The console's searches and the dashboard's live part (today and yesterday), as indexes on the
# ledger's tables. The failed and cancelled ones are partial or on a rarely written table, so the
# charge path (insert ready, update paid) maintains one more index only: the buyer's email.
Index("ix_payments_merchant_buyer_email", Payment.merchant_id, Payment.buyer_email)
Index(
    "ix_payments_merchant_failed",
    Payment.merchant_id,
    Payment.failed_at,
    sqlite_where=text("failed_at IS NOT NULL"),
    postgresql_where=text("failed_at IS NOT NULL"),
)
Index("ix_payment_cancels_cancelled_at", PaymentCancel.cancelled_at)
