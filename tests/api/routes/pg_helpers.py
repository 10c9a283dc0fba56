"""Helpers for API tests that go through the sandbox PG over real HTTP."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tests.conftest import MerchantFixture, token_for

APPROVE = "4330-1234-1234-0005"
DECLINE = "4330-1234-1234-0013"
STOPPED = "4330-1234-1234-0021"
INSUFFICIENT = "4330-1234-1234-0039"
LOST = "4330-1234-1234-0047"
UNKNOWN_NUMBER = "4330-1234-1234-0054"
SLOW = "4330-1234-1234-0062"
HANG = "4330-1234-1234-0070"
NOT_LUHN = "4330-1234-1234-0001"


def onetime(merchant_uid: str = "order-1", amount: int = 15000, card: str = APPROVE, **extra: Any) -> dict[str, Any]:
    return {
        "merchant_uid": merchant_uid,
        "amount": amount,
        "card_number": card,
        "expiry": "2030-12",
        "birth": "900101",
        "pwd_2digit": "12",
        "name": "정기구독 1개월",
        "buyer_name": "홍길동",
        "buyer_email": "buyer@example.com",
        "buyer_tel": "010-1234-5678",
        **extra,
    }


@asynccontextmanager
async def v1_client(live: str, merchant: MerchantFixture) -> AsyncIterator[httpx.AsyncClient]:
    """A V1 client of the live gateway, authenticated as ``merchant``."""
    async with httpx.AsyncClient(base_url=live, timeout=30) as http:
        http.headers["Authorization"] = await token_for(http, merchant)
        yield http


async def sandbox_ledger(live: str, mid: str = "tosstest") -> list[dict[str, Any]]:
    """The sandbox's own record of every payment of ``mid``."""
    auth = "Basic " + base64.b64encode(f"test_sk_{mid}:".encode()).decode()
    async with httpx.AsyncClient(base_url=f"{live}/sandbox/toss") as http:
        answer = await http.get("/_sandbox/payments", headers={"Authorization": auth})
    assert answer.status_code == 200, answer.text
    ledger: list[dict[str, Any]] = answer.json()
    return ledger


async def reauth(api: httpx.AsyncClient, merchant: MerchantFixture) -> None:
    """A fresh token, after a test moved the clock past the old one's 30 minutes."""
    api.headers.pop("Authorization", None)
    api.headers["Authorization"] = await token_for(api, merchant)
