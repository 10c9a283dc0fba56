"""The dashboard: today, 7 or 30 days of paid, declined and cancelled payments, live or sandbox."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from tollway.console.web import ConsoleRoute, page, render
from tollway.payments import stats
from tollway.payments.queries import merchant_has_live_channel

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
RANGES = {"today": 1, "7d": 7, "30d": 30}


def _series(labels: list[str], *series: tuple[str, list[int]]) -> dict[str, Any]:
    return {"labels": labels, "series": [{"label": label, "values": values} for label, values in series]}


def _top(items: dict[str, Any], limit: int = 8) -> list[tuple[str, Any]]:
    return sorted(items.items(), key=lambda kv: kv[1][0] if isinstance(kv[1], list) else kv[1], reverse=True)[:limit]


@router.get("/console/m/{user_code}")
async def dashboard(request: Request, user_code: str) -> Response:
    ctx = await page(request, user_code)
    span = request.query_params.get("range", "7d")
    days = RANGES.get(span, 7)
    mode = request.query_params.get("mode")
    if mode not in ("live", "test"):
        async with ctx.services.sessions.statements() as conn:
            mode = "live" if await merchant_has_live_channel(conn, ctx.merchant_id) else "test"
    now = ctx.services.clock.now()
    board = await stats.dashboard(ctx.services, ctx.merchant_id, sandbox=mode == "test", days=days, now=now)
    t = board.total
    declines = _top(t.declines)
    methods = _top(t.by_method)
    cards = _top(t.by_card)
    _ = ctx.gettext
    charts = {
        "paid": _series(board.days, (_("Paid amount (₩)"), [f.paid_amount for f in board.series])),
        "outcomes": _series(
            board.days,
            (_("Paid"), [f.paid_count for f in board.series]),
            (_("Declined"), [f.failed_count for f in board.series]),
            (_("Cancels"), [f.cancel_count for f in board.series]),
        ),
        "declines": _series([k for k, _v in declines], (_("Declines"), [v for _k, v in declines])),
        "methods": _series([k for k, _v in methods], (_("Paid amount (₩)"), [v[1] for _k, v in methods])),
        "cards": _series([k for k, _v in cards], (_("Paid amount (₩)"), [v[1] for _k, v in cards])),
    }
    return render(
        ctx,
        "dashboard.html",
        section="dashboard",
        span=span if span in RANGES else "7d",
        mode=mode,
        board=board,
        total=t,
        declines=declines,
        methods=methods,
        cards=cards,
        charts=charts,
    )
