"""PG settings in the console: adding a channel (its secret never shown again), the default, a test call."""

from __future__ import annotations

from sqlalchemy import select

from tests.console.conftest import Shops
from tollway.db.models import PgChannel
from tollway.services import Services


async def test_an_owner_adds_a_sandbox_channel_and_tests_it(
    live: str, console_http, shops: Shops, services: Services
) -> None:
    browser = console_http()
    await browser.sign_in("owner@a.test")
    base = f"/console/m/{shops.a.user_code}/channels"
    form = {"mid": "new_mid", "client_key": "test_ck_new", "secret_key": "test_sk_new_secret", "mode": "test"}
    added = await browser.post(base, {**form, "default": "1"})
    assert added.status_code == 303
    page = await browser.get(base)
    assert "tosspayments.new_mid" in page.text and "test_sk_new_secret" not in page.text
    async with services.sessions() as session:
        channel = await session.scalar(select(PgChannel).where(PgChannel.mid == "new_mid"))
    assert channel is not None and channel.is_default and "test_sk_new_secret" not in channel.secret_key_sealed
    tested = await browser.post(f"{base}/{channel.channel_key}/test")
    assert tested.status_code == 200 and 'id="channel-test"' in tested.text
    assert "NOT_FOUND_PAYMENT" in tested.text.split('id="channel-test"')[1].split("</p>")[0]


async def test_a_channel_whose_keys_the_pg_does_not_know_is_reported_refused(
    live: str, console_http, shops: Shops, services: Services
) -> None:
    async with services.sessions() as session:
        channel = await session.scalar(select(PgChannel).where(PgChannel.mid == "mid_a"))
        assert channel is not None
        channel.secret_key_sealed = services.vault.seal("test_sk_nobody_knows", "pg_channel.secret_key")
        await session.commit()
    browser = console_http()
    await browser.sign_in("owner@a.test")
    tested = await browser.post(f"/console/m/{shops.a.user_code}/channels/{channel.channel_key}/test")
    assert "UNAUTHORIZED_KEY" in tested.text and 'class="error"' in tested.text


async def test_a_manager_cannot_change_channels_nor_reach_another_merchants(
    console_http, shops: Shops, services: Services
) -> None:
    browser = console_http()
    await browser.sign_in("manager@a.test")
    base = f"/console/m/{shops.a.user_code}/channels"
    assert (await browser.get(base)).status_code == 200
    form = {"mid": "m2", "client_key": "test_ck_m2", "secret_key": "test_sk_m2", "mode": "test"}
    assert (await browser.post(base, form)).status_code == 403
    async with services.sessions() as session:
        theirs = await session.scalar(select(PgChannel.channel_key).where(PgChannel.mid == "mid_b"))
    owner = console_http()
    await owner.sign_in("owner@a.test")
    assert (await owner.post(f"{base}/{theirs}/test")).status_code == 404
    assert (await owner.post(f"{base}/{theirs}/default")).status_code == 404
