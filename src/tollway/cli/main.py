"""``tollway serve | db upgrade | merchant … | channel …``. Every flag can also be set as ``TOLLWAY_*``."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from tollway import __version__
from tollway.config import Settings
from tollway.db import migrate
from tollway.db.engine import is_sqlite
from tollway.errors import TollwayError
from tollway.vault import Secret, VaultError

app = typer.Typer(
    help="Tollway: an i'mport (PortOne V1) compatible payment gateway with Toss Payments.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
merchant_app = typer.Typer(help="Merchants and their REST API key pairs.", no_args_is_help=True)
channel_app = typer.Typer(help="PG channels of a merchant (Toss Payments MIDs and keys).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(merchant_app, name="merchant")
sandbox_app = typer.Typer(help="The embedded Toss-compatible sandbox PG.", no_args_is_help=True)
vault_app = typer.Typer(help="The vault's data keys: status and rotation.", no_args_is_help=True)
app.add_typer(vault_app, name="vault")
webhooks_app = typer.Typer(help="Notifications to merchants: settings, secrets, log and replay.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(channel_app, name="channel")
app.add_typer(sandbox_app, name="sandbox")

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


def _settings(database_url: str | None = None, data_dir: Path | None = None, **extra: Any) -> Settings:
    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if database_url is not None:
        overrides["database_url"] = database_url
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)


def _run(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
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


def _upgrade(settings: Settings) -> None:
    url = settings.resolved_database_url()
    try:
        asyncio.run(migrate.upgrade(url))
    except Exception as exc:
        console.print(f"[red]error:[/red] cannot migrate {_safe_url(url)}: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None


def _safe_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        return f"{scheme}{sep}{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url


@app.command()
def version() -> None:
    """Print Tollway's version."""
    console.print(__version__)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on [env TOLLWAY_HOST, default 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="port [env TOLLWAY_PORT, default 8000]")] = None,
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
    migrate_db: Annotated[
        bool | None,
        typer.Option("--migrate/--no-migrate", help="run migrations first (default: yes for SQLite)"),
    ] = None,
    demo: Annotated[
        bool | None, typer.Option("--demo/--no-demo", help="create a demo merchant on an empty database")
    ] = None,
) -> None:
    """Start the gateway. With nothing configured: a SQLite file, the sandbox PG and a demo merchant."""
    import uvicorn

    from tollway.app import build_services, create_app
    from tollway.bootstrap import ensure_demo_merchant

    settings = _settings(database_url, data_dir, host=host, port=port, demo=demo)
    url = settings.resolved_database_url()
    if migrate_db if migrate_db is not None else is_sqlite(url):
        console.print(f"migrating {_safe_url(url)} …")
        _upgrade(settings)
    else:
        current = asyncio.run(migrate.current_revision(url))
        if current != migrate.head_revision():
            console.print(
                f"[red]error:[/red] the database is at revision {current}, this Tollway needs "
                f"{migrate.head_revision()}: run `tollway db upgrade` (or `tollway serve --migrate`)"
            )
            raise typer.Exit(1)

    demo_info = _run(settings, ensure_demo_merchant) if settings.demo else None
    base = settings.resolved_public_url()
    console.print(f"[bold]Tollway {__version__}[/bold] on {base}  (database: {_safe_url(url)})")
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
    console.print(f"  REST API              {base}/users/getToken")
    console.print(f"  browser SDK           {base}/v1/iamport.js   (replaces cdn.iamport.kr/v1/iamport.js)")
    if settings.sandbox_enabled:
        console.print(f"  sandbox PG (Toss v1)  {base}/sandbox/toss/v1   (test cards: docs/sandbox.md)")
    console.print(f"  API docs              {base}/docs   (OpenAPI: {base}/openapi.json)")

    services = build_services(settings)
    uvicorn.run(create_app(services=services), host=settings.host, port=settings.port, log_level=settings.log_level)


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

    settings = _settings(database_url, data_dir)

    async def work(services: Any) -> ReconcileReport:
        age = timedelta(seconds=min_age) if min_age is not None else None
        return await run_reconcile(services, min_age=age)

    console.print("asking the PG about pending calls …")
    report = _run(settings, work)
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
        int | None, typer.Option(help="scheduled charges in flight at once [env TOLLWAY_WORKER_CONCURRENCY=32]")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="run until nothing is due, then exit")] = False,
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Run scheduled charges and webhook deliveries alone (`tollway serve` runs them too). SIGTERM: finish, exit."""
    import signal

    from tollway.app import new_worker

    settings = _settings(database_url, data_dir, worker_concurrency=concurrency)

    async def work(services: Any) -> Any:
        from tollway.webhooks.delivery import Deliverer
        from tollway.webhooks.delivery import run_periodically as deliver_webhooks

        runner = new_worker(services)
        if once:
            stats = await runner.run_until_idle()
            await Deliverer(services).run_until_idle()
            return stats
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, runner.stop)
        notifier = asyncio.create_task(deliver_webhooks(services)) if settings.webhooks_enabled else None
        try:
            return await runner.run()
        finally:
            if notifier is not None:
                notifier.cancel()

    console.print(f"schedule worker on {_safe_url(settings.resolved_database_url())} (Ctrl-C to stop) …")
    stats = _run(settings, work)
    console.print(
        f"worker done: {stats.claimed} claimed, {stats.paid} paid, {stats.failed} failed, "
        f"{stats.unknown} awaiting an answer, {stats.recovered} recovered"
    )


@vault_app.command("status")
def vault_status(database_url: DatabaseOpt = None, data_dir: DataDirOpt = None) -> None:
    """Show the data keys and how many sealed values each one holds."""
    from tollway.vault import sealed_key_id
    from tollway.vault.keyring import SEALED_COLUMNS

    settings = _settings(database_url, data_dir)

    async def work(services: Any) -> tuple[str, str | None, dict[str, int]]:
        from sqlalchemy import select

        counts: dict[str, int] = {}
        async with services.sessions() as session:
            for model, _, column, _ in SEALED_COLUMNS:
                for sealed in await session.scalars(select(getattr(model, column))):
                    key = sealed_key_id(sealed)
                    counts[key] = counts.get(key, 0) + 1
        return services.vault.key_id, services.vault.active_key_id, counts

    master, active, counts = _run(settings, work)
    console.print(f"master key {master}; active data key {active}")
    for key, count in sorted(counts.items()):
        console.print(f"  {key:<24} {count} sealed value(s){'  (active)' if key == active else ''}")


@vault_app.command("rotate")
def vault_rotate(
    new_master_key_file: Annotated[
        Path | None,
        typer.Option(help="also re-wrap every data key under this master key (base64 of 32 bytes in a file)"),
    ] = None,
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """A new data key, every sealed value re-sealed under it; optionally a new master key. No downtime."""
    from tollway.vault import Vault, load_master_key
    from tollway.vault.keyring import RotationReport

    settings = _settings(database_url, data_dir)
    new_master = Vault(load_master_key("", new_master_key_file, create=False)) if new_master_key_file else None

    async def work(services: Any) -> RotationReport:
        report: RotationReport = await services.keyring.rotate(new_master=new_master, progress=console.print)
        return report

    report = _run(settings, work)
    console.print(f"rotated: data key {report.new_key_id} active, {report.resealed} value(s) re-sealed")
    if new_master is not None:
        console.print(
            f"{report.rewrapped} data key(s) re-wrapped under master key {new_master.key_id}: running nodes go on "
            "with the keys they hold; restart each with the new TOLLWAY_MASTER_KEY / TOLLWAY_MASTER_KEY_FILE"
        )


@webhooks_app.command("configure")
def webhooks_configure(
    merchant: Annotated[str, typer.Argument(help="user code or id")],
    url: Annotated[str | None, typer.Option(help="default URL (a payment's notice_url replaces it)")] = None,
    content_type: Annotated[str | None, typer.Option("--format", help="json or form")] = None,
    attempts: Annotated[int | None, typer.Option(help="delivery attempts, 1 = V1-strict (default 12 ≈ 3 days)")] = None,
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Set a merchant's default webhook URL, body format and number of attempts."""
    from tollway.db.models import WebhookSettings
    from tollway.merchants.service import get_merchant

    if content_type not in (None, "json", "form"):
        console.print("[red]error:[/red] --format must be json or form")
        raise typer.Exit(1)
    if attempts is not None and not 1 <= attempts <= 12:
        console.print("[red]error:[/red] --attempts must be between 1 and 12")
        raise typer.Exit(1)

    async def work(services: Any) -> Any:
        async with services.sessions() as session:
            found = await get_merchant(session, merchant)
            row = await session.get(WebhookSettings, found.id)
            if row is None:
                row = WebhookSettings(merchant_id=found.id, content_type="json", max_attempts=12)
                session.add(row)
            if url is not None:
                row.default_url = url or None
            if content_type is not None:
                row.content_type = content_type
            if attempts is not None:
                row.max_attempts = attempts
            row.updated_at = services.clock.now()
            await session.commit()
            return row.default_url, row.content_type, row.max_attempts

    default_url, fmt, count = _run(_settings(database_url, data_dir), work)
    console.print(f"webhooks of {merchant}: url {default_url or '(none)'}, format {fmt}, {count} attempt(s)")


@webhooks_app.command("secret")
def webhooks_secret(
    merchant: Annotated[str, typer.Argument(help="user code or id")],
    rotate: Annotated[bool, typer.Option("--rotate", help="a new secret; the old one signs for 24 h more")] = False,
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Print the merchant's signing secret(s) (Standard Webhooks, whsec_…), newest first."""
    from tollway.merchants.service import get_merchant
    from tollway.webhooks import signing

    async def work(services: Any) -> list[str]:
        async with services.sessions() as session:
            found = await get_merchant(session, merchant)
            if rotate:
                await signing.rotate(session, services.keyring, found.id, services.clock.now())
            live = await signing.live_secrets(session, services.keyring, found.id, services.clock.now())
            await session.commit()
            return live

    for secret in _run(_settings(database_url, data_dir), work):
        console.print(secret)


@webhooks_app.command("list")
def webhooks_list(
    state: Annotated[str | None, typer.Option(help="pending, delivering, delivered or failed")] = None,
    merchant: Annotated[str | None, typer.Option(help="user code or id")] = None,
    limit: Annotated[int, typer.Option(help="rows")] = 50,
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Notifications, newest first, with their attempts."""
    from sqlalchemy import select

    from tollway.clock import to_unix
    from tollway.db.models import WebhookNotification
    from tollway.merchants.service import get_merchant

    async def work(services: Any) -> list[Any]:
        async with services.sessions() as session:
            query = select(WebhookNotification).order_by(WebhookNotification.id.desc()).limit(limit)
            if state:
                query = query.where(WebhookNotification.state == state)
            if merchant:
                query = query.where(WebhookNotification.merchant_id == (await get_merchant(session, merchant)).id)
            return list(await session.scalars(query))

    rows = _run(_settings(database_url, data_dir), work)
    table = Table("webhook_id", "imp_uid", "status", "url", "state", "attempts", "created", "last error")
    for r in rows:
        table.add_row(
            r.webhook_id, r.imp_uid, r.status, r.url, r.state, str(r.attempts), str(to_unix(r.created_at)),
            r.last_error or "",
        )  # fmt: skip
    console.print(table)


@webhooks_app.command("replay")
def webhooks_replay(
    webhook_id: Annotated[str | None, typer.Option("--id", help="one notification")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="every failed notification (with --since/--until)")] = False,
    since: Annotated[int | None, typer.Option(help="UNIX s, inclusive")] = None,
    until: Annotated[int | None, typer.Option(help="UNIX s, inclusive")] = None,
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Queue notifications for delivery again (the running workers send them)."""
    from tollway.clock import from_unix
    from tollway.webhooks.delivery import replay

    if (webhook_id is None) == (not failed):
        console.print("[red]error:[/red] give --id ID, or --failed [--since T] [--until T]")
        raise typer.Exit(1)

    async def work(services: Any) -> int:
        return await replay(
            services,
            webhook_id=webhook_id,
            since=from_unix(since) if since is not None else None,
            until=from_unix(until) if until is not None else None,
        )

    count = _run(_settings(database_url, data_dir), work)
    console.print(f"{count} notification(s) queued again")


@sandbox_app.command("serve")
def sandbox_serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8100,
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Serve only the sandbox PG (Toss v1 paths under /sandbox/toss/v1), e.g. for another project's tests."""
    import uvicorn

    from tollway.app import create_sandbox_only_app
    from tollway.sandbox.store import DOCS_SECRET_KEY

    settings = _settings(database_url, data_dir, host=host, port=port)
    _upgrade(settings)
    console.print(f"Toss-compatible sandbox on http://{host}:{port}/sandbox/toss/v1")
    console.print(f"  Toss's public docs test key works: {DOCS_SECRET_KEY}; add more: tollway sandbox add-key")
    uvicorn.run(create_sandbox_only_app(settings), host=host, port=port, log_level=settings.log_level)


@sandbox_app.command("add-key")
def sandbox_add_key(
    mid: Annotated[str, typer.Option(help="the sandbox MID these keys belong to")],
    secret_key: Annotated[str, typer.Option(help="a test secret key (test_sk_…)")],
    client_key: Annotated[str, typer.Option(help="its client key (test_ck_…)")] = "",
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Let a key pair authenticate at the sandbox as MID (for `tollway sandbox serve`)."""
    from tollway.sandbox.store import SandboxKeyConflict, register_merchant

    if not secret_key.startswith("test_"):
        console.print("[red]error:[/red] the sandbox takes test keys only (test_sk_…)")
        raise typer.Exit(1)
    settings = _settings(database_url, data_dir)
    _upgrade(settings)

    async def work(services: Any) -> None:
        async with services.sessions() as session:
            try:
                await register_merchant(session, mid, client_key, secret_key, services.clock.now())
            except SandboxKeyConflict as exc:
                raise TollwayError(str(exc)) from None
            await session.commit()

    _run(settings, work)
    console.print(f"sandbox key added for MID {mid}")


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOpt = None, data_dir: DataDirOpt = None) -> None:
    """Apply every migration the database lacks."""
    settings = _settings(database_url, data_dir)
    _upgrade(settings)
    console.print(f"database at revision {migrate.head_revision()}")


@db_app.command("current")
def db_current(database_url: DatabaseOpt = None, data_dir: DataDirOpt = None) -> None:
    """Show the database's revision and the one this Tollway needs."""
    url = _settings(database_url, data_dir).resolved_database_url()
    console.print(f"database: {asyncio.run(migrate.current_revision(url))}  needed: {migrate.head_revision()}")


@merchant_app.command("create")
def merchant_create(
    name: Annotated[str, typer.Option(help="merchant name")],
    user_code: Annotated[str | None, typer.Option(help="imp + 8 digits; random when absent")] = None,
    imp_key: Annotated[str | None, typer.Option(help="use this REST API key (e.g. a known demo pair)")] = None,
    imp_secret: Annotated[str | None, typer.Option(help="use this REST API secret (with --imp-key)")] = None,
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Create a merchant and its first REST key pair (the secret is shown once)."""
    from tollway.merchants.service import create_merchant

    async def work(services: Any) -> tuple[str, str, Secret]:
        async with services.sessions() as session:
            new = await create_merchant(
                session, services.clock, name, user_code=user_code, imp_key=imp_key, imp_secret=imp_secret
            )
            await session.commit()
            return new.merchant.user_code, new.key_pair.imp_key, new.key_pair.imp_secret

    code, key, secret = _run(_settings(database_url, data_dir), work)
    console.print(f"merchant {name!r} created")
    console.print(f"  user code   {code}")
    console.print(f"  imp_key     {key}")
    console.print(f"  imp_secret  {secret.reveal()}   (shown once; only its hash is stored)")


@merchant_app.command("add-key")
def merchant_add_key(
    merchant: Annotated[str, typer.Argument(help="user code (imp…) or id")],
    imp_key: Annotated[str | None, typer.Option(help="use this REST API key")] = None,
    imp_secret: Annotated[str | None, typer.Option(help="use this REST API secret")] = None,
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Add another REST key pair to a merchant (the secret is shown once)."""
    from tollway.merchants.service import add_api_key, get_merchant

    async def work(services: Any) -> tuple[str, Secret]:
        async with services.sessions() as session:
            found = await get_merchant(session, merchant)
            pair = await add_api_key(session, services.clock, found, imp_key=imp_key, imp_secret=imp_secret)
            await session.commit()
            return pair.imp_key, pair.imp_secret

    key, secret = _run(_settings(database_url, data_dir), work)
    console.print(f"  imp_key     {key}")
    console.print(f"  imp_secret  {secret.reveal()}   (shown once; only its hash is stored)")


@merchant_app.command("list")
def merchant_list(database_url: DatabaseOpt = None, data_dir: DataDirOpt = None) -> None:
    """List merchants with their REST API keys and channel counts."""
    from tollway.merchants.service import list_merchants

    async def work(services: Any) -> Any:
        async with services.sessions() as session:
            return await list_merchants(session)

    rows = _run(_settings(database_url, data_dir), work)
    table = Table("id", "user code", "name", "imp_key(s)", "channels", "demo")
    for merchant, keys, channels in rows:
        table.add_row(
            str(merchant.id),
            merchant.user_code,
            merchant.name,
            ", ".join(keys),
            str(channels),
            "yes" if merchant.is_demo else "",
        )
    console.print(table)


@channel_app.command("add")
def channel_add(
    merchant: Annotated[str, typer.Argument(help="user code (imp…) or id")],
    mid: Annotated[str, typer.Option(help="Toss Payments MID")],
    client_key: Annotated[str, typer.Option(help="Toss client key (test_ck_… or live_ck_…)")],
    secret_key: Annotated[
        str | None,
        typer.Option(
            help="Toss secret key; asked without echo when absent [env TOLLWAY_CHANNEL_SECRET_KEY]",
            envvar="TOLLWAY_CHANNEL_SECRET_KEY",
        ),
    ] = None,
    pg_provider: Annotated[str, typer.Option(help="tosspayments (or the legacy alias uplus)")] = "tosspayments",
    api_version: Annotated[str, typer.Option(help="1.4 for API billing (key-in, billing keys)")] = "1.4",
    sandbox: Annotated[
        bool, typer.Option("--sandbox/--live", help="the embedded sandbox PG or the real Toss API")
    ] = True,
    name: Annotated[str | None, typer.Option(help="channel name")] = None,
    default: Annotated[bool, typer.Option("--default", help="make it the merchant's default channel")] = False,
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Add a PG channel. Its secret key is sealed and never shown again."""
    from tollway.merchants.service import add_channel, get_merchant

    secret = secret_key or getpass.getpass("Toss secret key: ")
    if not secret:
        console.print("[red]error:[/red] a secret key is required")
        raise typer.Exit(1)

    async def work(services: Any) -> tuple[str, str, bool]:
        async with services.sessions() as session:
            found = await get_merchant(session, merchant)
            channel = await add_channel(
                session,
                services.clock,
                services.vault,
                found,
                pg_provider=pg_provider,
                mid=mid,
                client_key=client_key,
                secret_key=Secret(secret),
                api_version=api_version,
                sandbox=sandbox,
                channel_name=name,
                make_default=default,
            )
            await session.commit()
            return channel.channel_key, channel.pg_provider, channel.is_default

    key, provider, is_default = _run(_settings(database_url, data_dir), work)
    console.print(f"channel {provider}.{mid} added{' (default)' if is_default else ''}: channel_key {key}")


@channel_app.command("list")
def channel_list(
    merchant: Annotated[str, typer.Argument(help="user code (imp…) or id")],
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """List a merchant's channels (secret keys are never shown)."""
    from tollway.merchants.service import get_merchant, list_channels

    async def work(services: Any) -> Any:
        async with services.sessions() as session:
            return await list_channels(session, (await get_merchant(session, merchant)).id)

    table = Table("default", "pg", "MID", "mode", "api version", "client key", "channel key", "name")
    for c in _run(_settings(database_url, data_dir), work):
        table.add_row(
            "*" if c.is_default else "",
            c.pg_provider,
            c.mid,
            "sandbox" if c.sandbox else "live",
            c.api_version,
            c.client_key,
            c.channel_key,
            c.channel_name,
        )
    console.print(table)


@channel_app.command("set-default")
def channel_set_default(
    merchant: Annotated[str, typer.Argument(help="user code (imp…) or id")],
    channel: Annotated[str, typer.Argument(help="channel key, MID, or tosspayments.{MID}")],
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Make a channel the merchant's default PG."""
    from tollway.merchants.service import get_merchant, set_default_channel

    async def work(services: Any) -> str:
        async with services.sessions() as session:
            found = await set_default_channel(session, (await get_merchant(session, merchant)).id, channel)
            await session.commit()
            return f"{found.pg_provider}.{found.mid}"

    console.print(f"default channel is now {_run(_settings(database_url, data_dir), work)}")


def main() -> None:
    app()
