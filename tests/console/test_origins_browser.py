"""The allowed-origins form of the console's access page in Chromium (issue 18, item 6)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import axe_audit
from tests.console.conftest import Shops
from tests.console.test_console_browser import signed_in
from tollway.merchants.origins import list_origins
from tollway.services import Services

pytestmark = pytest.mark.browser


async def test_a_manager_sets_allowed_origins_in_the_browser(
    browser: Any, live: str, shops: Shops, services: Services
) -> None:
    manager = await signed_in(browser, live, "manager@a.test")
    await manager.goto(f"{live}/console/m/{shops.a.user_code}")
    await manager.get_by_role("link", name="API 키와 접근").click()
    assert await manager.locator("#no-origins").count() == 1
    await manager.get_by_label("허용할 도메인 (예: https://shop.example)").fill("https://Shop.example/")
    await manager.get_by_role("button", name="허용", exact=True).click()
    await manager.locator("#origins code", has_text="https://shop.example").wait_for()
    assert await axe_audit(manager) == []
    async with services.sessions() as session:
        assert await list_origins(session, shops.a.id) == ["https://shop.example"]
    await manager.get_by_role("button", name="https://shop.example 삭제").click()
    await manager.locator("#no-origins").wait_for()
    async with services.sessions() as session:
        assert await list_origins(session, shops.a.id) == []
