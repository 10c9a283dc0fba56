"""Webhooks in the console: settings, a test notification, the log, replay and secret rotation."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.console.conftest import Shops
from tests.console.receiver import receiver
from tollway.db.models import WebhookNotification, WebhookSecret
from tollway.services import Services
from tollway.webhooks.delivery import Deliverer


async def test_a_failed_test_notification_is_replayed_to_the_receiver(
    console_http, shops: Shops, services: Services
) -> None:
    async with receiver() as hook:
        browser = console_http()
        await browser.sign_in("manager@a.test")
        base = f"/console/m/{shops.a.user_code}/webhooks"
        saved = await browser.post(f"{base}/settings", {"url": hook.url, "format": "json", "attempts": "1"})
        assert saved.status_code == 303
        hook.status = 500
        assert (await browser.post(f"{base}/test")).status_code == 303
        await Deliverer(services).run_until_idle()
        page = await browser.get(base, params={"state": "failed"})
        assert "HTTP 500" in page.text and "down" in page.text
        async with services.sessions() as session:
            webhook_id = await session.scalar(select(WebhookNotification.webhook_id))
        hook.status = 200
        assert (await browser.post(f"{base}/replay", {"webhook_id": webhook_id})).status_code == 303
        await Deliverer(services).run_until_idle()
        assert len(hook.got) == 2 and b'"imp_uid":"imp_tollway_test"' in hook.got[-1]
        page = await browser.get(base)
        assert "HTTP 200" in page.text
        async with services.sessions() as session:
            assert await session.scalar(select(WebhookNotification.state)) == "delivered"


async def test_every_failed_one_in_a_range_is_replayed(console_http, shops: Shops, services: Services) -> None:
    async with receiver() as hook:
        hook.status = 503
        browser = console_http()
        await browser.sign_in("owner@a.test")
        base = f"/console/m/{shops.a.user_code}/webhooks"
        await browser.post(f"{base}/settings", {"url": hook.url, "attempts": "1"})
        for _ in range(2):
            await browser.post(f"{base}/test")
        await Deliverer(services).run_until_idle()
        hook.status = 200
        replayed = await browser.post(f"{base}/replay", {"date_from": "2026-01-01", "date_to": "2026-01-01"})
        assert replayed.status_code == 303
        await Deliverer(services).run_until_idle()
        async with services.sessions() as session:
            states = list(await session.scalars(select(WebhookNotification.state)))
        assert states == ["delivered", "delivered"]


async def test_a_rotated_secret_is_shown_once(console_http, shops: Shops, services: Services) -> None:
    browser = console_http()
    await browser.sign_in("manager@a.test")
    base = f"/console/m/{shops.a.user_code}/webhooks"
    answer = await browser.post(f"{base}/rotate")
    secret = answer.text.split('id="new-secret">')[1].split("<")[0]
    assert secret.startswith("whsec_")
    assert secret not in (await browser.get(base)).text
    async with services.sessions() as session:
        sealed = list(await session.scalars(select(WebhookSecret.secret_sealed)))
    assert sealed and all(secret not in s for s in sealed)


async def test_a_viewer_changes_nothing(console_http, shops: Shops, services: Services) -> None:
    browser = console_http()
    await browser.sign_in("viewer@a.test")
    base = f"/console/m/{shops.a.user_code}/webhooks"
    assert (await browser.get(base)).status_code == 200
    for path, data in (("settings", {"url": "http://127.0.0.1:9/x"}), ("rotate", {}), ("test", {}), ("replay", {})):
        assert (await browser.post(f"{base}/{path}", data)).status_code == 403
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookSecret)) == 0
