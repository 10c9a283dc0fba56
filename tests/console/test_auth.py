"""Signing in, sessions, CSRF, the second factor, throttling and the audit log."""

from __future__ import annotations

import pyotp
from sqlalchemy import select

from tests.conftest import count_rows
from tests.console.conftest import PASSWORD, Shops
from tollway.api.throttle import AuthThrottle
from tollway.clock import ManualClock
from tollway.db.console_models import AuditEntry, ConsoleUser
from tollway.services import Services


async def _audit(services: Services, action: str) -> list[AuditEntry]:
    async with services.sessions() as session:
        return list(await session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def test_signing_in_sets_a_strict_session_cookie_and_lands_on_the_merchants_console(
    console_http, shops: Shops, services: Services
) -> None:
    browser = console_http()
    answer = await browser.sign_in("owner@a.test")
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    assert "tollway_console=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "path=/console" in cookie and "secure" not in cookie
    home = await browser.get("/console")
    assert home.status_code == 303 and home.headers["location"] == f"/console/m/{shops.a.user_code}"
    (entry,) = await _audit(services, "sign_in")
    assert entry.actor == "owner@a.test" and entry.merchant_id == shops.a.id and entry.ip
    async with services.sessions() as session:
        stored = await session.scalar(select(ConsoleUser.password_hash).where(ConsoleUser.email == "owner@a.test"))
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_the_cookie_is_secure_behind_tls(console_http, shops: Shops) -> None:
    browser = console_http("https://tollway.test")
    answer = await browser.sign_in("owner@a.test")
    assert "secure" in answer.headers["set-cookie"].lower()


async def test_a_wrong_password_is_refused_and_throttled(console_http, shops: Shops, services: Services) -> None:
    """The console signs in through the same shared, database-backed throttle as getToken."""
    services.throttle = AuthThrottle(services.sessions, services.clock, burst=3)
    browser = console_http()
    unknown = await browser.sign_in("nobody@a.test")
    assert unknown.status_code == 401
    for _ in range(2):
        answer = await browser.sign_in("owner@a.test", "wrong-password-1")
        assert answer.status_code == 401 and "tollway_console=" not in answer.headers.get("set-cookie", "")
    assert await count_rows(services, "auth_failures") == 3  # one address, two emails: in the database
    blocked = await browser.sign_in("owner@a.test")  # the right password, from a blocked address
    assert blocked.status_code == 429 and "tollway_console=" not in blocked.headers.get("set-cookie", "")


async def test_pages_need_a_session(console_http, shops: Shops) -> None:
    browser = console_http()
    answer = await browser.get(f"/console/m/{shops.a.user_code}/payments")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/sign-in"


async def test_a_post_without_the_sessions_csrf_token_is_refused(console_http, shops: Shops) -> None:
    browser = console_http()
    await browser.sign_in("owner@a.test")
    missing = await browser.http.post("/console/account/totp/start", data={})
    other = await browser.http.post("/console/account/totp/start", data={"csrf": "0" * 40})
    assert missing.status_code == 403 and other.status_code == 403
    foreign = await browser.post("/console/account/totp/start", headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert (await browser.post("/console/account/totp/start")).status_code == 200


async def test_the_sign_in_form_itself_needs_its_csrf_token(console_http, shops: Shops) -> None:
    browser = console_http()
    answer = await browser.http.post("/console/sign-in", data={"email": "owner@a.test", "password": PASSWORD})
    assert answer.status_code == 403


async def test_an_idle_session_expires(console_http, shops: Shops, clock: ManualClock) -> None:
    browser = console_http()
    await browser.sign_in("owner@a.test")
    clock.advance(minutes=29)
    assert (await browser.get("/console/account")).status_code == 200
    clock.advance(minutes=29)  # 29 minutes after the last request: still alive
    assert (await browser.get("/console/account")).status_code == 200
    clock.advance(minutes=31)
    assert (await browser.get("/console/account")).status_code == 303


async def test_changing_the_password_signs_out_every_other_browser(
    console_http, shops: Shops, services: Services
) -> None:
    first, second = console_http(), console_http()
    await first.sign_in("manager@a.test")
    await second.sign_in("manager@a.test")
    answer = await first.post("/console/account/password", {"current": PASSWORD, "new": "a-new-long-password"})
    assert answer.status_code == 303
    assert (await second.get("/console/account")).status_code == 303  # signed out
    assert (await first.get("/console/account")).status_code == 200  # given a new session
    assert (await console_http().sign_in("manager@a.test")).status_code == 401
    assert (await console_http().sign_in("manager@a.test", "a-new-long-password")).status_code == 303
    assert len(await _audit(services, "password_change")) == 1


async def test_a_second_factor_is_asked_once_turned_on(console_http, shops: Shops, services: Services) -> None:
    browser = console_http()
    await browser.sign_in("viewer@a.test")
    page = await browser.post("/console/account/totp/start")
    secret = page.text.split('name="secret" value="')[1].split('"')[0]
    bad = await browser.post("/console/account/totp/enable", {"secret": secret, "code": "000000"})
    assert bad.status_code == 400
    on = await browser.post("/console/account/totp/enable", {"secret": secret, "code": pyotp.TOTP(secret).now()})
    assert on.status_code == 303
    async with services.sessions() as session:
        user = await session.scalar(select(ConsoleUser).where(ConsoleUser.email == "viewer@a.test"))
        assert user is not None and user.totp_sealed and secret not in user.totp_sealed
    assert (await console_http().sign_in("viewer@a.test")).status_code == 401
    with_code = await console_http().sign_in("viewer@a.test", code=pyotp.TOTP(secret).now())
    assert with_code.status_code == 303
