"""``/metrics``: off the public listener unless a token is set, and the series moving with the work."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from tests.api.routes.pg_helpers import DECLINE, HANG, onetime, v1_client
from tests.billing.schedule_rows import due_schedule
from tests.conftest import MerchantFixture
from tollway.clock import ManualClock
from tollway.db.models import PaymentSchedule
from tollway.observability import metrics
from tollway.observability.routes import scrape
from tollway.services import Services

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def samples(services: Services) -> Samples:
    text, _ = await scrape(services)
    found: Samples = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_are_not_on_the_public_listener_without_a_token(
    client: httpx.AsyncClient, services: Services
) -> None:
    assert (await client.get("/metrics")).status_code == 404
    services.settings.metrics_token = "s3cret-scrape-token"
    assert (await client.get("/metrics")).status_code == 404
    assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 404
    answer = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    assert "tollway_http_request_duration_seconds" in answer.text


async def test_payments_pg_calls_and_requests_move_their_series(
    live: str, merchant: MerchantFixture, services: Services
) -> None:
    before = await samples(services)
    async with v1_client(live, merchant) as api:
        paid = await api.post("/subscribe/payments/onetime", json=onetime("m-1"))
        assert paid.json()["response"]["status"] == "paid"
        declined = await api.post("/subscribe/payments/onetime", json=onetime("m-2", card=DECLINE))
        assert declined.json()["response"]["status"] == "failed"
        assert (await api.get("/payments/imp_000000000000")).status_code == 404
    after = await samples(services)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = {"route": "/subscribe/payments/onetime", "method": "POST", "status": "200"}
    assert moved("tollway_http_request_duration_seconds_count", **route) == 2
    lookup = {"route": "/payments/{imp_uid}", "method": "GET", "status": "404"}
    assert moved("tollway_http_request_duration_seconds_count", **lookup) == 1
    # the sandbox's own routes are counted under their templates, mount prefix included
    assert (
        moved(
            "tollway_http_request_duration_seconds_count",
            route="/sandbox/toss/v1/payments/key-in",
            method="POST",
            status="200",
        )
        == 1
    )
    assert moved("tollway_payments_total", status="paid", method="card") == 1
    assert moved("tollway_payments_total", status="failed", method="card") == 1
    assert moved("tollway_pg_call_duration_seconds_count", operation="key_in", outcome="ok") == 1
    assert moved("tollway_pg_call_duration_seconds_count", operation="key_in", outcome="declined") == 1
    assert value(after, "tollway_db_pool_size") == services.settings.db_pool_size
    assert ("tollway_db_pool_connections_in_use", ()) in after


async def test_the_database_gauges_show_backlogs_and_their_age(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    async with v1_client(live, merchant) as api:
        # a charge the PG never answers: pending, for reconciliation; and a notification queued
        hung = await api.post("/subscribe/payments/onetime", json=onetime("m-hang", card=HANG))
        assert hung.json()["code"] == -1
        paid = await api.post("/subscribe/payments/onetime", json=onetime("m-hook", notice_url="http://127.0.0.1:9/h"))
        assert paid.json()["response"]["status"] == "paid"
    now = clock.now()
    async with services.sessions() as session:
        await session.execute(insert(PaymentSchedule).values(**due_schedule(merchant.id, "due-1", now)))
        await session.commit()
    clock.advance(seconds=90)
    found = await samples(services)
    assert value(found, "tollway_pg_calls_pending") == 1
    assert value(found, "tollway_pg_calls_pending_oldest_age_seconds") == timedelta(seconds=90).total_seconds()
    assert value(found, "tollway_webhooks_queue_depth") == 1
    assert value(found, "tollway_webhooks_oldest_undelivered_age_seconds") == 90
    assert value(found, "tollway_schedules_due") == 1
    assert value(found, "tollway_schedules_lag_seconds") == 90


def test_processes_sharing_a_multiprocess_dir_are_added_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PROMETHEUS_MULTIPROC_DIR: two processes record; a scrape of either shows their sum."""
    record = "from tollway.observability import metrics; metrics.WEBHOOK_ATTEMPTS.labels('delivered').inc(3)"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", record], env=env, check=True, timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text, _ = metrics.render()
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }
    assert found[("tollway_webhook_attempts_total", (("outcome", "delivered"),))] == 6


async def test_the_grafana_dashboard_only_uses_series_that_exist(services: Services) -> None:
    """docs/grafana-dashboard.json parses, and every series it queries is one Tollway exposes."""
    import json
    import re

    dashboard = json.loads((Path(__file__).parents[2] / "docs" / "grafana-dashboard.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for name in re.findall(r"tollway_[a-z_]+", target["expr"])
    }
    text, _ = await scrape(services)
    exposed = {family.name for family in text_string_to_metric_families(text.decode())}  # HELP/TYPE even unused
    bases = {re.sub(r"_(bucket|count|sum|total)$", "", name) for name in queried}
    assert bases and bases <= exposed, bases - exposed


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [
        ("POST", "/v1/billing/bk_secret_billing_key_123", "charge_billing_key"),
        ("DELETE", "/v1/billing/bk_secret_billing_key_123", "delete_billing_key"),
        ("GET", "/v1/payments/orders/imp_123", "get_payment_by_order"),
        ("POST", "/v1/payments/pk_1/cancel", "cancel"),
        ("POST", "/v1/cash-receipts/rk_1/cancel", "cancel_cash_receipt"),
        ("PUT", "/v1/something/new", "put_other"),
    ],
)
def test_pg_call_labels_name_the_operation_never_a_key(method: str, path: str, operation: str) -> None:
    from tollway.pg.toss.connector import operation_of

    assert operation_of(method, path) == operation
