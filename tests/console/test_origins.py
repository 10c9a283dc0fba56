"""Allowed origins in the console (issue 18, item 6): owners and managers set them through the same
domain functions as the CLI, with CSRF and an audit entry; a viewer's POST is refused by the server."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from tests.console.conftest import Shops
from tollway.db.console_models import AuditEntry
from tollway.merchants.origins import list_origins
from tollway.services import Services


async def _origins(services: Services, merchant_id: int) -> list[str]:
    async with services.sessions() as session:
        return await list_origins(session, merchant_id)


async def test_a_manager_allows_and_removes_origins_and_it_is_audited(
    console_http, shops: Shops, services: Services
) -> None:
    manager = console_http()
    await manager.sign_in("manager@a.test")
    path = f"/console/m/{shops.a.user_code}/access/origins"
    added = await manager.post(path, {"change": "add", "origins": "https://Shop.example/\nhttps://m.shop.example"})
    assert added.status_code == 303, added.text
    assert await _origins(services, shops.a.id) == ["https://m.shop.example", "https://shop.example"]
    page = await manager.get(f"/console/m/{shops.a.user_code}/access")
    assert "https://m.shop.example" in page.text
    assert 'id="users"' not in page.text and '/access/keys"' not in page.text  # users and new keys stay the owner's
    assert (await manager.post(path, {"change": "remove", "origins": "https://m.shop.example"})).status_code == 303
    assert await _origins(services, shops.a.id) == ["https://shop.example"]
    async with services.sessions() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.merchant_id == shops.a.id).order_by(AuditEntry.id)
            )
        )
    assert actions[-2:] == ["origins.add", "origins.remove"]


async def test_a_bad_origin_changes_nothing(console_http, shops: Shops, services: Services) -> None:
    owner = console_http()
    await owner.sign_in("owner@a.test")
    answer = await owner.post(
        f"/console/m/{shops.a.user_code}/access/origins", {"change": "add", "origins": "javascript:alert(1)"}
    )
    assert answer.status_code == 400
    assert await _origins(services, shops.a.id) == []


async def test_a_viewer_and_a_forged_form_are_refused(console_http, shops: Shops, services: Services) -> None:
    viewer = console_http()
    await viewer.sign_in("viewer@a.test")
    path = f"/console/m/{shops.a.user_code}/access/origins"
    assert (await viewer.post(path, {"change": "add", "origins": "https://evil.example"})).status_code == 403
    assert (await viewer.get(f"/console/m/{shops.a.user_code}/access")).status_code == 403
    manager = console_http()
    await manager.sign_in("manager@a.test")
    no_csrf = await manager.http.post(path, data={"change": "add", "origins": "https://evil.example"})
    assert no_csrf.status_code == 403
    other = await manager.post(
        f"/console/m/{shops.b.user_code}/access/origins", {"change": "add", "origins": "https://evil.example"}
    )
    assert other.status_code == 404  # another merchant's console does not exist for this user
    assert await _origins(services, shops.a.id) == [] and await _origins(services, shops.b.id) == []


async def test_origins_set_in_the_console_guard_the_window(
    console_http, shops: Shops, client: httpx.AsyncClient
) -> None:
    owner = console_http()
    await owner.sign_in("owner@a.test")
    await owner.post(f"/console/m/{shops.a.user_code}/access/origins", {"change": "add", "origins": "https://a.shop"})
    opened = await client.post(
        "/checkout/sessions",
        json={"user_code": shops.a.user_code, "params": {"merchant_uid": "c-1", "amount": 1000}},
        headers={"Origin": "https://evil.example"},
    )
    assert opened.status_code == 400 and opened.json()["response"]["error_code"] == "INVALID_ORIGIN"
