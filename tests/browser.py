"""What every browser test shares: Debian's Chromium through Playwright, and an accessibility audit.

The ``browser`` fixture (registered in ``tests/conftest.py``) skips locally when Chromium or
Playwright is missing and fails under ``CI=true``. ``axe_audit`` runs the vendored axe-core on a
page and returns the violations at or above an impact level, so a test can assert there are none.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("TOLLWAY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_PRESENT = Path(CHROMIUM).exists()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"browser tests need {reason} (CI=true: failing instead of skipping)")
    pytest.skip(f"browser tests need {reason}")


async def launch_browser() -> AsyncIterator[Any]:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing("the playwright package (pip install playwright)")
    if not CHROMIUM_PRESENT:
        missing(f"Chromium at {CHROMIUM} (apt-get install -y chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield launched
        finally:
            await launched.close()


async def axe_audit(page: Any, impacts: tuple[str, ...] = SERIOUS) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations on ``page`` (its main frame and same-origin frames) whose
    impact is in ``impacts``: each ``{id, impact, help, targets}``. An empty list is a pass."""
    # Evaluated by the driver, not added as an inline <script>: the pages' CSP (script-src 'self')
    # refuses inline scripts, as it should.
    await page.evaluate("source => { (0, eval)(source); }", AXE.read_text())
    result: dict[str, Any] = await page.evaluate(
        """async () => await axe.run(document, {
             runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
           })"""
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in impacts
    ]
