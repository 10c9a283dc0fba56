"""``tollway vault status | rotate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tollway.cli.common import DatabaseOpt, DataDirOpt, console, progress, run, settings_from

app = typer.Typer(help="The vault's data keys: status and rotation.", no_args_is_help=True)


@app.command("status")
def vault_status(database_url: DatabaseOpt = None, data_dir: DataDirOpt = None) -> None:
    """Show the data keys and how many sealed values each one holds."""
    from tollway.vault import sealed_key_id
    from tollway.vault.keyring import SEALED_COLUMNS

    settings = settings_from(database_url, data_dir)

    async def work(services: Any) -> tuple[str, str | None, dict[str, int]]:
        from sqlalchemy import select

        counts: dict[str, int] = {}
        async with services.sessions() as session:
            for model, _, column, _ in SEALED_COLUMNS:
                for sealed in await session.scalars(select(getattr(model, column))):
                    key = sealed_key_id(sealed)
                    counts[key] = counts.get(key, 0) + 1
        return services.vault.key_id, services.vault.active_key_id, counts

    master, active, counts = run(settings, work)
    console.print(f"master key {master}; active data key {active}")
    for key, count in sorted(counts.items()):
        console.print(f"  {key:<24} {count} sealed value(s){'  (active)' if key == active else ''}")


@app.command("rotate")
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

    settings = settings_from(database_url, data_dir)
    new_master = Vault(load_master_key("", new_master_key_file, create=False)) if new_master_key_file else None

    async def work(services: Any) -> RotationReport:
        with progress("rotating the vault's keys") as update:
            steps: list[str] = []

            def step(message: str) -> None:  # each batch re-sealed, each key re-wrapped
                steps.append(message)
                update(len(steps), None)

            report: RotationReport = await services.keyring.rotate(new_master=new_master, progress=step)
        return report

    report = run(settings, work)
    console.print(f"rotated: data key {report.new_key_id} active, {report.resealed} value(s) re-sealed")
    if new_master is not None:
        console.print(
            f"{report.rewrapped} data key(s) re-wrapped under master key {new_master.key_id}: running nodes go on "
            "with the keys they hold; restart each with the new TOLLWAY_MASTER_KEY / TOLLWAY_MASTER_KEY_FILE"
        )
