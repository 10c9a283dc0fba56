"""``tollway console create-user``: console accounts (the console itself manages the rest)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tollway.cli.common import DatabaseOpt, DataDirOpt, console, run, settings_from

app = typer.Typer(help="The merchant console at /console: its user accounts.", no_args_is_help=True)


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="the user's email (their sign-in name)")],
    merchant: Annotated[str | None, typer.Option(help="user code (imp…) or id of the merchant")] = None,
    role: Annotated[str, typer.Option(help="owner, manager or viewer")] = "owner",
    operator: Annotated[
        bool, typer.Option("--operator", help="the installation's operator: every merchant, no --merchant")
    ] = False,
    password: Annotated[
        str | None, typer.Option(help="set this password (10+ characters); default: print a one-time one")
    ] = None,
    database_url: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Create a console user. Without --password a random one is printed once (only its hash is stored)."""
    from tollway.merchants import audit, staff
    from tollway.merchants.service import get_merchant

    if operator == (merchant is not None):
        console.print("[red]error:[/red] give --merchant M (with --role), or --operator")
        raise typer.Exit(1)

    async def work(services: Any) -> tuple[str, str, str | None]:
        async with services.sessions() as session:
            merchant_id = (await get_merchant(session, merchant)).id if merchant is not None else None
            new = await staff.create_user(
                session,
                services.clock,
                merchant_id=merchant_id,
                email=email,
                role="operator" if operator else role,
                password=password,
            )
            audit.record(
                session,
                audit.CLI,
                services.clock.now(),
                merchant_id=merchant_id,
                action="user.create",
                target=new.user.email,
                detail={"role": new.user.role},
            )
            await session.commit()
            return new.user.email, new.user.role, new.generated_password

    address, given_role, generated = run(settings_from(database_url, data_dir), work)
    console.print(f"console user {address} ({given_role}) created")
    if generated:
        console.print(f"  password  {generated}   (shown once; change it in the console)")
