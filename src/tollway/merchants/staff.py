"""Console users (a merchant's staff, and the installation's operator), their roles and sessions.

- Passwords are argon2id hashes (``argon2-cffi``); verifying costs tens of milliseconds, so it runs
  in a thread. An unknown email costs the same as a wrong password.
- A session is a random token in an ``HttpOnly`` cookie; the table keeps its SHA-256 only. It
  ends after ``idle`` without a request, after ``ABSOLUTE`` in any case, when its user is disabled,
  and when the user's password changes (every session opened before the change is revoked).
- The CSRF token of a session is derived from its token (an HMAC), so it needs no storage and an
  attacker who cannot read the cookie cannot compute it.
- The optional second factor is TOTP (``pyotp``); its secret is sealed by the vault.

Callers commit.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.clock import Clock
from tollway.db.console_models import ConsoleSession, ConsoleUser
from tollway.errors import BusinessError, InvalidRequest, Unauthorized
from tollway.vault import Secret
from tollway.vault.keyring import Keyring

TOTP_PURPOSE = "console.totp"
ABSOLUTE = timedelta(hours=12)
#: ``last_seen_at`` is written at most this often (a page view is not a write each time)
TOUCH_EVERY = timedelta(minutes=1)
MIN_PASSWORD = 10
BAD_SIGN_IN = "이메일, 비밀번호 또는 인증 코드가 올바르지 않습니다."

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("tollway-dummy-password")


class Role(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    VIEWER = "viewer"
    OPERATOR = "operator"


MERCHANT_ROLES = (Role.OWNER, Role.MANAGER, Role.VIEWER)


class Can(StrEnum):
    """What a role may do in a merchant's console; every route checks one of these on the server."""

    READ = "read"
    CANCEL = "cancel"
    BILLING = "billing"
    WEBHOOKS = "webhooks"
    CHANNELS = "channels"
    KEYS = "keys"
    #: revoke a REST key pair (a manager may stop a leaked key; only owners create keys)
    REVOKE_KEYS = "revoke_keys"
    #: the allowed origins of the payment window and its redirects
    ORIGINS = "origins"
    USERS = "users"
    AUDIT = "audit"


_GRANTS: dict[Role, frozenset[Can]] = {
    Role.OWNER: frozenset(Can),
    Role.MANAGER: frozenset({Can.READ, Can.CANCEL, Can.BILLING, Can.WEBHOOKS, Can.REVOKE_KEYS, Can.ORIGINS}),
    Role.VIEWER: frozenset({Can.READ}),
    # The operator reaches any merchant's console, read-only.
    Role.OPERATOR: frozenset({Can.READ}),
}


def allowed(role: str, action: Can) -> bool:
    try:
        return action in _GRANTS[Role(role)]
    except ValueError:
        return False


def normalize_email(email: str) -> str:
    value = email.strip().lower()
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or len(value) > 200 or any(c.isspace() for c in value):
        raise InvalidRequest("이메일 형식이 올바르지 않습니다.", detail=f"not an email address: {email!r}")
    return value


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidRequest(
            f"비밀번호는 {MIN_PASSWORD}자 이상이어야 합니다.", detail=f"a password has {MIN_PASSWORD}+ characters"
        )


def new_password() -> str:
    """A one-time password to hand to a new user (letters and digits, easy to type)."""
    return secrets.token_urlsafe(12)


@dataclass(frozen=True)
class NewUser:
    user: ConsoleUser
    #: the password when it was generated (shown once), None when the caller gave it
    generated_password: str | None


async def create_user(
    session: AsyncSession,
    clock: Clock,
    *,
    merchant_id: int | None,
    email: str,
    role: str,
    password: str | None = None,
) -> NewUser:
    try:
        parsed = Role(role)
    except ValueError:
        raise InvalidRequest("role must be owner, manager, viewer or operator") from None
    if (parsed == Role.OPERATOR) != (merchant_id is None):
        raise InvalidRequest("an operator has no merchant; every other role belongs to one merchant")
    generated = None if password is not None else new_password()
    clear = password if password is not None else generated
    assert clear is not None
    check_password(clear)
    now = clock.now()
    user = ConsoleUser(
        merchant_id=merchant_id,
        email=normalize_email(email),
        role=parsed.value,
        password_hash=await asyncio.to_thread(_hasher.hash, clear),
        password_changed_at=now,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError:
        raise BusinessError("이미 등록된 이메일입니다.", detail=f"{user.email} already has a console account") from None
    return NewUser(user, generated)


async def _verify(password: str, stored: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


async def authenticate(
    session: AsyncSession, keyring: Keyring, email: str, password: str, code: str | None
) -> ConsoleUser:
    """The user whose email, password (and TOTP code, when set) match; one error for every mismatch."""
    user = await session.scalar(select(ConsoleUser).where(ConsoleUser.email == email.strip().lower()))
    if user is None:
        await _verify(password, _DUMMY)  # as slow as a wrong password
        raise Unauthorized(BAD_SIGN_IN)
    if not await _verify(password, user.password_hash) or user.disabled_at is not None:
        raise Unauthorized(BAD_SIGN_IN)
    if user.totp_sealed is not None:
        secret = (await keyring.open(user.totp_sealed, TOTP_PURPOSE)).reveal()
        if not code or not pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
            raise Unauthorized(BAD_SIGN_IN)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(token: str) -> str:
    """The CSRF token of a session (or of a pre-sign-in cookie): an HMAC of its token."""
    return hmac.new(token.encode(), b"tollway-console-csrf", hashlib.sha256).hexdigest()[:40]


def csrf_matches(token: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_for(token), presented or "")


async def open_session(
    session: AsyncSession, clock: Clock, user: ConsoleUser, ip: str | None, user_agent: str | None
) -> str:
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        ConsoleSession(
            token_hash=_digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            ip=ip,
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    user.last_sign_in_at = now
    await session.flush()
    return token


@dataclass(frozen=True)
class SignedIn:
    session_id: int
    user: ConsoleUser


async def resolve(session: AsyncSession, clock: Clock, token: str, idle: timedelta) -> SignedIn | None:
    """The live session of a cookie, or None (unknown, revoked, idle too long, too old, user disabled
    or password changed since). Touches ``last_seen_at`` at most once a minute."""
    row = (
        await session.execute(
            select(ConsoleSession, ConsoleUser)
            .join(ConsoleUser, ConsoleUser.id == ConsoleSession.user_id)
            .where(ConsoleSession.token_hash == _digest(token), ConsoleSession.revoked_at.is_(None))
        )
    ).one_or_none()
    if row is None:
        return None
    live, user = row
    now = clock.now()
    if (
        now - live.last_seen_at > idle
        or now - live.created_at > ABSOLUTE
        or user.disabled_at is not None
        or live.created_at < user.password_changed_at
    ):
        return None
    if now - live.last_seen_at > TOUCH_EVERY:
        await session.execute(update(ConsoleSession).where(ConsoleSession.id == live.id).values(last_seen_at=now))
        await session.commit()
    return SignedIn(live.id, user)


async def close_session(session: AsyncSession, clock: Clock, token: str) -> None:
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.token_hash == _digest(token), ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


async def revoke_sessions(session: AsyncSession, at: datetime, user_id: int) -> None:
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.user_id == user_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=at)
    )


async def change_password(session: AsyncSession, clock: Clock, user: ConsoleUser, current: str, new: str) -> None:
    """Every session of the user ends, this one included: the caller opens a new one."""
    if not await _verify(current, user.password_hash):
        raise InvalidRequest("현재 비밀번호가 올바르지 않습니다.", detail="the current password does not match")
    check_password(new)
    now = clock.now()
    user.password_hash = await asyncio.to_thread(_hasher.hash, new)
    user.password_changed_at = now
    await revoke_sessions(session, now, user.id)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="Tollway")


def enable_totp(keyring: Keyring, user: ConsoleUser, secret: str, code: str) -> None:
    """Turns the second factor on once the user proved their app shows the codes of ``secret``."""
    if len(secret) < 16 or not pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
        raise InvalidRequest("인증 코드가 올바르지 않습니다.", detail="the code does not match the new secret")
    user.totp_sealed = keyring.seal(Secret(secret), TOTP_PURPOSE)


def disable_totp(user: ConsoleUser) -> None:
    user.totp_sealed = None


async def users_of(session: AsyncSession, merchant_id: int) -> list[ConsoleUser]:
    rows = await session.scalars(
        select(ConsoleUser).where(ConsoleUser.merchant_id == merchant_id).order_by(ConsoleUser.id)
    )
    return list(rows)


async def user_of(session: AsyncSession, merchant_id: int, user_id: int) -> ConsoleUser:
    user = await session.scalar(
        select(ConsoleUser).where(ConsoleUser.id == user_id, ConsoleUser.merchant_id == merchant_id)
    )
    if user is None:
        raise InvalidRequest("존재하지 않는 사용자입니다.", detail=f"no user {user_id} in this merchant")
    return user


async def set_role(session: AsyncSession, merchant_id: int, user_id: int, role: str) -> ConsoleUser:
    if role not in MERCHANT_ROLES:
        raise InvalidRequest("role must be owner, manager or viewer")
    user = await user_of(session, merchant_id, user_id)
    if user.role == Role.OWNER and role != Role.OWNER:
        await _keep_an_owner(session, merchant_id, user.id)
    user.role = role
    return user


async def set_disabled(
    session: AsyncSession, clock: Clock, merchant_id: int, user_id: int, disabled: bool
) -> ConsoleUser:
    user = await user_of(session, merchant_id, user_id)
    if disabled:
        if user.role == Role.OWNER:
            await _keep_an_owner(session, merchant_id, user.id)
        user.disabled_at = clock.now()
        await revoke_sessions(session, clock.now(), user.id)
    else:
        user.disabled_at = None
    return user


async def _keep_an_owner(session: AsyncSession, merchant_id: int, leaving: int) -> None:
    others = await session.scalar(
        select(ConsoleUser.id).where(
            ConsoleUser.merchant_id == merchant_id,
            ConsoleUser.role == Role.OWNER,
            ConsoleUser.disabled_at.is_(None),
            ConsoleUser.id != leaving,
        )
    )
    if others is None:
        raise BusinessError("마지막 소유자는 변경할 수 없습니다.", detail="a merchant keeps at least one active owner")
