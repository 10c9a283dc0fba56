"""Revoking keys and expiring tokens reach every process; secrets are checked cheaply and with no
database connection held. Two ``TokenService``s over one database stand for two processes here;
``test_revocation_processes.py`` does the same with real ``tollway serve`` processes."""

from __future__ import annotations

import os
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from tests.conftest import MerchantFixture, token_for
from tollway.clock import ManualClock
from tollway.db.models import AccessToken, ApiKey
from tollway.errors import NotFound, Unauthorized
from tollway.merchants import passwords, tokens
from tollway.merchants.keys import revoke_api_key
from tollway.merchants.tokens import CACHE_SECONDS, TokenService
from tollway.services import Services


def _other_process(services: Services) -> TokenService:
    return TokenService(services.sessions, services.keyring, services.clock)


async def _revoke(services: Services, m: MerchantFixture) -> None:
    async with services.sessions() as session:
        await revoke_api_key(session, services.clock, m.id, m.imp_key)
        await session.commit()


class TestRevocation:
    async def test_a_revoked_keys_token_is_refused_here_at_once_and_elsewhere_within_the_cache_time(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, clock: ManualClock
    ) -> None:
        token = await token_for(client, merchant)
        other = _other_process(services)
        assert (await other.authenticate(token)).merchant_id == merchant.id  # cached there now
        async with services.sessions() as session:
            revoked = await revoke_api_key(session, services.clock, merchant.id, merchant.imp_key)
            await session.commit()
        services.tokens.forget_key(revoked.api_key_id)
        assert revoked.newly and revoked.active_left == 0
        assert (await client.get("/users/pg", headers={"Authorization": token})).status_code == 401
        clock.advance(seconds=CACHE_SECONDS)
        with pytest.raises(Unauthorized):
            await other.authenticate(token)
        again = await client.post(
            "/users/getToken", json={"imp_key": merchant.imp_key, "imp_secret": merchant.imp_secret}
        )
        assert again.status_code == 401

    async def test_another_process_refuses_the_revoked_key_at_get_token_at_once(
        self, services: Services, merchant: MerchantFixture
    ) -> None:
        other = _other_process(services)
        await other.issue(merchant.imp_key, merchant.imp_secret)  # its key row is cached there now
        await _revoke(services, merchant)
        with pytest.raises(Unauthorized):  # no time passes: the revoked key's token row is gone
            await other.issue(merchant.imp_key, merchant.imp_secret)

    async def test_revoking_is_idempotent_and_scoped_to_the_merchant(
        self, services: Services, merchant: MerchantFixture
    ) -> None:
        await _revoke(services, merchant)
        async with services.sessions() as session:
            second = await revoke_api_key(session, services.clock, merchant.id, merchant.imp_key)
            assert not second.newly
            with pytest.raises(NotFound):
                await revoke_api_key(session, services.clock, merchant.id + 1, merchant.imp_key)
            with pytest.raises(NotFound):
                await revoke_api_key(session, services.clock, merchant.id, "no-such-key")

    async def test_an_expiry_moved_into_the_past_is_honoured_within_the_cache_time(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, clock: ManualClock
    ) -> None:
        token = await token_for(client, merchant)
        other = _other_process(services)
        await other.authenticate(token)
        async with services.sessions() as session:
            await session.execute(update(AccessToken).values(expires_at=clock.now() - timedelta(seconds=1)))
            await session.commit()
        clock.advance(seconds=CACHE_SECONDS)
        with pytest.raises(Unauthorized):
            await other.authenticate(token)
        with pytest.raises(Unauthorized):
            await services.tokens.authenticate(token)

    async def test_a_new_token_does_not_keep_the_old_one_alive_past_its_expiry(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, clock: ManualClock
    ) -> None:
        old = await token_for(client, merchant)
        other = _other_process(services)
        await other.authenticate(old)
        clock.advance(minutes=30)
        new = await token_for(client, merchant)
        assert new != old
        with pytest.raises(Unauthorized):
            await other.authenticate(old)
        assert (await other.authenticate(new)).merchant_id == merchant.id


class TestSecretHashes:
    async def test_a_legacy_scrypt_hash_verifies_once_and_is_replaced_by_hmac(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture
    ) -> None:
        legacy = passwords.scrypt_hash(merchant.imp_secret, os.urandom(16), n=2**10)
        async with services.sessions() as session:
            await session.execute(update(ApiKey).values(secret_hash=legacy))
            await session.commit()
        wrong = await client.post("/users/getToken", json={"imp_key": merchant.imp_key, "imp_secret": "x" * 20})
        assert wrong.status_code == 401
        async with services.sessions() as session:
            assert await session.scalar(select(ApiKey.secret_hash)) == legacy  # a failure changes nothing
        await token_for(client, merchant)
        async with services.sessions() as session:
            stored = await session.scalar(select(ApiKey.secret_hash))
        assert stored is not None and stored.startswith("hmac-sha256$") and merchant.imp_secret not in stored
        assert passwords.verify_fast(services.vault, merchant.imp_secret, stored)
        await token_for(client, merchant)  # and the HMAC form verifies

    @pytest.mark.parametrize("legacy", [False, True])
    async def test_no_database_connection_is_held_while_a_secret_is_checked(
        self,
        client: httpx.AsyncClient,
        services: Services,
        merchant: MerchantFixture,
        monkeypatch: pytest.MonkeyPatch,
        legacy: bool,
    ) -> None:
        if legacy:
            async with services.sessions() as session:
                hashed = passwords.scrypt_hash(merchant.imp_secret, os.urandom(16), n=2**10)
                await session.execute(update(ApiKey).values(secret_hash=hashed))
                await session.commit()
        held: list[int] = []
        name = "verify_scrypt" if legacy else "verify_fast"
        real = getattr(tokens, name)

        def watching(*args: object) -> bool:
            held.append(services.engine.pool.checkedout())  # type: ignore[attr-defined]
            return bool(real(*args))

        monkeypatch.setattr(tokens, name, watching)
        await token_for(client, merchant)
        assert held == [0]

    async def test_a_hash_under_a_data_key_rotated_out_still_verifies(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture
    ) -> None:
        await services.keyring.rotate()
        await token_for(client, merchant)
        async with services.sessions() as session:
            stored = await session.scalar(select(ApiKey.secret_hash))
        assert stored is not None and stored.split("$")[1] == services.vault.active_key_id  # rehashed on use
