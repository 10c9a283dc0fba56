"""The data directory and the SQLite database are readable by their owner only (issue 13, item 9)."""

from __future__ import annotations

import stat
from pathlib import Path

from tollway.app import build_services
from tollway.config import Settings
from tollway.db import migrate


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_installation_keeps_its_files_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir)
    await migrate.upgrade(settings.resolved_database_url())
    services = build_services(settings)
    await services.start()
    async with services.sessions() as session:
        await session.connection()  # opens SQLite: its WAL and shared-memory files appear
        modes = {p.name: _mode(p) for p in data_dir.iterdir()}
    await services.close()
    assert _mode(data_dir) == 0o700
    assert {"tollway.db", "tollway.db-wal", "master.key"} <= set(modes), modes
    assert set(modes.values()) == {0o600}, modes


async def test_an_existing_world_readable_installation_is_tightened(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    (data_dir / "tollway.db").touch(mode=0o644)
    data_dir.chmod(0o755)
    (data_dir / "tollway.db").chmod(0o644)
    settings = Settings(data_dir=data_dir)
    await migrate.upgrade(settings.resolved_database_url())
    services = build_services(settings)
    await services.close()
    assert _mode(data_dir) == 0o700 and _mode(data_dir / "tollway.db") == 0o600
