"""A real ``tollway worker`` process SIGKILLed in the middle of a delivery: after a restart the
notification is delivered (at least once, same webhook-id) and its attempts are logged."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.conftest import TEST_MASTER_KEY, TEST_POOL_SIZE, MerchantFixture
from tests.webhooks.test_delivery import Receiver, free_port, notifications, pay_with_hook
from tollway.services import Services


class SlowFirstReceiver(Receiver):
    """Holds its first answer for a long time (the worker is killed while waiting), then answers 200."""

    async def start(self) -> None:
        import uvicorn

        async def hook(request: Request) -> PlainTextResponse:
            self.received.append((dict(request.headers), await request.body()))
            if len(self.received) == 1:
                await asyncio.sleep(30)
            return PlainTextResponse("ok")

        app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
        config = uvicorn.Config(app, port=self.port, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(300):
            if self.server.started:
                return
            await asyncio.sleep(0.01)


def start_worker(services: Services, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")}
    env.update(
        TOLLWAY_DATABASE_URL=services.settings.resolved_database_url(),
        TOLLWAY_MASTER_KEY=TEST_MASTER_KEY,
        TOLLWAY_WEBHOOK_LEASE_SECONDS="2",
        TOLLWAY_DB_POOL_SIZE=str(TEST_POOL_SIZE),  # a few connections each: the cluster is shared
    )
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "tollway", "worker"], env=env, stdout=out, stderr=out)


@pytest.mark.xdist_group("processes")  # one multi-process test at a time (./dev test: --dist loadgroup)
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # processes side by side: SKIP LOCKED
async def test_a_worker_killed_mid_delivery_delivers_after_restart(
    database_url: str, live: str, merchant: MerchantFixture, services: Services, tmp_path: Path
) -> None:
    receiver = SlowFirstReceiver(free_port())
    await receiver.start()
    log = tmp_path / "worker.log"
    worker = start_worker(services, log)
    try:
        await pay_with_hook(live, merchant, receiver.url)
        for _ in range(300):
            if receiver.received:
                break
            await asyncio.sleep(0.05)
        assert receiver.received, log.read_text(errors="replace")[-2000:]
        worker.send_signal(signal.SIGKILL)  # in the middle of the first delivery
        worker.wait(timeout=10)
        (row,) = await notifications(services)
        assert row.state == "delivering" and row.attempts == 0
        worker = start_worker(services, log)
        for _ in range(400):
            (row,) = await notifications(services)
            if row.state == "delivered":
                break
            await asyncio.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)
        await receiver.stop()
    assert row.state == "delivered", log.read_text(errors="replace")[-2000:]
    ids = {headers["webhook-id"] for headers, _ in receiver.received}
    assert ids == {row.webhook_id} and len(receiver.received) == 2  # at least once, one id to dedupe on
