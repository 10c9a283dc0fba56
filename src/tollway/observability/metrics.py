"""The Prometheus series a Tollway process records (``docs/operating.md`` lists them with alerts).

This module imports nothing of Tollway's, so any layer may record into it: the request middleware,
the state machine, the PG connector, the worker, the webhook deliverer, the engine's pool.

Series of two kinds:

- **recorded** as things happen (counters, histograms, the pool gauge). With
  ``PROMETHEUS_MULTIPROC_DIR`` set (several processes on one host: gunicorn or uvicorn workers, or
  ``tollway serve`` beside ``tollway worker``), prometheus-client keeps them in files in that
  directory, and a scrape of any process adds every process's up (``render``);
- **read at scrape time** from the database (``observability.probes``): what is pending, queued or
  late. They describe the shared database, not a process, so they are computed by the process that
  is scraped and never written to the multiprocess files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

#: Route labels are templates (``/payments/{imp_uid}``), never raw paths: a raw path would carry
#: ids into label values and grow the series without bound. Unmatched paths share one label.
UNMATCHED = "<unmatched>"

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Histogram(
    "tollway_http_request_duration_seconds",
    "HTTP requests by route template, method and status; _count is the request count.",
    ("route", "method", "status"),
    registry=REGISTRY,
)
PAYMENTS = Counter(
    "tollway_payments_total",
    "Payments that reached a status (paid, failed, cancelled: transitions of the state machine) by pay_method.",
    ("status", "method"),
    registry=REGISTRY,
)
PG_CALLS = Histogram(
    "tollway_pg_call_duration_seconds",
    "Calls to a PG by operation and outcome (ok, declined, rejected, not_found, unknown); _count counts them.",
    ("operation", "outcome"),
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 65.0),
    registry=REGISTRY,
)
WEBHOOK_ATTEMPTS = Counter(
    "tollway_webhook_attempts_total",
    "Webhook delivery attempts by outcome (delivered, retry, failed).",
    ("outcome",),
    registry=REGISTRY,
)
SCHEDULED_CHARGES = Counter(
    "tollway_scheduled_charges_total",
    "Scheduled charges run by the worker, by outcome (paid, failed, unknown, recovered).",
    ("outcome",),
    registry=REGISTRY,
)
AUTH_REFUSALS = Counter(
    "tollway_auth_refusals_total",
    "Sign-ins (getToken, console) refused with 429: blocked (too many failures) or busy (too many at once).",
    ("reason",),
    registry=REGISTRY,
)
DB_POOL_IN_USE = Gauge(
    "tollway_db_pool_connections_in_use",
    "Database connections checked out of this process's pool (summed over live processes).",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "tollway_db_pool_size",
    "The most connections a process's pool opens (TOLLWAY_DB_POOL_SIZE), summed over live processes.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)


def payment_reached(status: str, method: str | None) -> None:
    PAYMENTS.labels(status, method or "unknown").inc()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render(extra: Iterable[Collector] = ()) -> tuple[bytes, str]:
    """The exposition text: this process's series (every process's, in multiprocess mode), then
    the ``extra`` collectors (the database's gauges, computed for this scrape)."""
    directory = multiprocess_dir()
    if directory:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    body = generate_latest(registry)
    scrape = CollectorRegistry(auto_describe=False)
    for collector in extra:
        scrape.register(collector)
    return body + generate_latest(scrape), CONTENT_TYPE_LATEST
