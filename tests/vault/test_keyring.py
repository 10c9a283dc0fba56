"""Data keys wrapped by the master key: loading, rotating, re-wrapping, and nodes that rotate apart."""

from __future__ import annotations

import base64
import os

import pytest
from sqlalchemy import select

from tests.api.routes.pg_helpers import v1_client
from tests.billing.test_customers import card
from tests.conftest import MerchantFixture
from tollway.db.models import AccessToken, BillingCustomer, PgChannel, VaultKey, WebhookSecret
from tollway.services import Services
from tollway.vault import UnknownDataKey, Vault, VaultError, sealed_key_id
from tollway.vault.keyring import Keyring
from tollway.webhooks import signing


async def sealed_values(services: Services) -> list[str]:
    async with services.sessions() as session:
        values = list(await session.scalars(select(PgChannel.secret_key_sealed)))
        values += list(await session.scalars(select(AccessToken.token_sealed)))
        values += list(await session.scalars(select(BillingCustomer.billing_key_sealed)))
        values += list(await session.scalars(select(WebhookSecret.secret_sealed)))
    return values


async def test_the_first_start_creates_one_active_data_key(services: Services, merchant: MerchantFixture) -> None:
    async with services.sessions() as session:
        keys = list(await session.scalars(select(VaultKey)))
    assert len(keys) == 1 and keys[0].active and keys[0].wrapped.startswith(f"tv1:{services.vault.key_id}:")
    assert services.vault.active_key_id == keys[0].key_id
    assert all(sealed_key_id(v) == keys[0].key_id for v in await sealed_values(services))
    again = Keyring(services.vault, services.sessions, services.clock)
    await again.load()  # a second node: same key, no second one created
    async with services.sessions() as session:
        assert len(list(await session.scalars(select(VaultKey)))) == 1


async def test_rotation_reseals_everything_and_other_nodes_follow(
    live: str, merchant: MerchantFixture, services: Services
) -> None:
    async with v1_client(live, merchant) as api:
        assert (await api.post("/subscribe/customers/cu-1", json=card())).json()["code"] == 0
    async with services.sessions() as session:
        (whsec,) = await signing.live_secrets(session, services.keyring, merchant.id, services.clock.now())
        await session.commit()
    old_key = services.vault.active_key_id
    before = await sealed_values(services)
    assert len(before) == 4

    # another node, loaded before the rotation
    other_vault = Vault(base64.b64decode(services.settings.master_key))
    other = Keyring(other_vault, services.sessions, services.clock)
    await other.load()

    lines: list[str] = []
    report = await services.keyring.rotate(progress=lines.append)
    assert report.resealed == 4 and report.new_key_id != old_key and lines
    after = await sealed_values(services)
    assert all(sealed_key_id(v) == report.new_key_id for v in after)
    with pytest.raises(UnknownDataKey):
        other_vault.open(after[0], "pg_channel.secret_key")
    assert (await other.open(after[0], "pg_channel.secret_key")).reveal() == "test_sk_tosstest"  # reloaded
    # the gateway still works end to end on the re-sealed values
    async with v1_client(live, merchant) as api:
        paid = (
            await api.post(
                "/subscribe/payments/again",
                json={"customer_uid": "cu-1", "merchant_uid": "after-rotation", "amount": 1000},
            )
        ).json()
    assert paid["code"] == 0 and paid["response"]["status"] == "paid"
    async with services.sessions() as session:  # the webhook secret was re-sealed, not replaced
        assert await signing.live_secrets(session, other, merchant.id, services.clock.now()) == [whsec]


async def test_a_new_master_key_rewraps_the_data_keys(services: Services, merchant: MerchantFixture) -> None:
    new_master = Vault(os.urandom(32))
    report = await services.keyring.rotate(new_master=new_master)
    assert report.rewrapped == 2  # the first key and the new one
    restarted = Keyring(new_master, services.sessions, services.clock)
    await restarted.load()
    (value,) = [v for v in await sealed_values(services) if v]
    assert (await restarted.open(value, "pg_channel.secret_key")).reveal() == "test_sk_tosstest"
    stale = Keyring(Vault(base64.b64decode(services.settings.master_key)), services.sessions, services.clock)
    with pytest.raises(VaultError):
        await stale.load()  # the old master key opens nothing any more
    # the running node kept its unwrapped keys: no downtime
    assert services.vault.open(value, "pg_channel.secret_key").reveal() == "test_sk_tosstest"
    async with services.sessions() as session:
        retired = [k for k in await session.scalars(select(VaultKey)) if not k.active]
    assert retired and all(k.retired_at is not None for k in retired)


def test_values_sealed_before_data_keys_still_open() -> None:
    vault = Vault(b"m" * 32)
    legacy = vault.seal("before", "p")  # no keyring installed: sealed by the master key
    assert legacy.startswith("tv1:")
    vault.install({"dk_1": b"d" * 32}, "dk_1")
    assert vault.seal("after", "p").startswith("tv2:dk_1:")
    assert vault.open(legacy, "p").reveal() == "before"
    with pytest.raises(VaultError):
        vault.open(vault.seal("x", "p"), "another purpose")
