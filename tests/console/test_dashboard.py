"""The dashboard's figures: live days, rolled-up closed days, sandbox and live apart, and the page."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from tests.conftest import add_live_channel
from tests.console.conftest import Shops
from tests.ledger_helpers import seed_payment
from tollway.clock import ManualClock
from tollway.db.console_models import DailyStat
from tollway.db.models import Payment
from tollway.payments import stats
from tollway.services import Services


def test_the_toss_code_is_read_from_the_fail_reason() -> None:
    assert stats.decline_code("[REJECT_CARD_COMPANY] 카드사에서 거절했습니다.") == "REJECT_CARD_COMPANY"
    assert stats.decline_code("카드 한도 초과") == stats.OTHER and stats.decline_code(None) == stats.OTHER


async def _decline(services: Services, merchant_id: int, code: str) -> str:
    imp_uid = await seed_payment(services, merchant_id, f"declined-{code}", status="failed")
    async with services.sessions() as session:
        await session.execute(update(Payment).where(Payment.imp_uid == imp_uid).values(fail_reason=f"[{code}] 거절"))
        await session.commit()
    return imp_uid


async def test_thirty_days_add_up_rolled_up_days_and_live_ones(
    services: Services, shops: Shops, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 3, 1, 3, 0, tzinfo=UTC))  # 12:00 KST
    await seed_payment(services, shops.a.id, "old", amount=1000)
    await _decline(services, shops.a.id, "INVALID_CARD_EXPIRATION")
    clock.set(datetime(2026, 3, 10, 3, 0, tzinfo=UTC))
    await seed_payment(services, shops.a.id, "today", amount=2500, cancel=500)
    await seed_payment(services, shops.b.id, "other-merchant", amount=99999)
    board = await stats.dashboard(services, shops.a.id, sandbox=True, days=30, now=clock.now())
    t = board.total
    assert (t.paid_count, t.paid_amount, t.failed_count) == (2, 3500, 1)
    assert (t.cancel_count, t.cancel_amount) == (1, 500)
    assert dict(t.declines) == {"INVALID_CARD_EXPIRATION": 1}
    assert t.by_method["card"] == [2, 3500] and t.by_card["신한카드"] == [2, 3500]
    assert t.approval_rate == 2 / 3
    assert board.days[-1] == "2026-03-10" and len(board.series) == 30 and board.series[-1].paid_amount == 2500
    # 1 March is closed: its figures were rolled up once, and are read from there
    async with services.sessions() as session:
        rolled = {
            (r.kind, r.key): r.count
            for r in await session.scalars(
                select(DailyStat).where(
                    DailyStat.day == "2026-03-01", DailyStat.sandbox.is_(True), DailyStat.merchant_id == shops.a.id
                )
            )
        }
    assert rolled[("paid", "")] == 1 and rolled[("decline", "INVALID_CARD_EXPIRATION")] == 1
    live = await stats.dashboard(services, shops.a.id, sandbox=False, days=30, now=clock.now())
    assert live.total.paid_count == 0  # sandbox payments never count as live
    today = await stats.dashboard(services, shops.a.id, sandbox=True, days=1, now=clock.now())
    assert (today.total.paid_count, today.total.failed_count) == (1, 0)


async def test_rolling_up_twice_writes_each_day_once(services: Services, shops: Shops, clock: ManualClock) -> None:
    clock.set(datetime(2026, 3, 1, 3, 0, tzinfo=UTC))
    await seed_payment(services, shops.a.id, "old", amount=1000)
    clock.set(datetime(2026, 3, 10, 3, 0, tzinfo=UTC))
    first = await stats.roll_up_all(services, clock.now())
    assert first == 2 * (stats.LOOKBACK_DAYS - 2)  # two merchants, every closed day
    assert await stats.roll_up_all(services, clock.now()) == 0


async def test_a_decline_shows_in_the_dashboards_breakdown(
    console_http, shops: Shops, services: Services, clock: ManualClock
) -> None:
    await seed_payment(services, shops.a.id, "paid-1", amount=12000)
    await _decline(services, shops.a.id, "REJECT_CARD_COMPANY")
    await add_live_channel(services, shops.a.id, "live_mid")
    browser = console_http()
    await browser.sign_in("viewer@a.test")
    live = await browser.get(f"/console/m/{shops.a.user_code}")  # a merchant with a live channel: live first
    assert live.status_code == 200 and "REJECT_CARD_COMPANY" not in live.text
    page = await browser.get(f"/console/m/{shops.a.user_code}", params={"mode": "test", "range": "today"})
    table = page.text.split('id="chart-declines-table"')[1].split("</table>")[0]
    assert "REJECT_CARD_COMPANY" in table
    assert "REJECT_CARD_COMPANY" in page.text.split('id="chart-declines"')[1].split(">")[0]  # the chart's data
    assert "₩12,000" in page.text
