"""Allowed origins as the checkout, the CLI and the console share them."""

from __future__ import annotations

import pytest

from tests.conftest import MerchantFixture, add_live_channel
from tollway.errors import InvalidRequest
from tollway.merchants.origins import (
    add_origins,
    allows,
    list_origins,
    live_without_origins,
    normalize_origin,
    remove_origins,
    sandbox_only,
)
from tollway.services import Services


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://Shop.Example", "https://shop.example"),
        ("https://shop.example:443/", "https://shop.example"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://[::1]:80", "http://[::1]"),
    ],
)
def test_origins_are_normalized(given: str, origin: str) -> None:
    assert normalize_origin(given) == origin


@pytest.mark.parametrize(
    "given",
    [
        "javascript:alert(1)",
        "shop.example",
        "https://shop.example/path",
        "https://u@shop.example",
        "ftp://x",
        "",
        "https://" + "a" * 300 + ".example",  # longer than the column holds
    ],
)
def test_what_is_not_an_origin_is_refused(given: str) -> None:
    with pytest.raises(InvalidRequest):
        normalize_origin(given)


def test_a_url_is_allowed_by_its_origin_only() -> None:
    origins = ["https://shop.example"]
    assert allows(origins, "https://shop.example/done?x=1")
    assert not allows(origins, "https://shop.example.evil.example/done")
    assert not allows(origins, "http://shop.example/done")
    assert not allows(origins, "javascript:alert(1)")
    assert allows([], "https://anything.example")


async def test_adding_and_removing(services: Services, merchant: MerchantFixture) -> None:
    async with services.sessions() as session:
        assert await add_origins(session, services.clock, merchant.id, ["https://b.example", "https://a.example/"]) == [
            "https://a.example",
            "https://b.example",
        ]
        assert await add_origins(session, services.clock, merchant.id, ["https://a.example"]) == [
            "https://a.example",
            "https://b.example",
        ]
        assert await remove_origins(session, merchant.id, ["https://b.example"]) == ["https://a.example"]
        await session.commit()
    async with services.sessions() as session:
        assert await list_origins(session, merchant.id) == ["https://a.example"]


async def test_live_channels_end_sandbox_only_and_are_warned_about(
    services: Services, merchant: MerchantFixture
) -> None:
    async with services.sessions() as session:
        assert await sandbox_only(session) and await live_without_origins(session) == []
    await add_live_channel(services, merchant.id, "livemid")
    async with services.sessions() as session:
        assert not await sandbox_only(session)
        assert await live_without_origins(session) == [merchant.user_code]
        await add_origins(session, services.clock, merchant.id, ["https://shop.example"])
        await session.commit()
        assert await live_without_origins(session) == []
