"""``tollway merchant origins …``, the warnings about a live channel without them, and
``tollway serve`` refusing a busy port before it prints any secret."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from tests.cli.test_main import TOLLWAY, _env, _printed, _Server, _tollway


def test_origins_commands_and_the_live_channel_warning(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert _tollway(data_dir, "db", "upgrade").returncode == 0
    code = _printed(_tollway(data_dir, "merchant", "create", "--name", "Mall").stdout, "user code")
    empty = _tollway(data_dir, "merchant", "origins", "list", code)
    assert empty.returncode == 0 and "no allowed origins" in empty.stdout
    live = subprocess.run(
        [*TOLLWAY, "channel", "add", code, "--mid", "livemid", "--client-key", "live_ck_x", "--live"],
        env={**_env(data_dir), "TOLLWAY_CHANNEL_SECRET_KEY": "live_sk_value"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert live.returncode == 0 and "warning" in live.stdout and "no allowed origins" in live.stdout, live.stdout
    added = _tollway(data_dir, "merchant", "origins", "add", code, "https://Shop.example/", "https://m.shop.example")
    assert added.returncode == 0 and "https://shop.example" in added.stdout and "(2)" in added.stdout, added.stdout
    bad = _tollway(data_dir, "merchant", "origins", "add", code, "javascript:alert(1)")
    assert bad.returncode == 1 and "not an origin" in bad.stdout
    removed = _tollway(data_dir, "merchant", "origins", "remove", code, "https://m.shop.example")
    assert "https://m.shop.example" not in removed.stdout and "(1)" in removed.stdout
    assert "no allowed origins" in _tollway(data_dir, "merchant", "origins", "clear", code).stdout


def test_serve_stops_on_a_busy_port_before_printing_secrets(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        refused = _tollway(tmp_path / "data", "serve", "--port", str(busy.getsockname()[1]))
    assert refused.returncode == 1 and "cannot listen" in refused.stdout, refused.stdout
    assert "imp_secret" not in refused.stdout and "demo merchant" not in refused.stdout
    assert not (tmp_path / "data" / "demo-merchant.json").exists()


def test_serve_warns_about_a_live_merchant_without_origins(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert _tollway(data_dir, "db", "upgrade").returncode == 0
    code = _printed(_tollway(data_dir, "merchant", "create", "--name", "Mall").stdout, "user code")
    subprocess.run(
        [*TOLLWAY, "channel", "add", code, "--mid", "livemid", "--client-key", "live_ck_x", "--live"],
        env={**_env(data_dir), "TOLLWAY_CHANNEL_SECRET_KEY": "live_sk_value"},
        capture_output=True,
        timeout=60,
        check=True,
    )
    log = _Server(data_dir).stop()
    assert f"merchant {code} has a live channel and no allowed origins" in log, log
    assert _tollway(data_dir, "merchant", "origins", "add", code, "https://shop.example").returncode == 0
    assert "no allowed origins" not in _Server(data_dir).stop()
