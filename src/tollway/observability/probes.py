"""What the database says, read when asked: readiness (``/readyz``) and the gauges of a scrape.

Each gauge is one indexed query: pending PG calls (``ix_payments_pg_op_at``), the webhook queue
(``ix_webhook_notifications_due``), due schedules (``ix_payment_schedules_due``). They are computed
by the process that is scraped, for this scrape only (``metrics.render``'s extra collectors).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text

from tollway.db import migrate
from tollway.db.models import Payment, PaymentSchedule, WebhookNotification
from tollway.services import Services

#: webhook states still to be delivered
UNDELIVERED = ("pending", "delivering")


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


@dataclass(frozen=True)
class Snapshot:
    pending_pg_calls: int
    oldest_pg_call_age: float
    webhook_queue: int
    oldest_webhook_age: float
    schedules_due: int
    schedule_lag: float


async def snapshot(services: Services) -> Snapshot:
    now = services.clock.now()
    async with services.sessions.statements() as conn:
        pg = (
            await conn.execute(select(func.count(), func.min(Payment.pg_op_at)).where(Payment.pg_op.is_not(None)))
        ).one()
        hooks = (
            await conn.execute(
                select(func.count(), func.min(WebhookNotification.created_at)).where(
                    WebhookNotification.state.in_(UNDELIVERED)
                )
            )
        ).one()
        due = (
            await conn.execute(
                select(func.count(), func.min(PaymentSchedule.due_at)).where(
                    PaymentSchedule.schedule_status == "scheduled", PaymentSchedule.due_at <= now
                )
            )
        ).one()
    return Snapshot(
        pending_pg_calls=int(pg[0]),
        oldest_pg_call_age=_age(now, pg[1]),
        webhook_queue=int(hooks[0]),
        oldest_webhook_age=_age(now, hooks[1]),
        schedules_due=int(due[0]),
        schedule_lag=_age(now, due[1]),
    )


class SnapshotCollector(Collector):
    """A scrape's database gauges, already read (collectors are synchronous; the queries are not)."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[GaugeMetricFamily]:
        s = self.snap
        rows: Iterable[tuple[str, str, float]] = (
            (
                "tollway_pg_calls_pending",
                "PG calls without a recorded answer: in flight, or (past the reconcile delay) awaiting reconciliation.",
                s.pending_pg_calls,
            ),
            (
                "tollway_pg_calls_pending_oldest_age_seconds",
                "Age of the oldest PG call without a recorded answer (0 if none); past the reconcile delay: stuck.",
                s.oldest_pg_call_age,
            ),
            (
                "tollway_webhooks_queue_depth",
                "Notifications not yet delivered (pending or being delivered).",
                s.webhook_queue,
            ),
            (
                "tollway_webhooks_oldest_undelivered_age_seconds",
                "Age of the oldest notification not yet delivered (0 when none).",
                s.oldest_webhook_age,
            ),
            ("tollway_schedules_due", "Scheduled payments due and not yet claimed by a worker.", s.schedules_due),
            (
                "tollway_schedules_lag_seconds",
                "now - due time of the oldest due schedule not yet claimed (0 when none).",
                s.schedule_lag,
            ),
        )
        for name, doc, value in rows:
            yield GaugeMetricFamily(name, doc, value=value)


@dataclass(frozen=True)
class Readiness:
    ok: bool
    checks: dict[str, str]


async def readiness(services: Services) -> Readiness:
    """Database reachable, migrations current, vault unsealed (its data keys loaded)."""
    checks: dict[str, str] = {}
    try:
        async with services.sessions.statements() as conn:
            await conn.execute(text("SELECT 1"))
            revision = await conn.run_sync(migrate.current_of)
        checks["database"] = "ok"
        head = migrate.head_revision()
        checks["migrations"] = "ok" if revision == head else f"at {revision}, needs {head}"
    except Exception as exc:
        checks["database"] = f"unreachable ({type(exc).__name__})"
        checks["migrations"] = "unknown"
    if checks["database"] == "ok" and not services.keyring.loaded:
        try:
            await services.keyring.ensure_loaded()  # a start that found no database may load now
        except Exception as exc:
            checks["vault"] = f"sealed ({type(exc).__name__})"
    checks.setdefault("vault", "ok" if services.keyring.loaded else "sealed (no data key loaded)")
    return Readiness(all(v == "ok" for v in checks.values()), checks)
