"""Authentication before routing (issue 14 §1): under every V1 prefix, no token is a 401 first."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/payments/no/such/route"),
        ("POST", "/subscribe/nothing"),
        ("GET", "/certifications/a/b/c"),
        ("DELETE", "/vbanks/x/y"),
        ("GET", "/receipts/a/b/c/d"),
        ("PUT", "/escrows/x"),
        ("GET", "/tiers"),
        ("GET", "/users/nobody"),
        ("GET", "/cards/a/b"),
        ("GET", "/banks/a/b"),
        ("GET", "/subscribe/customers/" + "x" * 10_000),
        ("PATCH", "/payments/cancel"),
    ],
)
async def test_authentication_comes_before_routing(
    client: httpx.AsyncClient, auth: dict[str, str], method: str, path: str
) -> None:
    anonymous = await client.request(method, path)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == -1 and anonymous.json()["response"] is None
    bad_token = await client.request(method, path, headers={"Authorization": "nope"})
    assert bad_token.status_code == 401
    known = await client.request(method, path, headers=auth)
    assert known.status_code in (400, 404, 405) and known.json()["code"] != 0


async def test_get_token_and_non_v1_paths_need_no_token(client: httpx.AsyncClient) -> None:
    assert (await client.post("/users/getToken", json={})).status_code == 400
    assert (await client.get("/no-such-prefix")).status_code == 404
    assert (await client.get("/health")).status_code == 200
