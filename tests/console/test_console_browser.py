"""The console in Chromium against a live gateway, on SQLite and PostgreSQL: each role signs in once
and walks the flows of issue 18, with an axe-core audit of every page it visits.

With ``TOLLWAY_SCREENSHOTS=1`` the run also refreshes the console's screenshots in
``docs/screenshots`` (used by ``docs/console.md``).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.api.routes.pg_helpers import DECLINE, onetime, v1_client
from tests.browser import SCREENSHOTS, axe_audit
from tests.console.conftest import PASSWORD, Shops
from tests.console.receiver import receiver
from tollway.services import Services
from tollway.webhooks.delivery import Deliverer

pytestmark = pytest.mark.browser
SHOOT = os.environ.get("TOLLWAY_SCREENSHOTS") == "1"


async def visit(page: Any, name: str) -> None:
    """Every page the walk reaches passes the audit; with the flag, it is photographed."""
    assert await axe_audit(page) == [], name
    if SHOOT and "sqlite" in os.environ.get("PYTEST_CURRENT_TEST", ""):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"), full_page=True)


async def signed_in(browser: Any, live: str, email: str) -> Any:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR")
    page = await context.new_page()
    await page.goto(f"{live}/console/sign-in")
    await page.get_by_label("이메일").fill(email)
    await page.get_by_label("비밀번호").fill(PASSWORD)
    await page.get_by_role("button", name="로그인").click()
    await page.wait_for_url(lambda url: "/sign-in" not in url)
    return page


async def test_a_manager_and_an_owner_walk_the_console(
    browser: Any, live: str, shops: Shops, services: Services
) -> None:
    async with v1_client(live, shops.a) as api:
        paid = (await api.post("/subscribe/payments/onetime", json=onetime("order-1", 15000))).json()["response"]
        body = onetime("order-2", 3000, card=DECLINE, buyer_email="other@example.com")
        declined = (await api.post("/subscribe/payments/onetime", json=body)).json()["response"]
    code = declined["fail_reason"].split("]")[0].lstrip("[")
    home = f"{live}/console/m/{shops.a.user_code}"

    manager = await signed_in(browser, live, "manager@a.test")
    # the dashboard: the decline is in the breakdown by reason, drawn by the vendored Chart.js
    await manager.goto(f"{home}?range=today")
    assert code in await manager.locator("#chart-declines-table").inner_text()
    await manager.locator("#chart-declines[data-drawn]").wait_for(state="attached")
    await visit(manager, "dashboard")

    # find the payment by the buyer's email (htmx swaps the results in), then cancel part of it
    await manager.locator("nav.side").get_by_role("link", name="결제 내역").click()
    await manager.get_by_label("구매자 이메일").fill("buyer@example.com")
    await manager.get_by_role("button", name="검색").click()
    await manager.wait_for_url(lambda url: "buyer_email=buyer%40example.com" in url)
    results = manager.locator("#results tbody tr")
    assert await results.count() == 1
    await visit(manager, "payments")
    await results.first.get_by_role("link", name=paid["imp_uid"]).click()
    assert await manager.locator("#balance").inner_text() == "₩15,000"
    await manager.get_by_label("취소 금액 (비우면 잔액 전체)").fill("4000")
    await manager.get_by_label("사유").fill("부분 환불")
    await manager.get_by_role("button", name="취소 내용 확인").click()
    assert await manager.locator("#review-amount").inner_text() == "₩4,000"
    await visit(manager, "cancel-review")
    await manager.get_by_role("button", name="₩4,000 지금 취소하기").click()
    await manager.locator("p.flash").wait_for()
    assert await manager.locator("#balance").inner_text() == "₩11,000"
    timeline = await manager.locator("#timeline").inner_text()
    assert f"tollway-{paid['imp_uid']}-cancel-" in timeline and "부분 환불" in timeline
    await visit(manager, "payment")

    # a failed notification replayed to a local receiver
    async with receiver() as hook:
        hook.status = 500
        await manager.goto(f"{home}/webhooks")
        await manager.get_by_label("기본 URL (결제의 notice_url이 있으면 그 URL로 보냅니다)").fill(hook.url)
        await manager.get_by_label("시도 횟수 (1 = 아임포트처럼 한 번만)").fill("1")
        await manager.get_by_role("button", name="저장").click()
        await manager.get_by_role("button", name="테스트 알림 보내기").click()
        await manager.locator("p.flash").wait_for()
        await Deliverer(services).run_until_idle()
        await manager.reload()
        failed_row = manager.locator("#deliveries tr.state-failed").first
        assert "HTTP 500" in await failed_row.inner_text()
        hook.status = 200
        await failed_row.get_by_role("button", name="다시 보내기").click()
        await manager.locator("p.flash").wait_for()
        await Deliverer(services).run_until_idle()
        await manager.reload()
        assert await manager.locator("#deliveries tr.state-delivered").count() >= 1
        assert len(hook.got) == 2  # the failed test notification, then its replay
        await visit(manager, "webhooks")

    # schedules and billing customers, read as the manager
    await manager.goto(f"{home}/schedules")
    await visit(manager, "schedules")
    await manager.goto(f"{home}/billing")
    await visit(manager, "billing")

    # another merchant's console does not exist for this manager
    answer = await manager.goto(f"{live}/console/m/{shops.b.user_code}/payments")
    assert answer is not None and answer.status == 404

    # the owner adds a sandbox channel and tests it
    owner = await signed_in(browser, live, "owner@a.test")
    await owner.goto(f"{home}/channels")
    await owner.get_by_label("MID").fill("console_mid")
    await owner.get_by_label("클라이언트 키").fill("test_ck_console")
    await owner.get_by_label("시크릿 키 (암호화해 저장하며 다시 표시하지 않습니다)").fill("test_sk_console")
    await owner.get_by_role("button", name="채널 추가").click()
    await owner.locator("p.flash").wait_for()
    row = owner.locator("#channels tr", has_text="console_mid")
    await row.get_by_role("button", name="채널 테스트").click()
    assert "PG가 키를 인증했습니다" in await owner.locator("#channel-test").inner_text()
    assert "test_sk_console" not in await owner.content()
    await visit(owner, "channels")
    await owner.goto(f"{home}/access")
    await owner.get_by_role("button", name="키 발급").click()
    assert len(await owner.locator("#new-imp-secret").inner_text()) == 80
    await visit(owner, "access")
    await owner.goto(f"{home}/audit")
    assert "payment.cancel" in await owner.locator("#audit").inner_text()
    await visit(owner, "audit")
    await owner.goto(f"{live}/console/account")
    await visit(owner, "account")


async def test_a_viewer_cannot_cancel_and_the_operator_reads_any_merchant(
    browser: Any, live: str, shops: Shops, services: Services
) -> None:
    async with v1_client(live, shops.a) as api:
        paid = (await api.post("/subscribe/payments/onetime", json=onetime("order-1", 15000))).json()["response"]
    viewer = await signed_in(browser, live, "viewer@a.test")
    payment = f"{live}/console/m/{shops.a.user_code}/payments/{paid['imp_uid']}"
    await viewer.goto(payment)
    assert await viewer.get_by_role("button", name="취소 내용 확인").count() == 0
    # the server refuses it too: a cancel posted with the viewer's own session and CSRF token
    status = await viewer.evaluate(
        """async (url) => {
            const csrf = document.querySelector('meta[name="csrf-token"]').content;
            const body = new URLSearchParams({csrf, checksum: "15000", amount: "15000"});
            return (await fetch(url, {method: "POST", body})).status;
        }""",
        f"{payment}/cancel",
    )
    assert status == 403
    assert await viewer.locator("#balance").inner_text() == "₩15,000"

    operator = await signed_in(browser, live, "ops@tollway.test")
    await operator.goto(f"{live}/console/operator")
    assert shops.b.user_code in await operator.locator("#merchants").inner_text()
    await visit(operator, "operator")
    await operator.locator("#merchants tr", has_text=shops.a.user_code).get_by_role("link").click()
    await operator.wait_for_url(f"{live}/console/m/{shops.a.user_code}")
    await operator.goto(f"{live}/console/sign-in?lang=en")
    await visit(operator, "sign-in")
