"""Data keys in the database, wrapped by the master key: loading them, and rotating without downtime.

``rotate`` does, in order, with progress on the way:

1. a new data key becomes the active one (every node that reloads seals new values under it; a
   node that has not reloaded yet still seals under the old key, which stays readable);
2. every sealed value (PG secret keys, access tokens, billing keys) is re-sealed under it, in
   batches, each row only if nobody changed it meanwhile;
3. with a new master key, every data key is re-wrapped under it: nodes still running with the
   old master key keep their unwrapped data keys in memory and go on working; restart them with
   the new master key at your pace.

A node that meets a value sealed under a data key it has not loaded reloads the keyring once
(``Keyring.open``), so a rotation on one node never breaks the others.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tollway.clock import Clock
from tollway.db.console_models import ConsoleUser
from tollway.db.models import AccessToken, BillingCustomer, PgChannel, VaultKey, WebhookSecret
from tollway.vault import Secret, UnknownDataKey, Vault, sealed_key_id

#: Every sealed column: (model, primary key column name, sealed column name, purpose).
SEALED_COLUMNS: tuple[tuple[type, str, str, str], ...] = (
    (PgChannel, "id", "secret_key_sealed", "pg_channel.secret_key"),
    (AccessToken, "api_key_id", "token_sealed", "access_token"),
    (BillingCustomer, "id", "billing_key_sealed", "billing.key"),
    (ConsoleUser, "id", "totp_sealed", "console.totp"),
    (WebhookSecret, "id", "secret_sealed", "webhook.secret"),
)
BATCH = 500


@dataclass
class RotationReport:
    new_key_id: str
    resealed: int
    rewrapped: int


class Keyring:
    def __init__(self, vault: Vault, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.vault = vault
        self._sessions = sessions
        self._clock = clock
        self._lock = asyncio.Lock()
        self.loaded = False

    async def load(self) -> None:
        """Installs every data key; creates the first one on a database that has none."""
        async with self._lock:
            for _ in range(3):
                async with self._sessions() as session:
                    rows = list(await session.scalars(select(VaultKey)))
                    if not rows:
                        try:
                            session.add(self._new_key(active=True))
                            await session.commit()
                        except IntegrityError:  # another node created it first
                            await session.rollback()
                        continue
                keys = {row.key_id: self.vault.unwrap(row.wrapped) for row in rows}
                active = next((row.key_id for row in rows if row.active), None)
                self.vault.install(keys, active)
                self.loaded = True
                return

    async def ensure_loaded(self) -> None:
        if not self.loaded:
            await self.load()

    async def open(self, sealed: str, purpose: str) -> Secret:
        """Opens a value; reloads the keyring once when it was sealed under a key rotated in elsewhere."""
        try:
            return self.vault.open(sealed, purpose)
        except UnknownDataKey:
            await self.load()
            return self.vault.open(sealed, purpose)

    def seal(self, clear: str | Secret, purpose: str) -> str:
        return self.vault.seal(clear, purpose)

    def _new_key(self, *, active: bool) -> VaultKey:
        return VaultKey(
            key_id="dk_" + secrets.token_hex(8),
            wrapped=self.vault.wrap(os.urandom(32)),
            active=active,
            created_at=self._clock.now(),
        )

    async def rotate(
        self, *, new_master: Vault | None = None, progress: Callable[[str], None] = lambda _: None
    ) -> RotationReport:
        await self.ensure_loaded()
        new = self._new_key(active=True)
        async with self._sessions() as session:
            await session.execute(update(VaultKey).where(VaultKey.active.is_(True)).values(active=False))
            session.add(new)
            await session.commit()
        await self.load()
        progress(f"new data key {new.key_id} is active")
        resealed = 0
        for model, pk, column, purpose in SEALED_COLUMNS:
            resealed += await self._reseal(model, pk, column, purpose, progress)
        rewrapped = 0
        if new_master is not None:
            async with self._sessions() as session:
                rows = list(await session.scalars(select(VaultKey)))
                for row in rows:
                    row.wrapped = new_master.wrap(self.vault.unwrap(row.wrapped))
                    rewrapped += 1
                await session.commit()
            progress(f"{rewrapped} data keys re-wrapped under master key {new_master.key_id}")
        async with self._sessions() as session:
            await session.execute(
                update(VaultKey)
                .where(VaultKey.active.is_(False), VaultKey.retired_at.is_(None))
                .values(retired_at=self._clock.now())
            )
            await session.commit()
        return RotationReport(new.key_id, resealed, rewrapped)

    async def _reseal(self, model: type, pk: str, column: str, purpose: str, progress: Callable[[str], None]) -> int:
        active = self.vault.active_key_id
        key_col = getattr(model, pk)
        sealed_col = getattr(model, column)
        done = 0
        after: object = None
        while True:
            async with self._sessions() as session:
                query = select(key_col, sealed_col).where(sealed_col.is_not(None)).order_by(key_col).limit(BATCH)
                if after is not None:
                    query = query.where(key_col > after)
                rows = (await session.execute(query)).all()
                if not rows:
                    break
                for key, sealed in rows:
                    after = key
                    if sealed_key_id(sealed) == active:
                        continue
                    fresh = self.vault.seal(await self.open(sealed, purpose), purpose)
                    result = await session.execute(
                        update(model).where(key_col == key, sealed_col == sealed).values({column: fresh})
                    )
                    done += int(getattr(result, "rowcount", 0) or 0)
                await session.commit()
            progress(f"  {model.__tablename__}: {done} re-sealed so far")  # type: ignore[attr-defined]
        return done
