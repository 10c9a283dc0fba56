"""Two real ``tollway serve`` processes on one PostgreSQL database: a key revoked with
``tollway merchant revoke-key``, and a token whose expiry is moved into the past, are refused by
both within the promised 5 seconds (``tokens.CACHE_SECONDS`` = 3); failed getToken calls spread
over both processes add up to one block, refused by both with 429."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from tests.conftest import TEST_MASTER_KEY, TEST_POOL_SIZE, MerchantFixture, make_merchant
from tollway.db.models import AccessToken
from tollway.merchants.tokens import CACHE_SECONDS
from tollway.services import Services

BURST = 4


def _env(services: Services) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")}
    env.update(
        TOLLWAY_DATABASE_URL=services.settings.resolved_database_url(),
        TOLLWAY_MASTER_KEY=TEST_MASTER_KEY,
        TOLLWAY_DB_POOL_SIZE=str(TEST_POOL_SIZE),
        TOLLWAY_WORKER_ENABLED="false",
        TOLLWAY_WEBHOOKS_ENABLED="false",
        TOLLWAY_RECONCILE_INTERVAL_SECONDS="0",
        TOLLWAY_AUTH_BURST=str(BURST),
        COLUMNS="200",
    )
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _servers(services: Services, log: Path, count: int) -> Iterator[list[str]]:
    procs, bases = [], []
    with log.open("ab") as out:
        for _ in range(count):
            port = _free_port()
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "tollway", "serve", "--port", str(port), "--no-demo", "--no-migrate"],
                    env=_env(services),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
    try:
        for base in bases:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            else:
                raise AssertionError(f"tollway serve did not start:\n{log.read_text(errors='replace')[-3000:]}")
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _status(http: httpx.AsyncClient, base: str, token: str) -> int:
    return (await http.get(f"{base}/users/pg", headers={"Authorization": token})).status_code


async def _token(http: httpx.AsyncClient, base: str, m: MerchantFixture) -> str:
    answer = await http.post(f"{base}/users/getToken", json={"imp_key": m.imp_key, "imp_secret": m.imp_secret})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["response"]["access_token"])


@pytest.mark.xdist_group("processes")  # one multi-process test at a time (./dev test: --dist loadgroup)
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_revocation_expiry_and_throttle_reach_every_process(
    database_url: str, services: Services, merchant: MerchantFixture, tmp_path: Path
) -> None:
    assert database_url.startswith("postgresql")
    expiring = await make_merchant(services, "Expiring", mid="tossexp")
    targeted = await make_merchant(services, "Targeted", mid="tosstarget")
    with _servers(services, tmp_path / "serve.log", 2) as (a, b):
        async with httpx.AsyncClient(timeout=30) as http:
            # revocation, by the CLI, while both processes have the token cached
            token = await _token(http, a, merchant)
            assert [await _status(http, a, token), await _status(http, b, token)] == [200, 200]
            revoked = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "tollway", "merchant", "revoke-key", merchant.user_code, merchant.imp_key],
                env=_env(services),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert revoked.returncode == 0, revoked.stdout + revoked.stderr
            assert f"revoked imp_key {merchant.imp_key} of merchant {merchant.user_code}" in revoked.stdout
            assert "no active REST key left" in revoked.stdout
            await asyncio.sleep(CACHE_SECONDS + 0.5)  # the promise: within 5 s
            assert [await _status(http, a, token), await _status(http, b, token)] == [401, 401]
            refused = await http.post(
                f"{b}/users/getToken", json={"imp_key": merchant.imp_key, "imp_secret": merchant.imp_secret}
            )
            assert refused.status_code == 401

            # an expiry moved into the past
            token = await _token(http, b, expiring)
            assert [await _status(http, a, token), await _status(http, b, token)] == [200, 200]
            async with services.sessions() as session:
                await session.execute(
                    update(AccessToken)
                    .where(AccessToken.merchant_id == expiring.id)
                    .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
                )
                await session.commit()
            await asyncio.sleep(CACHE_SECONDS + 0.5)
            assert [await _status(http, a, token), await _status(http, b, token)] == [401, 401]

            # failures on both processes add up to one block, honoured by both (this address has
            # one failure already: the revoked key's getToken above)
            wrong = {"imp_key": targeted.imp_key, "imp_secret": "wrong-wrong-wrong"}
            codes = [
                (await http.post(f"{(a, b)[i % 2]}/users/getToken", json=wrong)).status_code for i in range(BURST - 1)
            ]
            assert codes == [401] * (BURST - 1)
            for base in (a, b):
                answer = await http.post(f"{base}/users/getToken", json=wrong)
                assert answer.status_code == 429
                assert answer.json()["code"] == -1 and answer.json()["response"] is None
