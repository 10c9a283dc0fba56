"""``tollway db upgrade | current``."""

from __future__ import annotations

import asyncio

import typer

from tollway.cli.common import DatabaseOpt, DataDirOpt, console, describe, fail, safe_url, settings_from, upgrade
from tollway.db import migrate

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@app.command("upgrade")
def dbupgrade(database_url: DatabaseOpt = None, data_dir: DataDirOpt = None) -> None:
    """Apply every migration the database lacks."""
    settings = settings_from(database_url, data_dir)
    upgrade(settings)
    console.print(f"database at revision {migrate.head_revision()}")


@app.command("current")
def db_current(database_url: DatabaseOpt = None, data_dir: DataDirOpt = None) -> None:
    """Show the database's revision and the one this Tollway needs."""
    url = settings_from(database_url, data_dir).resolved_database_url()
    try:
        current = asyncio.run(migrate.current_revision(url))
    except Exception as exc:
        fail(f"cannot reach the database at {safe_url(url)}: {describe(exc)}")
    console.print(f"database: {current}  needed: {migrate.head_revision()}")
