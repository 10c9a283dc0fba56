"""``tollway merchant …`` and ``tollway channel …``: merchants, REST key pairs and PG channels."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer
from rich.table import Table

from tollway.cli.common import DatabaseOpt, DataDirOpt, console, run, settings_from
from tollway.vault import Secret

merchant_app = typer.Typer(help="Merchants and their REST API key pairs.", no_args_is_help=True)
channel_app = typer.Typer(help="PG channels of a merchant (Toss Payments MIDs and keys).", no_args_is_help=True)


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
                session,
                services.clock,
                services.vault,
                name,
                user_code=user_code,
                imp_key=imp_key,
                imp_secret=imp_secret,
            )
            await session.commit()
            return new.merchant.user_code, new.key_pair.imp_key, new.key_pair.imp_secret

    code, key, secret = run(settings_from(database_url, data_dir), work)
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
            pair = await add_api_key(
                session, services.clock, services.vault, found, imp_key=imp_key, imp_secret=imp_secret
            )
            await session.commit()
            return pair.imp_key, pair.imp_secret

    key, secret = run(settings_from(database_url, data_dir), work)
    console.print(f"  imp_key     {key}")
    console.print(f"  imp_secret  {secret.reveal()}   (shown once; only its hash is stored)")


@merchant_app.command("revoke-key")
def merchant_revoke_key(
    merchant: Annotated[str, typer.Argument(help="user code (imp…) or id")],
    imp_key: Annotated[str, typer.Argument(help="the REST API key to revoke")],
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke a REST key pair: getToken refuses it at once, and its tokens are refused by every
    server within 5 seconds."""
    from tollway.errors import NotFound
    from tollway.merchants.keys import RevokedKey, revoke_api_key
    from tollway.merchants.service import get_merchant
    from tollway.merchants.tokens import CACHE_SECONDS

    async def work(services: Any) -> tuple[str, RevokedKey]:
        async with services.sessions() as session:
            found = await get_merchant(session, merchant)
            try:
                revoked = await revoke_api_key(session, services.clock, found.id, imp_key)
            except NotFound:
                hint = f"merchant {found.user_code} has no imp_key {imp_key!r} (see `tollway merchant list`)"
                raise NotFound(hint) from None
            await session.commit()
            return found.user_code, revoked

    code, revoked = run(settings_from(database_url, data_dir), work)
    when = revoked.revoked_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    if revoked.newly:
        console.print(f"revoked imp_key {revoked.imp_key} of merchant {code} at {when}")
        console.print(
            f"  getToken refuses it now; tokens already issued are refused by every server within "
            f"{CACHE_SECONDS:g} s (no restart needed)"
        )
    else:
        console.print(f"imp_key {revoked.imp_key} of merchant {code} was already revoked (at {when}); nothing changed")
    if revoked.active_left == 0:
        console.print(
            f"[yellow]warning:[/yellow] merchant {code} has no active REST key left: "
            f"add one with `tollway merchant add-key {code}`"
        )
    else:
        console.print(f"  {revoked.active_left} active key(s) left for {code}")


@merchant_app.command("list")
def merchant_list(database_url: DatabaseOpt = None, data_dir: DataDirOpt = None) -> None:
    """List merchants with their REST API keys and channel counts."""
    from tollway.merchants.service import list_merchants

    async def work(services: Any) -> Any:
        async with services.sessions() as session:
            return await list_merchants(session)

    rows = run(settings_from(database_url, data_dir), work)
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
    from tollway.cli.origins import warn_live_without_origins
    from tollway.merchants.origins import live_without_origins
    from tollway.merchants.service import add_channel, get_merchant

    secret = secret_key or getpass.getpass("Toss secret key: ")
    if not secret:
        console.print("[red]error:[/red] a secret key is required")
        raise typer.Exit(1)

    async def work(services: Any) -> tuple[str, str, bool, list[str]]:
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
            unguarded = await live_without_origins(session) if not sandbox else []
            return channel.channel_key, channel.pg_provider, channel.is_default, unguarded

    key, provider, is_default, unguarded = run(settings_from(database_url, data_dir), work)
    console.print(f"channel {provider}.{mid} added{' (default)' if is_default else ''}: channel_key {key}")
    warn_live_without_origins(unguarded)


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
    for c in run(settings_from(database_url, data_dir), work):
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

    console.print(f"default channel is now {run(settings_from(database_url, data_dir), work)}")
