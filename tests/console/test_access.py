"""Keys and access (owners only): key pairs with a secret shown once, console users, the audit log."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from tests.console.conftest import Shops
from tollway.db.console_models import ConsoleUser
from tollway.db.models import ApiKey
from tollway.services import Services


async def test_an_owner_creates_a_key_pair_whose_secret_is_shown_once_and_works(
    client: httpx.AsyncClient, console_http, shops: Shops, services: Services
) -> None:
    browser = console_http()
    await browser.sign_in("owner@a.test")
    answer = await browser.post(f"/console/m/{shops.a.user_code}/access/keys")
    imp_key = answer.text.split('id="new-imp-key">')[1].split("<")[0]
    imp_secret = answer.text.split('id="new-imp-secret">')[1].split("<")[0]
    token = await client.post("/users/getToken", json={"imp_key": imp_key, "imp_secret": imp_secret})
    assert token.json()["code"] == 0
    page = await browser.get(f"/console/m/{shops.a.user_code}/access")
    assert imp_key in page.text and imp_secret not in page.text
    async with services.sessions() as session:
        stored = await session.scalar(select(ApiKey.secret_hash).where(ApiKey.imp_key == imp_key))
    assert stored and imp_secret not in stored


async def test_an_owner_invites_changes_and_disables_users(console_http, shops: Shops, services: Services) -> None:
    owner = console_http()
    await owner.sign_in("owner@a.test")
    base = f"/console/m/{shops.a.user_code}/access/users"
    invited = await owner.post(base, {"email": "new@a.test", "role": "viewer"})
    password = invited.text.split('id="new-user"')[1].split('class="secret">')[1].split("<")[0]
    newcomer = console_http()
    assert (await newcomer.sign_in("new@a.test", password)).status_code == 303
    async with services.sessions() as session:
        user_id = await session.scalar(select(ConsoleUser.id).where(ConsoleUser.email == "new@a.test"))
    assert (await owner.post(f"{base}/{user_id}", {"change": "role", "role": "manager"})).status_code == 303
    assert (await owner.post(f"{base}/{user_id}", {"change": "disable"})).status_code == 303
    assert (await newcomer.get("/console/account")).status_code == 303  # signed out at once
    assert (await console_http().sign_in("new@a.test", password)).status_code == 401
    audit = await owner.get(f"/console/m/{shops.a.user_code}/audit")
    for action in ("user.invite", "user.role", "user.disable", "sign_in"):
        assert action in audit.text
    async with services.sessions() as session:
        owner_id = await session.scalar(select(ConsoleUser.id).where(ConsoleUser.email == "owner@a.test"))
    last = await owner.post(f"{base}/{owner_id}", {"change": "role", "role": "viewer"})
    assert last.status_code == 409  # a merchant keeps an owner


async def test_managers_and_viewers_reach_neither_key_creation_users_nor_the_audit_log(
    console_http, shops: Shops, services: Services
) -> None:
    for email in ("manager@a.test", "viewer@a.test"):
        browser = console_http()
        await browser.sign_in(email)
        home = f"/console/m/{shops.a.user_code}"
        page = await browser.get(f"{home}/access")
        if email.startswith(
            "manager"
        ):  # a manager sees the keys (to revoke a leaked one) and the allowed origins, nothing else
            assert page.status_code == 200 and shops.a.imp_key in page.text
            assert 'id="users"' not in page.text and '/access/keys"' not in page.text
            assert "Create a key pair" not in page.text and "키 발급" not in page.text
        else:
            assert page.status_code == 403
        assert (await browser.get(f"{home}/audit")).status_code == 403
        assert (await browser.post(f"{home}/access/keys")).status_code == 403
        assert (await browser.post(f"{home}/access/users", {"email": "x@a.test", "role": "owner"})).status_code == 403
    owner_b = console_http()
    await owner_b.sign_in("owner@b.test")
    assert (await owner_b.post(f"/console/m/{shops.a.user_code}/access/keys")).status_code == 404
    async with services.sessions() as session:
        assert len(list(await session.scalars(select(ApiKey).where(ApiKey.merchant_id == shops.a.id)))) == 1


class TestRevokingKeys:
    async def test_an_owner_revokes_a_key_and_its_token_is_refused_at_once(
        self, client: httpx.AsyncClient, console_http, shops: Shops, services: Services
    ) -> None:
        token = (
            await client.post("/users/getToken", json={"imp_key": shops.a.imp_key, "imp_secret": shops.a.imp_secret})
        ).json()["response"]["access_token"]
        assert (await client.get("/users/pg", headers={"Authorization": token})).status_code == 200
        owner = console_http()
        await owner.sign_in("owner@a.test")
        home = f"/console/m/{shops.a.user_code}"
        answer = await owner.post(f"{home}/access/keys/revoke", {"imp_key": shops.a.imp_key})
        assert answer.status_code == 303 and answer.headers["location"].endswith("/access?done=revoked")
        assert (await client.get("/users/pg", headers={"Authorization": token})).status_code == 401
        async with services.sessions() as session:
            revoked_at = await session.scalar(select(ApiKey.revoked_at).where(ApiKey.imp_key == shops.a.imp_key))
        assert revoked_at is not None
        audit = await owner.get(f"{home}/audit")
        assert "key.revoke" in audit.text and shops.a.imp_key in audit.text
        page = await owner.get(f"{home}/access")
        assert f'name="imp_key" value="{shops.a.imp_key}"' not in page.text  # no button for a revoked key

    async def test_a_manager_may_revoke(self, console_http, shops: Shops, services: Services) -> None:
        manager = console_http()
        await manager.sign_in("manager@a.test")
        answer = await manager.post(f"/console/m/{shops.a.user_code}/access/keys/revoke", {"imp_key": shops.a.imp_key})
        assert answer.status_code == 303

    async def test_a_viewer_another_merchant_and_a_forged_form_are_refused(
        self, console_http, shops: Shops, services: Services
    ) -> None:
        path = f"/console/m/{shops.a.user_code}/access/keys/revoke"
        viewer = console_http()
        await viewer.sign_in("viewer@a.test")
        assert (await viewer.post(path, {"imp_key": shops.a.imp_key})).status_code == 403
        owner_b = console_http()
        await owner_b.sign_in("owner@b.test")
        assert (await owner_b.post(path, {"imp_key": shops.a.imp_key})).status_code == 404
        # B's owner on B's console cannot reach A's key either
        own = f"/console/m/{shops.b.user_code}/access/keys/revoke"
        assert (await owner_b.post(own, {"imp_key": shops.a.imp_key})).status_code == 404
        owner = console_http()
        await owner.sign_in("owner@a.test")
        assert (await owner.http.post(path, data={"imp_key": shops.a.imp_key})).status_code == 403  # no CSRF token
        async with services.sessions() as session:
            assert await session.scalar(select(ApiKey.revoked_at).where(ApiKey.imp_key == shops.a.imp_key)) is None
