"""``tollway sandbox serve | add-key``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tollway.cli.common import DatabaseOpt, DataDirOpt, console, run, settings_from, upgrade
from tollway.errors import TollwayError

app = typer.Typer(help="The embedded Toss-compatible sandbox PG.", no_args_is_help=True)


@app.command("serve")
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

    settings = settings_from(database_url, data_dir, host=host, port=port)
    upgrade(settings)
    console.print(f"Toss-compatible sandbox on http://{host}:{port}/sandbox/toss/v1")
    console.print(f"  Toss's public docs test key works: {DOCS_SECRET_KEY}; add more: tollway sandbox add-key")
    uvicorn.run(create_sandbox_only_app(settings), host=host, port=port, log_level=settings.log_level)


@app.command("add-key")
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
    settings = settings_from(database_url, data_dir)
    upgrade(settings)

    async def work(services: Any) -> None:
        async with services.sessions() as session:
            try:
                await register_merchant(session, mid, client_key, secret_key, services.clock.now())
            except SandboxKeyConflict as exc:
                raise TollwayError(str(exc)) from None
            await session.commit()

    run(settings, work)
    console.print(f"sandbox key added for MID {mid}")
