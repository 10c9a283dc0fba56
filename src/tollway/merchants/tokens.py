"""V1 access tokens: ``POST /users/getToken`` and the check every other call makes.

The V1 rules (reference §1.2): a token lives 30 minutes; asking again while it is valid returns
the same token and ``expired_at``; when one minute or less is left, that call extends it by five
minutes; after expiry a new token is issued. One row per API key holds the live token, so racing
callers converge on one token (conditional updates and the primary key decide the race).

Checking a token costs no database round trip while it is cached here; the cache only remembers
what the database said, and a cached expiry that has passed sends the check back to the database
(where the token may have been extended).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tollway.clock import Clock
from tollway.db.models import AccessToken, ApiKey
from tollway.errors import Unauthorized
from tollway.merchants.ids import new_access_token
from tollway.merchants.passwords import KeyCheckCache, hash_secret, verify_secret
from tollway.vault.keyring import Keyring

LIFETIME = timedelta(minutes=30)
EXTEND_WHEN_LEFT = timedelta(minutes=1)
EXTENSION = timedelta(minutes=5)
_TOKEN_PURPOSE = "access_token"
_DUMMY_HASH = hash_secret("tollway-dummy-secret")

BAD_PAIR = "imp_key, imp_secret 인증에 실패하였습니다. (no active REST API key pair matches imp_key and imp_secret)"
NO_TOKEN = (
    "인증 토큰이 전달되지 않았습니다. (send the access token from POST /users/getToken as "
    "`Authorization: <token>`, `Authorization: Bearer <token>` or `X-ImpTokenHeader: <token>`)"
)
BAD_TOKEN = (
    "유효하지 않은 인증 토큰입니다. (the access token is unknown or expired; get a new one from POST /users/getToken)"
)


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    now: datetime
    expired_at: datetime


@dataclass(frozen=True)
class Principal:
    """Who is calling: every lookup is scoped to ``merchant_id``."""

    merchant_id: int
    api_key_id: int


@dataclass(frozen=True)
class _Cached:
    principal: Principal
    expires_at: datetime


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], vault: Keyring, clock: Clock, cache_size: int = 10_000
    ) -> None:
        self._sessions = sessions
        self._vault = vault
        self._clock = clock
        self._keys = KeyCheckCache()
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._cache_size = cache_size

    async def issue(self, imp_key: str, imp_secret: str) -> IssuedToken:
        async with self._sessions() as session:
            key = await session.scalar(select(ApiKey).where(ApiKey.imp_key == imp_key, ApiKey.revoked_at.is_(None)))
            if key is None:
                await asyncio.to_thread(verify_secret, imp_secret, _DUMMY_HASH)  # same cost as a wrong secret
                raise Unauthorized(BAD_PAIR)
            if not await self._verify(imp_key, imp_secret, key.secret_hash):
                raise Unauthorized(BAD_PAIR)
            key_id, merchant_id = key.id, key.merchant_id  # plain values: a rollback below expires ``key``
            for _ in range(5):
                issued = await self._issue_once(session, key_id, merchant_id)
                if issued is not None:
                    await session.commit()
                    return issued
                await session.rollback()
        raise RuntimeError("could not settle a token after 5 tries")  # pragma: no cover - needs 5 lost races

    async def _verify(self, imp_key: str, secret: str, stored: str) -> bool:
        if self._keys.seen(imp_key, secret, stored):
            return True
        if not await asyncio.to_thread(verify_secret, secret, stored):
            return False
        self._keys.remember(imp_key, secret, stored)
        return True

    async def _issue_once(self, session: AsyncSession, key_id: int, merchant_id: int) -> IssuedToken | None:
        """One attempt; ``None`` when another caller changed the row first (then try again)."""
        now = self._clock.now()
        row = (
            await session.execute(
                select(AccessToken.token_hash, AccessToken.token_sealed, AccessToken.expires_at).where(
                    AccessToken.api_key_id == key_id
                )
            )
        ).one_or_none()
        if row is not None and row.expires_at > now:
            expires_at = row.expires_at
            if expires_at - now <= EXTEND_WHEN_LEFT:
                extended = expires_at + EXTENSION
                result = await session.execute(
                    update(AccessToken)
                    .where(
                        AccessToken.api_key_id == key_id,
                        AccessToken.token_hash == row.token_hash,
                        AccessToken.expires_at < extended,
                    )
                    .values(expires_at=extended)
                )
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    return None
                expires_at = extended
            token = (await self._vault.open(row.token_sealed, _TOKEN_PURPOSE)).reveal()
            return IssuedToken(token, now, expires_at)

        token = new_access_token()
        values = {
            "token_hash": token_digest(token),
            "token_sealed": self._vault.seal(token, _TOKEN_PURPOSE),
            "issued_at": now,
            "expires_at": now + LIFETIME,
        }
        if row is None:
            try:
                async with session.begin_nested():
                    await session.execute(
                        insert(AccessToken).values(api_key_id=key_id, merchant_id=merchant_id, **values)
                    )
            except IntegrityError:
                return None
        else:
            result = await session.execute(
                update(AccessToken)
                .where(AccessToken.api_key_id == key_id, AccessToken.token_hash == row.token_hash)
                .values(**values)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return None
            self._cache.pop(row.token_hash, None)
        return IssuedToken(token, now, now + LIFETIME)

    async def authenticate(self, token: str) -> Principal:
        digest = token_digest(token)
        now = self._clock.now()
        cached = self._cache.get(digest)
        if cached is not None and cached.expires_at > now:
            return cached.principal
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(AccessToken.merchant_id, AccessToken.api_key_id, AccessToken.expires_at)
                    .join(ApiKey, ApiKey.id == AccessToken.api_key_id)
                    .where(AccessToken.token_hash == digest, ApiKey.revoked_at.is_(None))
                )
            ).one_or_none()
        if row is None or row.expires_at <= now:
            self._cache.pop(digest, None)
            raise Unauthorized(BAD_TOKEN)
        principal = Principal(row.merchant_id, row.api_key_id)
        self._cache[digest] = _Cached(principal, row.expires_at)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return principal

    def forget_cached(self) -> None:
        """Drop every cached token check (after revoking keys, or in tests)."""
        self._cache.clear()
