"""V1 access tokens: ``POST /users/getToken`` and the check every other call makes.

The V1 rules (reference §1.2): a token lives 30 minutes; asking again while it is valid returns
the same token and ``expired_at``; when one minute or less is left, that call extends it by five
minutes; after expiry a new token is issued. One row per API key holds the live token, so racing
callers converge on one token (conditional updates and the primary key decide the race).

``issue`` never holds a database connection while it checks a secret: it reads the key's hash,
gives the connection back, verifies (HMAC: microseconds; a legacy scrypt hash: in a thread, at
most ``LEGACY_VERIFICATIONS`` at once), and only then opens a session to settle the token. A
legacy hash that verified is replaced by its HMAC form in that same session.

Checking a token costs no database round trip while it is cached here, and the cache (like the
one of key rows ``getToken`` reads) only remembers what the database said for ``CACHE_SECONDS``
at most: a revoked key (its token row is
deleted and the key marked revoked) or an expiry moved into the past is refused by every process
within that time, with no signal between processes. A cached expiry that has passed is refused
at once.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.clock import Clock
from tollway.db.driver import Driver, Statement
from tollway.db.engine import Sessions
from tollway.db.models import AccessToken, ApiKey
from tollway.errors import Unauthorized
from tollway.merchants.ids import new_access_token
from tollway.merchants.passwords import hash_secret, is_legacy, needs_rehash, verify_fast, verify_scrypt
from tollway.vault import UnknownDataKey
from tollway.vault.keyring import Keyring

LIFETIME = timedelta(minutes=30)
EXTEND_WHEN_LEFT = timedelta(minutes=1)
EXTENSION = timedelta(minutes=5)
_TOKEN_PURPOSE = "access_token"
#: how long a process trusts what the database said about a token (revocation reaches every
#: process within this; the promise in docs/security.md is 5 seconds)
CACHE_SECONDS = 3.0
#: scrypt verifications of legacy hashes running at once, per process (each takes a thread and ~50 ms)
LEGACY_VERIFICATIONS = 2

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
    #: trusted until then (``CACHE_SECONDS`` after the database said so)
    fresh_until: datetime


@dataclass(frozen=True)
class _Key:
    id: int
    merchant_id: int
    secret_hash: str
    fresh_until: datetime


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_LIVE_TOKEN = Statement(
    select(AccessToken.token_sealed, AccessToken.expires_at).where(AccessToken.api_key_id == bindparam("key"))
)


class TokenService:
    def __init__(self, sessions: Sessions, vault: Keyring, clock: Clock, db: Driver, cache_size: int = 10_000) -> None:
        self._sessions = sessions
        self._db = db
        self._vault = vault
        self._clock = clock
        self._legacy = asyncio.Semaphore(LEGACY_VERIFICATIONS)
        self._keys: OrderedDict[str, _Key] = OrderedDict()
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._cache_size = cache_size
        #: each key's live token as last opened here: (its sealed form, the token), by key id. The
        #: row is still read on every ``getToken`` (a revoked key is refused at once everywhere);
        #: only opening the same sealed token again is skipped
        self._opened: dict[int, tuple[str, str]] = {}

    async def _active_key(self, imp_key: str) -> _Key | None:
        """The key's row, remembered for ``CACHE_SECONDS`` like token checks (so a revocation
        reaches ``getToken`` in every process within the same bound)."""
        now = self._clock.now()
        cached = self._keys.get(imp_key)
        if cached is not None and cached.fresh_until > now:
            return cached
        async with self._sessions.statements() as conn:
            row = (
                await conn.execute(
                    select(ApiKey.id, ApiKey.merchant_id, ApiKey.secret_hash).where(
                        ApiKey.imp_key == imp_key, ApiKey.revoked_at.is_(None)
                    )
                )
            ).one_or_none()
        if row is None:
            self._keys.pop(imp_key, None)
            return None
        key = _Key(row.id, row.merchant_id, row.secret_hash, now + timedelta(seconds=CACHE_SECONDS))
        self._keys[imp_key] = key
        self._keys.move_to_end(imp_key)
        if len(self._keys) > self._cache_size:
            self._keys.popitem(last=False)
        return key

    async def issue(self, imp_key: str, imp_secret: str) -> IssuedToken:
        key = await self._active_key(imp_key)
        # No connection is held here: no secret is ever checked while one is.
        if key is None:
            hash_secret(self._vault.vault, imp_secret)  # the same cost as a wrong secret
            raise Unauthorized(BAD_PAIR)
        if not await self._verify(imp_secret, key.secret_hash):
            raise Unauthorized(BAD_PAIR)
        rehash = needs_rehash(self._vault.vault, key.secret_hash)
        if not rehash:
            reused = await self._reuse(key.id)
            if reused is not None:
                return reused
        async with self._sessions() as session:
            # The key row may be cached: a new token is only settled for a key still active (a
            # revoked key's token row is gone, so a revoked key always ends up here, refused).
            if await session.scalar(select(ApiKey.revoked_at).where(ApiKey.id == key.id)) is not None:
                self._keys.pop(imp_key, None)
                raise Unauthorized(BAD_PAIR)
            if rehash:
                self._keys.pop(imp_key, None)
                await session.execute(
                    update(ApiKey)
                    .where(ApiKey.id == key.id, ApiKey.secret_hash == key.secret_hash)
                    .values(secret_hash=hash_secret(self._vault.vault, imp_secret))
                )
            for _ in range(5):
                issued = await self._issue_once(session, key.id, key.merchant_id)
                if issued is not None:
                    await session.commit()
                    return issued
                await session.rollback()
        raise RuntimeError("could not settle a token after 5 tries")  # pragma: no cover - needs 5 lost races

    async def _verify(self, secret: str, stored: str) -> bool:
        if is_legacy(stored):
            async with self._legacy:
                return await asyncio.to_thread(verify_scrypt, secret, stored)
        try:
            return verify_fast(self._vault.vault, secret, stored)
        except UnknownDataKey:  # hashed under a data key rotated in by another node
            await self._vault.load()
            return verify_fast(self._vault.vault, secret, stored)

    async def _reuse(self, key_id: int) -> IssuedToken | None:
        """The common repeat call: the live token, read with no transaction, when it has more than
        ``EXTEND_WHEN_LEFT`` to go (otherwise ``None``: the transactional path extends or renews)."""
        now = self._clock.now()
        async with self._db.connection() as conn:  # one prepared statement (docs/benchmarks.md)
            row = await conn.first(_LIVE_TOKEN, key=key_id)
        if row is None or row.expires_at - now <= EXTEND_WHEN_LEFT:
            return None
        opened = self._opened.get(key_id)
        if opened is not None and opened[0] == row.token_sealed:
            return IssuedToken(opened[1], now, row.expires_at)
        token = (await self._vault.open(row.token_sealed, _TOKEN_PURPOSE)).reveal()
        if len(self._opened) >= self._cache_size:
            self._opened.clear()
        self._opened[key_id] = (row.token_sealed, token)
        return IssuedToken(token, now, row.expires_at)

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
        if cached is not None and cached.expires_at > now and cached.fresh_until > now:
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
        self._cache[digest] = _Cached(principal, row.expires_at, now + timedelta(seconds=CACHE_SECONDS))
        self._cache.move_to_end(digest)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return principal

    def forget_key(self, api_key_id: int) -> None:
        """Drop this process's cached checks of one key's tokens (after revoking it here; other
        processes stop trusting theirs within ``CACHE_SECONDS``)."""
        for digest in [d for d, c in self._cache.items() if c.principal.api_key_id == api_key_id]:
            del self._cache[digest]
        for imp_key in [k for k, c in self._keys.items() if c.id == api_key_id]:
            del self._keys[imp_key]
        self._opened.pop(api_key_id, None)

    def forget_cached(self) -> None:
        """Drop every cached token check and key (in tests)."""
        self._cache.clear()
        self._keys.clear()
        self._opened.clear()
