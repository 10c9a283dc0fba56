"""What console tests share: users of every role, and a client that signs in like a browser
(cookies, the CSRF token read from the page)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from tests.conftest import MerchantFixture, make_merchant
from tollway.app import create_app
from tollway.merchants import staff
from tollway.services import Services

PASSWORD = "correct-horse-battery"
#: argon2id at its cheapest, for tests only: the production parameters cost ~0.3 s per hash on a
#: busy 2-core machine, and every test makes five users. The hash format (and so the code) is the same.
CHEAP_ARGON2 = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


async def add_user(services: Services, merchant_id: int | None, role: str, email: str) -> str:
    async with services.sessions() as session:
        await staff.create_user(
            session, services.clock, merchant_id=merchant_id, email=email, role=role, password=PASSWORD
        )
        await session.commit()
    return email


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staff, "_hasher", CHEAP_ARGON2)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


@dataclass
class Console:
    """A browser-like client of the console."""

    http: httpx.AsyncClient
    csrf: str = ""

    async def sign_in(self, email: str, password: str = PASSWORD, code: str = "") -> httpx.Response:
        form = await self.http.get("/console/sign-in")
        answer = await self.http.post(
            "/console/sign-in",
            data={"email": email, "password": password, "code": code, "csrf": csrf_of(form.text)},
        )
        if answer.status_code == 303:
            await self.refresh_csrf()
        return answer

    async def refresh_csrf(self) -> None:
        self.csrf = csrf_of((await self.http.get("/console/account")).text)

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.http.get(path, **kw)

    async def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        return await self.http.post(path, data={"csrf": self.csrf, **(data or {})}, **kw)


@pytest.fixture
async def console_http(services: Services) -> AsyncIterator[Any]:
    """A factory of console clients over one in-process app (each client its own cookie jar)."""
    app = create_app(services=services)
    clients: list[httpx.AsyncClient] = []

    def make(base_url: str = "http://tollway.test") -> Console:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)
        clients.append(http)
        return Console(http)

    yield make
    for http in clients:
        await http.aclose()


@dataclass(frozen=True)
class Shops:
    a: MerchantFixture
    b: MerchantFixture


@pytest.fixture
async def shops(services: Services) -> Shops:
    """Merchant A (owner, manager, viewer) and merchant B (owner), and an operator."""
    a = await make_merchant(services, "Shop A", mid="mid_a")
    b = await make_merchant(services, "Shop B", mid="mid_b")
    for role in ("owner", "manager", "viewer"):
        await add_user(services, a.id, role, f"{role}@a.test")
    await add_user(services, b.id, "owner", "owner@b.test")
    await add_user(services, None, "operator", "ops@tollway.test")
    return Shops(a, b)
