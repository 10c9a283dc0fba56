"""``tollway merchant origins …``: the origins a merchant's checkout windows may be opened from,
framed by and redirect to (``merchants/origins.py``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tollway.cli.common import DatabaseOpt, DataDirOpt, console, run, settings_from

app = typer.Typer(
    help="Allowed origins of a merchant: where its payment windows may be opened from, framed by and "
    "send the buyer back to. None set: any origin (i'mport's behaviour).",
    no_args_is_help=True,
)
MerchantArg = Annotated[str, typer.Argument(help="user code (imp…) or id")]
OriginsArg = Annotated[list[str], typer.Argument(help="origins, e.g. https://shop.example https://m.shop.example")]


def _show(user_code: str, origins: list[str]) -> None:
    if not origins:
        console.print(f"{user_code}: no allowed origins: windows may be opened from any site and redirect anywhere")
        console.print(f"  restrict them: tollway merchant origins add {user_code} https://shop.example")
        return
    console.print(f"{user_code}: allowed origins ({len(origins)})")
    for origin in origins:
        console.print(f"  {origin}")


def _change(merchant: str, database_url: str | None, data_dir: Any, action: str, values: list[str]) -> None:
    from tollway.merchants import audit
    from tollway.merchants import origins as domain
    from tollway.merchants.service import get_merchant

    async def work(services: Any) -> tuple[str, list[str]]:
        async with services.sessions() as session:
            found = await get_merchant(session, merchant)
            if action == "add":
                result = await domain.add_origins(session, services.clock, found.id, values)
            elif action == "remove":
                result = await domain.remove_origins(session, found.id, values)
            else:
                await domain.clear_origins(session, found.id)
                result = []
            audit.record(
                session,
                audit.CLI,
                services.clock.now(),
                merchant_id=found.id,
                action=f"origins.{action}",
                detail={"origins": result},
            )
            await session.commit()
            return found.user_code, result

    _show(*run(settings_from(database_url, data_dir), work))


@app.command("list")
def origins_list(merchant: MerchantArg, database_url: DatabaseOpt = None, data_dir: DataDirOpt = None) -> None:
    """Show a merchant's allowed origins."""
    from tollway.merchants import origins as domain
    from tollway.merchants.service import get_merchant

    async def work(services: Any) -> tuple[str, list[str]]:
        async with services.sessions() as session:
            found = await get_merchant(session, merchant)
            return found.user_code, await domain.list_origins(session, found.id)

    _show(*run(settings_from(database_url, data_dir), work))


@app.command("add")
def origins_add(
    merchant: MerchantArg, origins: OriginsArg, database_url: DatabaseOpt = None, data_dir: DataDirOpt = None
) -> None:
    """Allow origins (scheme://host[:port], no path)."""
    _change(merchant, database_url, data_dir, "add", origins)


@app.command("remove")
def origins_remove(
    merchant: MerchantArg, origins: OriginsArg, database_url: DatabaseOpt = None, data_dir: DataDirOpt = None
) -> None:
    """Stop allowing origins."""
    _change(merchant, database_url, data_dir, "remove", origins)


@app.command("clear")
def origins_clear(merchant: MerchantArg, database_url: DatabaseOpt = None, data_dir: DataDirOpt = None) -> None:
    """Remove every allowed origin (windows may then be opened from any site)."""
    _change(merchant, database_url, data_dir, "clear", [])


def warn_live_without_origins(user_codes: list[str]) -> None:
    """The warning ``tollway serve`` and ``tollway channel add --live`` print."""
    for code in user_codes:
        console.print(
            f"[yellow]warning:[/yellow] merchant {code} has a live channel and no allowed origins: any site can "
            f"open its payment windows and use the gateway to redirect buyers. "
            f"Set them: tollway merchant origins add {code} https://your-shop.example"
        )
