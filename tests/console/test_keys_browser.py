"""Revoking a REST key in the console, in Chromium against a live gateway: the key is created on
the keys page, gets a token from the API, is revoked with its button, and the API refuses the
token from then on."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser import axe_audit
from tests.console.conftest import Shops
from tests.console.test_console_browser import signed_in

pytestmark = pytest.mark.browser


async def test_an_owner_revokes_a_key_and_the_api_refuses_its_token(browser: Any, live: str, shops: Shops) -> None:
    owner = await signed_in(browser, live, "owner@a.test")
    await owner.goto(f"{live}/console/m/{shops.a.user_code}/access")
    await owner.get_by_role("button", name="키 발급").click()
    imp_key = await owner.locator("#new-imp-key").inner_text()
    imp_secret = await owner.locator("#new-imp-secret").inner_text()

    async with httpx.AsyncClient(base_url=live, timeout=30) as api:
        issued = await api.post("/users/getToken", json={"imp_key": imp_key, "imp_secret": imp_secret})
        token = issued.json()["response"]["access_token"]
        assert (await api.get("/users/pg", headers={"Authorization": token})).status_code == 200

        await owner.goto(f"{live}/console/m/{shops.a.user_code}/access")
        assert await axe_audit(owner) == []
        await owner.get_by_role("button", name=f"{imp_key} 키 해지").click()
        assert "해지되었습니다." in await owner.locator("p.flash").inner_text()
        row = owner.locator("#keys tbody tr", has_text=imp_key)
        assert await row.get_by_role("button").count() == 0  # revoked: no button any more

        refused = await api.get("/users/pg", headers={"Authorization": token})
        assert refused.status_code == 401
        again = await api.post("/users/getToken", json={"imp_key": imp_key, "imp_secret": imp_secret})
        assert again.status_code == 401
        # the merchant's other key still works
        other = await api.post("/users/getToken", json={"imp_key": shops.a.imp_key, "imp_secret": shops.a.imp_secret})
        assert other.status_code == 200
