"""``/docs`` renders Tollway's OpenAPI 3.1 document in Chromium (the vendored Swagger UI 5)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


async def test_the_docs_page_lists_the_operations(browser: Any, live: str) -> None:
    page = await browser.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    await page.goto(f"{live}/docs")
    await page.locator(".opblock").first.wait_for()
    assert "Unable to render this definition" not in await page.content()
    assert await page.locator(".opblock").count() >= 40
    summaries = await page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/users/getToken" in s for s in summaries) and any("/vbanks" in s for s in summaries)
    assert all(url.startswith(live) for url in requests)  # nothing from a CDN
    await page.close()
