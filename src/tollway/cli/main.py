"""The ``tollway`` command. Each group of subcommands lives in its own module and is a typer
sub-app registered here; every flag can also be set as ``TOLLWAY_*``."""

from __future__ import annotations

import asyncio
import socket
from typing import Annotated, Any

import typer

from tollway import __version__
from tollway.cli import console as console_cli
from tollway.cli import db, origins, sandbox, vault, webhooks
from tollway.cli.common import (
    DatabaseOpt,
    DataDirOpt,
    console,
    fail,
    progress,
    require_database,
    run,
    safe_url,
    settings_from,
    upgrade,
)
from tollway.cli.merchants import channel_app, merchant_app
from tollway.cli.origins import warn_live_without_origins
from tollway.db.engine import is_sqlite
from tollway.observability.logs import configure as configure_logging

app = typer.Typer(
    help="Tollway: an i'mport (PortOne V1) compatible payment gateway with Toss Payments.",
    no_args_is_help=True,
    rich_markup_mode=None,  # help texts are plain: "[env TOLLWAY_HOST]" is text, not a markup tag
)
app.add_typer(db.app, name="db")
merchant_app.add_typer(origins.app, name="origins")
app.add_typer(merchant_app, name="merchant")
app.add_typer(channel_app, name="channel")
app.add_typer(vault.app, name="vault")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(console_cli.app, name="console")


@app.command()
def version() -> None:
    """Print Tollway's version."""
    console.print(__version__)


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(metavar="HOST", help="address to listen on [env TOLLWAY_HOST]", show_default="127.0.0.1"),
    ] = None,
    port: Annotated[
        int | None, typer.Option(metavar="PORT", help="port to listen on [env TOLLWAY_PORT]", show_default="8000")
    ] = None,
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
    migrate_db: Annotated[
        bool | None,
        typer.Option(
            "--migrate/--no-migrate", help="run migrations first", show_default="yes for SQLite, no for PostgreSQL"
        ),
    ] = None,
    demo: Annotated[
        bool | None,
        typer.Option(
            "--demo/--no-demo",
            help="a demo merchant on an empty database, and the demo shop (--no-demo: neither)",
            show_default="yes",
        ),
    ] = None,
) -> None:
    """Start the gateway. With nothing configured: a SQLite file, the sandbox PG and a demo merchant."""
    import uvicorn

    from tollway.app import build_services, create_app
    from tollway.bootstrap import ensure_demo_merchant

    settings = settings_from(database_url, data_dir, host=host, port=port, demo=demo)
    configure_logging(settings.log_format, settings.log_level)
    listener = bind_or_exit(settings.host, settings.port)  # before the banner: a busy port prints no secrets
    url = settings.resolved_database_url()
    if migrate_db if migrate_db is not None else is_sqlite(url):
        console.print(f"migrating {safe_url(url)} …")
        upgrade(settings)
    else:
        require_database(settings)  # one line and exit 1 when unreachable or not migrated

    demo_info = run(settings, ensure_demo_merchant) if settings.demo else None
    base = settings.resolved_public_url()
    console.print(f"[bold]Tollway {__version__}[/bold] on {base}  (database: {safe_url(url)})")
    if demo_info is not None:
        console.print(f"demo merchant {'created' if demo_info.created else 'reused'}:")
        console.print(f"  user code (IMP.init)  {demo_info.user_code}")
        console.print(f"  imp_key               {demo_info.imp_key}")
        if demo_info.imp_secret:
            console.print(f"  imp_secret            {demo_info.imp_secret}")
        else:
            console.print("  imp_secret            (not on this machine; add a pair: tollway merchant add-key)")
        console.print(f"  PG channel            tosspayments.{demo_info.mid} (sandbox)")
        console.print(f"  demo shop             {base}/demo   (pay, subscribe, cancel in a browser)")
        if demo_info.console_password:
            console.print(
                f"  console               {base}/console   "
                f"(sign in: {demo_info.console_email} / {demo_info.console_password})"
            )
    console.print(f"  REST API              {base}/users/getToken")
    console.print(f"  browser SDK           {base}/v1/iamport.js   (replaces cdn.iamport.kr/v1/iamport.js)")
    if settings.sandbox_enabled:
        console.print(f"  sandbox PG (Toss v1)  {base}/sandbox/toss/v1   (test cards: docs/sandbox.md)")
    console.print(f"  API docs              {base}/docs   (OpenAPI: {base}/openapi.json)")
    warn_live_without_origins(run(settings, _live_without_origins))

    services = build_services(settings)
    config = uvicorn.Config(
        create_app(services=services),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # configure_logging's handler: console or JSON lines
        access_log=False,  # the request middleware logs each request (route templates, no query strings)
        # the app applies proxy headers, from TOLLWAY_FORWARDED_ALLOW_IPS only (not uvicorn's loopback default)
        proxy_headers=False,
    )
    uvicorn.Server(config).run(sockets=[listener])


async def _live_without_origins(services: Any) -> list[str]:
    from tollway.merchants.origins import live_without_origins

    async with services.sessions() as session:
        return await live_without_origins(session)


def bind_or_exit(host: str, port: int) -> socket.socket:
    """The listening socket, bound now: a port in use is one line and exit 1, before anything is printed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc} (another process uses it? try --port)")
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@app.command()
def reconcile(
    min_age: Annotated[
        float | None,
        typer.Option(help="only calls at least this many seconds old [default TOLLWAY_RECONCILE_AFTER_SECONDS=90]"),
    ] = None,
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Settle PG calls whose answer never arrived, by asking the PG (also runs inside `serve`)."""
    from datetime import timedelta

    from tollway.payments.reconcile import ReconcileReport
    from tollway.payments.reconcile import reconcile as run_reconcile

    settings = settings_from(database_url, data_dir)

    async def work(services: Any) -> ReconcileReport:
        age = timedelta(seconds=min_age) if min_age is not None else None
        with progress("asking the PG about pending calls") as update:
            return await run_reconcile(services, min_age=age, progress=update)

    report = run(settings, work)
    for label, items in (
        ("paid", report.paid),
        ("failed", report.failed),
        ("cancels recorded", report.cancels_recorded),
        ("cancel claims released", report.released),
        ("still pending", report.still_pending),
    ):
        console.print(f"  {label:<24} {len(items)}  {' '.join(items[:10])}{' …' if len(items) > 10 else ''}")


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="scheduled charges in flight at once [env TOLLWAY_WORKER_CONCURRENCY=128]")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="run until nothing is due, then exit")] = False,
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Run scheduled charges and webhook deliveries alone (`tollway serve` runs them too). SIGTERM: finish, exit."""
    import signal

    from tollway.app import new_worker

    settings = settings_from(database_url, data_dir, worker_concurrency=concurrency)
    configure_logging(settings.log_format, settings.log_level)

    async def work(services: Any) -> Any:
        from tollway.observability import exporter
        from tollway.webhooks.delivery import Deliverer
        from tollway.webhooks.delivery import run_periodically as deliver_webhooks

        runner = new_worker(services)
        if once:
            stats = await runner.run_until_idle()
            await runner.hand_back()  # charges left without an answer: recoverable at once
            await Deliverer(services).run_until_idle()
            return stats
        notifier_stop = asyncio.Event()

        def drain() -> None:  # SIGTERM, Ctrl-C: no new claims; what is in flight finishes
            runner.stop()
            notifier_stop.set()

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, drain)
        async with exporter.listening(services):
            notifier = (
                asyncio.create_task(deliver_webhooks(services, stop=notifier_stop))
                if settings.webhooks_enabled
                else None
            )
            try:
                return await runner.run()
            finally:
                notifier_stop.set()
                if notifier is not None:
                    await notifier

    console.print(f"schedule worker on {safe_url(settings.resolved_database_url())} (Ctrl-C to stop) …")
    stats = run(settings, work)
    console.print(
        f"worker done: {stats.claimed} claimed, {stats.paid} paid, {stats.failed} failed, "
        f"{stats.unknown} awaiting an answer, {stats.recovered} recovered"
    )


def main() -> None:
    app()
