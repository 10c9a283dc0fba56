"""The sandbox's own API, as a merchant's HTTP client reaches it."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import MerchantFixture

SECRET = "test_sk_tosstest"  # the ``merchant`` fixture's sandbox channel


def basic(secret: str, *, pad: bool = True, colon: bool = True) -> str:
    raw = base64.b64encode(f"{secret}{':' if colon else ''}".encode()).decode()
    return "Basic " + (raw if pad else raw.rstrip("="))


@pytest.fixture
async def toss(live: str, merchant: MerchantFixture) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the sandbox's Toss API, authenticated as the ``merchant`` fixture's channel."""
    async with httpx.AsyncClient(base_url=f"{live}/sandbox/toss", headers={"Authorization": basic(SECRET)}) as http:
        yield http
