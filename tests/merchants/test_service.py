"""Merchants, key pairs and channels in storage: the invariants the constraints carry."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import MerchantFixture
from tollway.db.models import Merchant, PgChannel
from tollway.errors import BusinessError, InvalidRequest
from tollway.merchants.service import (
    add_api_key,
    add_channel,
    create_merchant,
    get_merchant,
    list_channels,
    set_default_channel,
)
from tollway.services import Services
from tollway.vault import Secret

IAMPORT_DEMO_KEY = "imp_apikey"
IAMPORT_DEMO_SECRET = "ekKoeW8RyKuT0zgaZsUtXXTLQ4AhPFW3ZGseDA6bkA5lamv9OqDMnxyeB9wqOsuO9W3Mx9YSJ4dTqJ3f"


async def channel(
    session: AsyncSession,
    services: Services,
    merchant: Merchant,
    mid: str,
    secret_key: str,
    *,
    client_key: str = "ck",
    pg_provider: str = "tosspayments",
) -> PgChannel:
    """A sandbox channel with these keys (``add_channel``'s checks all apply)."""
    return await add_channel(
        session,
        services.clock,
        services.vault,
        merchant,
        pg_provider=pg_provider,
        mid=mid,
        client_key=client_key,
        secret_key=Secret(secret_key),
        sandbox=True,
    )


async def test_an_explicit_key_pair_can_be_configured_and_used(client: httpx.AsyncClient, services: Services) -> None:
    async with services.sessions() as session:
        await create_merchant(
            session, services.clock, services.vault, "Docs", imp_key=IAMPORT_DEMO_KEY, imp_secret=IAMPORT_DEMO_SECRET
        )
        await session.commit()
    answer = await client.post("/users/getToken", json={"imp_key": IAMPORT_DEMO_KEY, "imp_secret": IAMPORT_DEMO_SECRET})
    assert answer.status_code == 200


async def test_secrets_are_stored_only_as_hashes(services: Services, merchant: MerchantFixture) -> None:
    async with services.engine.connect() as conn:
        dump = " ".join(str(v) for row in (await conn.execute(text("SELECT * FROM api_keys"))).all() for v in row)
        channels = " ".join(
            str(v) for row in (await conn.execute(text("SELECT * FROM pg_channels"))).all() for v in row
        )
    assert merchant.imp_secret not in dump and "hmac-sha256$" in dump
    assert "test_sk_tosstest" not in channels and "tv2:dk_" in channels  # under a data key


async def test_a_channel_secret_opens_only_through_the_vault(services: Services, merchant: MerchantFixture) -> None:
    from tollway.merchants.service import SECRET_KEY_PURPOSE

    async with services.sessions() as session:
        (channel,) = await list_channels(session, merchant.id)
    assert services.vault.open(channel.secret_key_sealed, SECRET_KEY_PURPOSE) == Secret("test_sk_tosstest")


async def test_a_taken_imp_key_is_refused(services: Services, merchant: MerchantFixture) -> None:
    async with services.sessions() as session:
        found = await get_merchant(session, merchant.user_code)
        with pytest.raises(BusinessError, match="already in use"):
            await add_api_key(
                session, services.clock, services.vault, found, imp_key=merchant.imp_key, imp_secret="x" * 20
            )


async def test_half_a_pair_is_refused(services: Services) -> None:
    async with services.sessions() as session:
        with pytest.raises(InvalidRequest, match="both"):
            await create_merchant(session, services.clock, services.vault, "x", imp_key="only-key")


async def test_first_channel_is_default_and_set_default_moves_it(services: Services, merchant: MerchantFixture) -> None:
    async with services.sessions() as session:
        found = await get_merchant(session, merchant.user_code)
        second = await channel(session, services, found, "second", "test_sk_second", pg_provider="uplus")
        assert second.pg_provider == "tosspayments" and not second.is_default
        await set_default_channel(session, found.id, "tosspayments.second")
        await session.commit()
        defaults = [c.mid for c in await list_channels(session, found.id) if c.is_default]
    assert defaults == ["second"]


async def test_the_database_refuses_two_defaults(services: Services, merchant: MerchantFixture) -> None:
    from sqlalchemy.exc import IntegrityError

    async with services.sessions() as session:
        found = await get_merchant(session, merchant.user_code)
        await channel(session, services, found, "m2", "test_sk_m2")
        await session.commit()
        with pytest.raises(IntegrityError):
            await session.execute(text("UPDATE pg_channels SET is_default = true"))


async def test_a_duplicate_mid_and_unknown_provider_are_refused(services: Services, merchant: MerchantFixture) -> None:
    async with services.sessions() as session:
        found = await get_merchant(session, merchant.user_code)
        with pytest.raises(BusinessError, match="already has"):
            await channel(session, services, found, "tosstest", "sk")
    async with services.sessions() as session:
        found = await get_merchant(session, merchant.user_code)
        with pytest.raises(InvalidRequest, match="unsupported pg_provider"):
            await channel(session, services, found, "x", "sk", pg_provider="kcp")


async def test_a_sandbox_channel_takes_test_keys_only_and_lets_them_into_the_sandbox(
    services: Services, merchant: MerchantFixture
) -> None:
    from tollway.sandbox.store import mid_for_secret

    async with services.sessions() as session:
        found = await get_merchant(session, merchant.user_code)
        with pytest.raises(InvalidRequest, match="test key"):
            await channel(session, services, found, "realmid", "live_sk_a", client_key="live_ck_a")
    async with services.sessions() as session:
        assert await mid_for_secret(session, "test_sk_tosstest") == "tosstest"
        assert await mid_for_secret(session, "test_sk_nobody") is None
        found = await get_merchant(session, merchant.user_code)
        with pytest.raises(BusinessError, match="already belongs to MID tosstest"):
            await channel(session, services, found, "another", "test_sk_tosstest", client_key="test_ck_b")
