"""The `tollway` command end to end: a real process, a real socket, a real SQLite file."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI  # noqa: F401 - documents that these tests need no service
from tests.demo.helpers import page_headers

TOLLWAY = [sys.executable, "-m", "tollway"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")}
    env["TOLLWAY_DATA_DIR"] = str(data_dir)
    env["COLUMNS"] = "200"  # rich tables wrap at 80 columns otherwise
    return env


def _tollway(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TOLLWAY, *args], env=_env(data_dir), capture_output=True, text=True, timeout=60)


class _Server:
    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        self.out = data_dir.parent / f"serve-{self.port}.log"
        self._log = self.out.open("w")
        self.proc = subprocess.Popen(
            [*TOLLWAY, "serve", "--port", str(self.port)],
            env=_env(data_dir),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError(f"tollway serve did not start:\n{self.out.read_text()}")

    def stop(self) -> str:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self._log.close()
        return self.out.read_text()


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


def _printed(log: str, label: str) -> str:
    match = re.search(rf"{label}\s+(\S+)", log)
    assert match, f"{label} not printed:\n{log}"
    return match.group(1)


def test_serve_on_an_empty_machine_creates_and_then_reuses_a_demo_merchant(data_dir: Path) -> None:
    server = _Server(data_dir)
    try:
        token = httpx.post(f"{server.base}/users/getToken", json={"imp_key": "x", "imp_secret": "y"})
        assert token.status_code == 401 and token.json()["code"] != 0
    finally:
        first_log = server.stop()
    assert "demo merchant created" in first_log
    user_code, imp_key, imp_secret = (_printed(first_log, k) for k in ("\\(IMP.init\\)", "imp_key", "imp_secret"))
    assert re.fullmatch(r"imp\d{8}", user_code)
    assert (data_dir / "tollway.db").exists() and (data_dir / "master.key").exists()

    server = _Server(data_dir)
    try:
        answer = httpx.post(f"{server.base}//users/getToken/", data={"imp_key": imp_key, "imp_secret": imp_secret})
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/json; charset=utf-8"
        token = answer.json()["response"]["access_token"]
        pg = httpx.get(f"{server.base}/users/pg", headers={"Authorization": f"Bearer {token}"}).json()["response"]
        assert pg[0]["sandbox"] is True and pg[0]["pg_provider"] == "tosspayments"
        # the embedded default takes a payment through its own sandbox PG, over loopback HTTP
        paid = httpx.post(
            f"{server.base}/subscribe/payments/onetime",
            headers={"Authorization": token},
            json={
                "merchant_uid": "cli-order-1",
                "amount": 1000,
                "card_number": "4330-1234-1234-0005",
                "expiry": "2030-12",
                "birth": "900101",
            },
            timeout=30,
        ).json()
        assert paid["code"] == 0 and paid["response"]["status"] == "paid", paid
        # the demo shop it points to, and its backend calling the REST API as the demo merchant
        shop = httpx.get(f"{server.base}/demo")
        assert shop.status_code == 200 and user_code in shop.text and "/v1/iamport.js" in shop.text
        verified = httpx.post(
            f"{server.base}/demo/api/verify",
            json={"imp_uid": paid["response"]["imp_uid"]},
            headers=page_headers(shop.text, server.base),
        )
        assert verified.json()["response"]["merchant_uid"] == "cli-order-1"
        # the console sign-in printed next to the key pair opens the demo merchant's console
        email, password = re.search(r"\(sign in: (\S+) / (\S+)\)", first_log).groups()  # type: ignore[union-attr]
        with httpx.Client(base_url=server.base) as browser:
            form = browser.get("/console/sign-in").text
            csrf = form.split('name="csrf-token" content="')[1].split('"')[0]
            signed = browser.post("/console/sign-in", data={"email": email, "password": password, "csrf": csrf})
            assert signed.status_code == 303
            assert browser.get("/console").headers["location"] == f"/console/m/{user_code}"
    finally:
        second_log = server.stop()
    assert f"demo shop             {server.base}/demo" in second_log
    assert "demo merchant reused" in second_log
    assert _printed(second_log, "\\(IMP.init\\)") == user_code and _printed(second_log, "imp_key") == imp_key


def test_console_create_user_prints_a_one_time_password_or_takes_one(data_dir: Path) -> None:
    assert _tollway(data_dir, "db", "upgrade").returncode == 0
    code = _printed(_tollway(data_dir, "merchant", "create", "--name", "Shop").stdout, "user code")
    made = _tollway(
        data_dir, "console", "create-user", "--merchant", code, "--email", "Boss@Shop.test", "--role", "owner"
    )
    assert (
        made.returncode == 0
        and "boss@shop.test (owner)" in made.stdout
        and len(_printed(made.stdout, "password")) >= 12
    )
    given = _tollway(
        data_dir, "console", "create-user", "--operator", "--email", "ops@x.test", "--password", "long-enough-1"
    )
    assert given.returncode == 0 and "password" not in given.stdout
    twice = _tollway(data_dir, "console", "create-user", "--operator", "--email", "ops@x.test")
    assert twice.returncode == 1
    assert _tollway(data_dir, "console", "create-user", "--email", "x@x.test").returncode == 1  # neither


def test_merchant_and_channel_commands(data_dir: Path) -> None:
    assert _tollway(data_dir, "db", "upgrade").returncode == 0
    created = _tollway(
        data_dir,
        "merchant",
        "create",
        "--name",
        "Mall",
        "--imp-key",
        "imp_apikey",
        "--imp-secret",
        "a-public-demo-secret",
    )
    assert created.returncode == 0, created.stderr
    code = _printed(created.stdout, "user code")
    listed = _tollway(data_dir, "merchant", "list")
    assert code in listed.stdout and "imp_apikey" in listed.stdout

    env_secret = {"TOLLWAY_CHANNEL_SECRET_KEY": "test_sk_secret_value"}
    added = subprocess.run(
        [*TOLLWAY, "channel", "add", code, "--mid", "mida", "--client-key", "test_ck_a"],
        env={**_env(data_dir), **env_secret},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0 and "(default)" in added.stdout, added.stdout + added.stderr
    second = subprocess.run(
        [*TOLLWAY, "channel", "add", code, "--mid", "midb", "--client-key", "test_ck_b", "--pg-provider", "uplus"],
        env={**_env(data_dir), "TOLLWAY_CHANNEL_SECRET_KEY": "test_sk_other_value"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 0 and "(default)" not in second.stdout
    assert _tollway(data_dir, "channel", "set-default", code, "tosspayments.midb").returncode == 0
    channels = _tollway(data_dir, "channel", "list", code).stdout
    assert re.search(r"\*\s+│\s+tosspayments\s+│\s+midb", channels), channels
    assert "test_sk_secret_value" not in channels

    missing = _tollway(data_dir, "channel", "list", "imp00000000")
    assert missing.returncode == 1 and "no merchant" in missing.stdout
    dup = _tollway(data_dir, "merchant", "create", "--name", "Dup", "--imp-key", "imp_apikey", "--imp-secret", "x" * 12)
    assert dup.returncode == 1 and "already in use" in dup.stdout

    revoked = _tollway(data_dir, "merchant", "revoke-key", code, "imp_apikey")
    assert revoked.returncode == 0, revoked.stdout + revoked.stderr
    assert f"revoked imp_key imp_apikey of merchant {code}" in revoked.stdout
    assert "refused by every server within 3 s" in revoked.stdout
    assert f"no active REST key left: add one with `tollway merchant add-key {code}`" in revoked.stdout
    again = _tollway(data_dir, "merchant", "revoke-key", code, "imp_apikey")
    assert again.returncode == 0 and "was already revoked" in again.stdout
    unknown = _tollway(data_dir, "merchant", "revoke-key", code, "nope")
    assert unknown.returncode == 1 and f"merchant {code} has no imp_key 'nope'" in unknown.stdout
    assert "imp_apikey" not in _tollway(data_dir, "merchant", "list").stdout  # lists active keys only


def test_serve_without_migrating_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = subprocess.run(
        [*TOLLWAY, "serve", "--database-url", "sqlite:///" + str(tmp_path / "x.db"), "--no-migrate"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "tollway db upgrade" in result.stdout


def test_reconcile_command_reports_what_it_settled(data_dir: Path) -> None:
    assert _tollway(data_dir, "db", "upgrade").returncode == 0
    done = _tollway(data_dir, "reconcile")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "still pending" in done.stdout and "paid" in done.stdout


def test_the_sandbox_can_be_served_alone(data_dir: Path) -> None:
    port = _free_port()
    log = data_dir.parent / "sandbox.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    added = _tollway(data_dir, "sandbox", "add-key", "--mid", "othershop", "--secret-key", "test_sk_othershop")
    assert added.returncode == 0, added.stdout + added.stderr
    refused = _tollway(data_dir, "sandbox", "add-key", "--mid", "x", "--secret-key", "live_sk_real")
    assert refused.returncode == 1 and "test keys only" in refused.stdout
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*TOLLWAY, "sandbox", "serve", "--port", str(port)],
            env=_env(data_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/sandbox/toss"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        body = {
            "amount": 15000,
            "orderId": "alone-0001",
            "orderName": "x",
            "cardNumber": "4330123412340005",
            "cardExpirationYear": "30",
            "cardExpirationMonth": "12",
            "customerIdentityNumber": "900101",
        }
        for secret in ("test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R", "test_sk_othershop"):
            answer = httpx.post(f"{base}/v1/payments/key-in", json=body, auth=(secret, ""), timeout=10)
            assert answer.status_code == 200 and answer.json()["status"] == "DONE", answer.text
        # the gateway's V1 API is not there: only the sandbox is served
        assert httpx.post(f"http://127.0.0.1:{port}/users/getToken", json={}).status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert "docs test key" in log.read_text()


def test_vault_status_and_rotate(data_dir: Path, tmp_path: Path) -> None:
    import base64

    assert _tollway(data_dir, "db", "upgrade").returncode == 0
    created = _tollway(data_dir, "merchant", "create", "--name", "Vaulted")
    code = _printed(created.stdout, "user code")
    env = {**_env(data_dir), "TOLLWAY_CHANNEL_SECRET_KEY": "test_sk_vaulted"}
    added = subprocess.run(
        [*TOLLWAY, "channel", "add", code, "--mid", "vaulted", "--client-key", "test_ck_v"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stdout + added.stderr
    before = _tollway(data_dir, "vault", "status")
    assert before.returncode == 0 and "1 sealed value(s)  (active)" in before.stdout, before.stdout
    new_master = tmp_path / "new-master.key"
    new_master.write_text(base64.b64encode(b"n" * 32).decode())
    rotated = _tollway(data_dir, "vault", "rotate", "--new-master-key-file", str(new_master))
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert "1 value(s) re-sealed" in rotated.stdout and "re-wrapped under master key" in rotated.stdout
    # the old master key no longer opens the keyring; the new one does
    old = _tollway(data_dir, "vault", "status")
    assert old.returncode == 1 and "error" in old.stdout
    (data_dir / "master.key").write_text(new_master.read_text())
    after = _tollway(data_dir, "vault", "status")
    assert after.returncode == 0 and "1 sealed value(s)  (active)" in after.stdout, after.stdout


def test_webhooks_commands(data_dir: Path) -> None:
    assert _tollway(data_dir, "db", "upgrade").returncode == 0
    code = _printed(_tollway(data_dir, "merchant", "create", "--name", "Hooked").stdout, "user code")
    settings = ["--url", "https://shop.test/hook", "--format", "form", "--attempts", "1"]
    configured = _tollway(data_dir, "webhooks", "configure", code, *settings)
    assert configured.returncode == 0 and "https://shop.test/hook, format form, 1 attempt(s)" in configured.stdout
    assert _tollway(data_dir, "webhooks", "configure", code, "--format", "xml").returncode == 1
    first = _tollway(data_dir, "webhooks", "secret", code).stdout.split()
    assert len(first) == 1 and first[0].startswith("whsec_")
    assert _tollway(data_dir, "webhooks", "secret", code).stdout.split() == first  # the same, not a new one
    rotated = _tollway(data_dir, "webhooks", "secret", code, "--rotate").stdout.split()
    assert len(rotated) == 2 and rotated[1] == first[0]  # both sign during the overlap
    listed = _tollway(data_dir, "webhooks", "list", "--state", "failed")
    assert listed.returncode == 0 and "webhook_id" in listed.stdout
    assert "0 notification(s) queued again" in _tollway(data_dir, "webhooks", "replay", "--failed").stdout
    assert _tollway(data_dir, "webhooks", "replay").returncode == 1
