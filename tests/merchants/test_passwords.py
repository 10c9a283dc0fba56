"""REST secrets: HMAC under a vault pepper, legacy scrypt hashes verified once and replaced, and no
database connection held while a secret is checked."""

from __future__ import annotations

import os

import httpx
import pytest
from sqlalchemy import select, update

from tests.conftest import MerchantFixture, token_for
from tollway.db.models import ApiKey
from tollway.merchants import passwords, tokens
from tollway.services import Services


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
