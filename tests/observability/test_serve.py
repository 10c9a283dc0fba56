"""A real ``tollway serve`` with ``TOLLWAY_LOG_FORMAT=json`` and ``TOLLWAY_METRICS``: every line
of its log is one JSON object; a request's id comes back in ``X-Request-Id`` and is on its PG
call's line; the access log names routes, not query strings; the metrics listener answers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.api.routes.pg_helpers import onetime


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_json_logs_carry_the_request_id_into_pg_calls_and_metrics_listen_apart(tmp_path: Path) -> None:
    port, metrics_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")}
    env.update(
        TOLLWAY_DATA_DIR=str(tmp_path / "data"),
        TOLLWAY_LOG_FORMAT="json",
        TOLLWAY_METRICS=f"127.0.0.1:{metrics_port}",
        COLUMNS="200",
    )
    log_path, banner_path = tmp_path / "serve.log", tmp_path / "banner.txt"
    with log_path.open("w") as log, banner_path.open("w") as banner:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tollway", "serve", "--port", str(port)], env=env, stdout=banner, stderr=log
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        demo = json.loads((tmp_path / "data" / "demo-merchant.json").read_text())
        token = httpx.post(
            f"{base}/users/getToken", json={"imp_key": demo["imp_key"], "imp_secret": demo["imp_secret"]}
        ).json()["response"]["access_token"]
        paid = httpx.post(
            f"{base}/subscribe/payments/onetime?_token={token}&buyer_name=hong",
            json=onetime("json-1"),
            headers={"X-Request-Id": "req-from-the-shop-42"},
            timeout=30,
        )
        assert paid.json()["response"]["status"] == "paid", paid.text
        assert paid.headers["x-request-id"] == "req-from-the-shop-42"
        made = httpx.get(f"{base}/healthz")
        assert len(made.headers["x-request-id"]) == 32  # none sent: one is made
        assert httpx.get(f"{base}/metrics").status_code == 404  # not on the public listener
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert scraped.status_code == 200
        assert 'tollway_payments_total{method="card",status="paid"} 1.0' in scraped.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # stderr is the log: every line one JSON object; stdout is the banner for a human
    records: list[dict[str, Any]] = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert records and all({"event", "level", "timestamp", "logger"} <= set(r) for r in records)
    assert "demo merchant" in banner_path.read_text()
    ours = [r for r in records if r.get("request_id") == "req-from-the-shop-42"]
    assert {r["event"] for r in ours} >= {"request", "pg call"}, ours
    (access,) = [r for r in ours if r["event"] == "request"]
    assert access["path"] == "/subscribe/payments/onetime" and access["status"] == 200
    assert token not in log_path.read_text() and "buyer_name" not in log_path.read_text()
    assert any("master key" in r["event"] for r in records)  # a new master key is announced
    # SIGTERM drained it: uvicorn finished, then the in-process worker stopped (uvicorn then
    # exits by the signal it caught, so the status is -SIGTERM)
    assert any(r["event"] == "worker stopped" for r in records), records[-5:]
