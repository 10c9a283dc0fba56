"""``tollway db backup | restore`` on SQLite: a backup taken while the gateway runs, restored into
a new database, serves the same payments."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.api.routes.pg_helpers import onetime, v1_client
from tests.conftest import MerchantFixture, token_for
from tollway.app import build_services, create_app
from tollway.clock import ManualClock
from tollway.config import Settings
from tollway.db import backup
from tollway.services import Services


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_restored_backup_serves_the_same_payments(
    live: str, merchant: MerchantFixture, services: Services, settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    async with v1_client(live, merchant) as api:
        paid = (await api.post("/subscribe/payments/onetime", json=onetime("bk-1"))).json()["response"]
        await api.post("/subscribe/payments/onetime", json=onetime("bk-2"))
        assert (await api.post("/payments/cancel", json={"merchant_uid": "bk-2"})).json()["code"] == 0
        before = {uid: (await api.get(f"/payments/find/{uid}")).json() for uid in ("bk-1", "bk-2")}
        # taken while the gateway holds its connections open, and written to after
        steps: list[tuple[int, int]] = []
        file = tmp_path / "backup.db"
        revision = backup.backup(backup.sqlite_path(settings.resolved_database_url()), file, lambda *p: steps.append(p))
        await api.post("/subscribe/payments/onetime", json=onetime("after-the-backup"))
    assert revision is not None and steps and steps[-1][0] == steps[-1][1]
    assert not (tmp_path / "backup.db-wal").exists()  # one self-contained file

    restored_db = tmp_path / "restored" / "tollway.db"
    backup.restore(file, restored_db)
    restored = build_services(settings.model_copy(update={"database_url": f"sqlite:///{restored_db}"}), clock)
    await restored.start()
    try:
        app = create_app(services=restored)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            client.headers["Authorization"] = await token_for(client, merchant)
            after = {uid: (await client.get(f"/payments/find/{uid}")).json() for uid in ("bk-1", "bk-2")}
            missing = await client.get("/payments/find/after-the-backup")
    finally:
        await restored.close()
    assert after == before and after["bk-1"]["response"]["imp_uid"] == paid["imp_uid"]
    assert after["bk-2"]["response"]["status"] == "cancelled"
    assert missing.status_code == 404  # a snapshot of when it was taken


def test_a_backup_never_overwrites_and_a_restore_refuses_what_is_not_tollways(tmp_path: Path) -> None:
    source = tmp_path / "db.sqlite"
    import sqlite3

    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE t (x)")
    (tmp_path / "taken").write_text("x")
    with pytest.raises(backup.BackupError, match="exists"):
        backup.backup(source, tmp_path / "taken")
    with pytest.raises(backup.BackupError, match="not a Tollway database"):
        backup.restore(source, tmp_path / "target.db")
    assert not (tmp_path / "target.db").exists()
