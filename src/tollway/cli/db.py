"""``tollway db upgrade | current | backup FILE | restore FILE``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from tollway.cli.common import (
    DatabaseOpt,
    DataDirOpt,
    console,
    describe,
    fail,
    progress,
    safe_url,
    settings_from,
    upgrade,
)
from tollway.db import migrate

app = typer.Typer(help="Database migrations, backups and restores.", no_args_is_help=True)


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


PG_DUMP_ADVICE = (
    "PostgreSQL is backed up with its own tools, which keep a consistent snapshot while Tollway runs:\n"
    "  pg_dump --format=custom --file {file} '{url}'\n"
    "and restored, into an empty database, with:\n"
    "  pg_restore --dbname '{url}' --no-owner {file}\n"
    "Keep the master key apart from the backup: the secrets in it are sealed under that key."
)


def _sqlite_url(database_url: str | None, data_dir: Path | None, file: Path) -> str:
    """The SQLite database's URL; on PostgreSQL, the pg_dump advice and exit 1 (nothing was done:
    a script must not take the advice for a backup)."""
    from tollway.db.engine import is_sqlite

    url = settings_from(database_url, data_dir).resolved_database_url()
    if not is_sqlite(url):
        console.print(PG_DUMP_ADVICE.format(file=file, url=safe_url(url)))
        raise typer.Exit(1)
    return url


@app.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="a new file to write the backup to")],
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Copy the SQLite database to FILE while Tollway runs (for PostgreSQL: the pg_dump advice)."""
    from tollway.db import backup

    url = _sqlite_url(database_url, data_dir, file)
    try:
        with progress("backing up") as update:
            revision = backup.backup(backup.sqlite_path(url), file, update)
    except (backup.BackupError, OSError) as exc:
        fail(str(exc))
    console.print(f"backed up {safe_url(url)} (revision {revision}) to {file}")
    console.print("keep the master key apart from it: the secrets in the backup are sealed under that key")


@app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="a backup made by `tollway db backup`")],
    force: Annotated[
        bool, typer.Option("--force", help="replace an existing database (stop every Tollway using it first)")
    ] = False,
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Replace the SQLite database with a backup (for PostgreSQL: the pg_restore advice)."""
    from tollway.db import backup

    url = _sqlite_url(database_url, data_dir, file)
    try:
        target = backup.sqlite_path(url)
        if target.exists() and not force:
            fail(
                f"a database exists at {target}: stop every Tollway process that uses it, "
                "then run this again with --force to replace it"
            )
        with progress("restoring") as update:
            revision = backup.restore(file, target, update)
    except (backup.BackupError, OSError) as exc:
        fail(str(exc))
    console.print(f"restored {file} (revision {revision}) into {safe_url(url)}")
    if revision != migrate.head_revision():
        console.print(f"this Tollway needs revision {migrate.head_revision()}: run `tollway db upgrade`")
