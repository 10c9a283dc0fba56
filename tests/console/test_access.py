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


async def test_managers_and_viewers_reach_neither_keys_users_nor_the_audit_log(
    console_http, shops: Shops, services: Services
) -> None:
    for email in ("manager@a.test", "viewer@a.test"):
        browser = console_http()
        await browser.sign_in(email)
        home = f"/console/m/{shops.a.user_code}"
        access = await browser.get(f"{home}/access")
        if email.startswith("manager"):  # a manager sets the allowed origins there, and sees nothing else
            assert access.status_code == 200 and 'id="keys"' not in access.text and 'id="users"' not in access.text
        else:
            assert access.status_code == 403
        assert (await browser.get(f"{home}/audit")).status_code == 403
        assert (await browser.post(f"{home}/access/keys")).status_code == 403
        assert (await browser.post(f"{home}/access/users", {"email": "x@a.test", "role": "owner"})).status_code == 403
    owner_b = console_http()
    await owner_b.sign_in("owner@b.test")
    assert (await owner_b.post(f"/console/m/{shops.a.user_code}/access/keys")).status_code == 404
    async with services.sessions() as session:
        assert len(list(await session.scalars(select(ApiKey).where(ApiKey.merchant_id == shops.a.id)))) == 1
