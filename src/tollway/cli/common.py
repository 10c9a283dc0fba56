"""What every ``tollway`` command shares: the console, the database options, and running work
against freshly built services with errors turned into one clear line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import SQLAlchemyError

from tollway.config import Settings
from tollway.db import migrate
from tollway.db.engine import is_sqlite
from tollway.errors import TollwayError
from tollway.vault import VaultError

console = Console(soft_wrap=True)  # never break a key or URL across lines
T = TypeVar("T")

DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        metavar="URL",
        help="sqlite:///file.db or postgresql://user@host/db [env TOLLWAY_DATABASE_URL]",
        show_default="sqlite:///<data dir>/tollway.db",
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        help="where the SQLite file and master key live [env TOLLWAY_DATA_DIR]",
        show_default="./.tollway",
    ),
]


def settings_from(database_url: str | None = None, data_dir: Path | None = None, **extra: Any) -> Settings:
    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if database_url is not None:
        overrides["database_url"] = database_url
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)


def fail(message: str) -> NoReturn:
    """One line on the console, exit status 1: how every command reports what stops it."""
    console.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(1)


def describe(exc: BaseException) -> str:
    """A database error in one line: the driver's own message, without SQLAlchemy's SQL and links."""
    orig = getattr(exc, "orig", None)
    text = str(orig if isinstance(orig, BaseException) else exc).strip().splitlines()
    return f"{type(orig if isinstance(orig, BaseException) else exc).__name__}: {text[0] if text else ''}"[:300]


def require_database(settings: Settings) -> None:
    """Fails in one line when the database is missing, unreachable or not at this Tollway's
    revision; never creates anything (``db upgrade`` and ``serve`` do)."""
    url = settings.resolved_database_url()
    if is_sqlite(url):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:" and not Path(path).exists():
            fail(
                f"no database at {path}: run `tollway db upgrade` (or `tollway serve`) first, "
                "or point --data-dir / --database-url at yours"
            )
    try:
        current = asyncio.run(migrate.current_revision(url))
    except Exception as exc:
        fail(f"cannot reach the database at {safe_url(url)}: {describe(exc)}")
    head = migrate.head_revision()
    if current != head:
        fail(
            f"the database at {safe_url(url)} is at revision {current or 'none (empty)'}, this Tollway needs "
            f"{head}: run `tollway db upgrade`"
        )


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop where it is installed (uvicorn's ``standard`` extra brings it), as uvicorn
    serves the API on it: the worker spent a quarter of its CPU in the standard loop's socket
    writes (docs/benchmarks.md). ``None``: asyncio's own."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows, PyPy
        return None
    return uvloop.new_event_loop


def run(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Checks the database, builds the services, runs ``work(services)``, closes; errors become
    one clear line and exit status 1."""
    from tollway.app import build_services

    require_database(settings)

    async def go() -> T:
        services = build_services(settings)
        try:
            await services.start()
            return await work(services)
        finally:
            await services.close()

    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(go())
    except (TollwayError, VaultError) as exc:
        fail(str(exc))
    except (SQLAlchemyError, OSError) as exc:  # the database went away, or is full
        fail(f"database error on {safe_url(settings.resolved_database_url())}: {describe(exc)}")


@contextmanager
def progress(description: str) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar for long work: ``update(done, total)`` moves it (``total=None``: a spinner
    and a count). Drawn only on a terminal, and gone once the work is done."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # a pipe or a log file gets the result lines only
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None = None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def upgrade(settings: Settings) -> None:
    url = settings.resolved_database_url()
    applied: list[str] = []
    try:
        with progress(f"migrating {safe_url(url)}") as update:

            def step(revision: str) -> None:
                applied.append(revision)
                update(len(applied), None)

            asyncio.run(migrate.upgrade(url, step))
    except Exception as exc:
        fail(f"cannot migrate {safe_url(url)}: {describe(exc)}")
    if applied:
        console.print(f"applied {len(applied)} migration(s): {', '.join(applied)}")


def safe_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        return f"{scheme}{sep}{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url
