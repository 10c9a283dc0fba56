"""What every ``tollway`` command shares: the console, the database options, and running work
against freshly built services with errors turned into one clear line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from tollway.config import Settings
from tollway.db import migrate
from tollway.errors import TollwayError
from tollway.vault import VaultError

console = Console(soft_wrap=True)  # never break a key or URL across lines
T = TypeVar("T")

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="sqlite:///file.db or postgresql://… [env TOLLWAY_DATABASE_URL]"),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="where the SQLite file and master key live [env TOLLWAY_DATA_DIR]"),
]


def settings_from(database_url: str | None = None, data_dir: Path | None = None, **extra: Any) -> Settings:
    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if database_url is not None:
        overrides["database_url"] = database_url
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)


def run(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Builds the services, runs ``work(services)``, closes; errors become a clear message and exit 1."""
    from tollway.app import build_services

    async def go() -> T:
        services = build_services(settings)
        try:
            await services.start()
            return await work(services)
        finally:
            await services.close()

    try:
        return asyncio.run(go())
    except (TollwayError, VaultError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


def upgrade(settings: Settings) -> None:
    url = settings.resolved_database_url()
    try:
        asyncio.run(migrate.upgrade(url))
    except Exception as exc:
        console.print(f"[red]error:[/red] cannot migrate {safe_url(url)}: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None


def safe_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        return f"{scheme}{sep}{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url
