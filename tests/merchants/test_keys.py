"""Revoking keys and expiring tokens reach every process. Two ``TokenService``s over one database
stand for two processes here; ``test_keys_processes.py`` does the same with real ``tollway serve``
processes."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from tests.conftest import MerchantFixture, token_for
from tollway.clock import ManualClock
from tollway.db.models import AccessToken
from tollway.errors import NotFound, Unauthorized
from tollway.merchants.keys import revoke_api_key
from tollway.merchants.tokens import CACHE_SECONDS, TokenService
from tollway.services import Services


def _other_process(services: Services) -> TokenService:
    return TokenService(services.sessions, services.keyring, services.clock, services.db)


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
