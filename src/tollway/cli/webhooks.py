"""``tollway webhooks configure | secret | list | replay``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from tollway.cli.common import DatabaseOpt, DataDirOpt, console, fail, progress, run, settings_from

app = typer.Typer(help="Notifications to merchants: settings, secrets, log and replay.", no_args_is_help=True)


@app.command("configure")
def webhooks_configure(
    merchant: Annotated[str, typer.Argument(help="user code or id")],
    url: Annotated[str | None, typer.Option(help="default URL (a payment's notice_url replaces it)")] = None,
    content_type: Annotated[str | None, typer.Option("--format", help="json or form")] = None,
    attempts: Annotated[int | None, typer.Option(help="delivery attempts, 1 = V1-strict (default 12 ≈ 3 days)")] = None,
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Set a merchant's default webhook URL, body format and number of attempts."""
    from tollway.merchants.service import get_merchant
    from tollway.webhooks.settings import Change, configure

    async def work(services: Any) -> Any:
        async with services.sessions() as session:
            found = await get_merchant(session, merchant)
            row = await configure(session, found.id, Change(url, content_type, attempts), services.clock.now())
            await session.commit()
            return row.default_url, row.content_type, row.max_attempts

    default_url, fmt, count = run(settings_from(database_url, data_dir), work)
    console.print(f"webhooks of {merchant}: url {default_url or '(none)'}, format {fmt}, {count} attempt(s)")


@app.command("secret")
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

    for secret in run(settings_from(database_url, data_dir), work):
        console.print(secret)


@app.command("list")
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

    rows = run(settings_from(database_url, data_dir), work)
    table = Table("webhook_id", "imp_uid", "status", "url", "state", "attempts", "created", "last error")
    for r in rows:
        table.add_row(
            r.webhook_id, r.imp_uid, r.status, r.url, r.state, str(r.attempts), str(to_unix(r.created_at)),
            r.last_error or "",
        )  # fmt: skip
    console.print(table)


@app.command("replay")
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
        fail("give --id ID, or --failed [--since T] [--until T]")

    async def work(services: Any) -> int:
        with progress("queueing notifications again"):
            return await replay(
                services,
                webhook_id=webhook_id,
                since=from_unix(since) if since is not None else None,
                until=from_unix(until) if until is not None else None,
            )

    count = run(settings_from(database_url, data_dir), work)
    console.print(f"{count} notification(s) queued again")
