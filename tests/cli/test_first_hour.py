"""The newcomer's first commands (in-process, through typer's runner): one clear line and a
non-zero status when the database is missing, unreachable or not migrated, nothing created on the
way; defaults and readable types in ``serve --help``; backups refused rather than half done."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tollway.cli.main import app

runner = CliRunner()


def tollway(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def one_clear_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    assert "Traceback" not in output
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [
        ("merchant", "list"),
        ("channel", "list", "imp00000000"),
        ("vault", "status"),
        ("webhooks", "list"),
        ("reconcile",),
    ],
)
def test_commands_outside_a_tollway_directory_say_so_and_create_nothing(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    code, output = tollway(*command, "--data-dir", str(tmp_path / "nowhere"))
    assert code == 1
    assert "no database at" in one_clear_line(output) and "tollway db upgrade" in output
    assert not (tmp_path / "nowhere").exists()  # no master key, no empty database


def test_an_unmigrated_database_is_named_with_the_fix(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "empty.db").close()
    code, output = tollway("merchant", "list", "--database-url", f"sqlite:///{tmp_path / 'empty.db'}")
    assert code == 1 and "revision none (empty)" in one_clear_line(output) and "tollway db upgrade" in output


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:1/tollway"
    for command in (("merchant", "list"), ("db", "current"), ("db", "upgrade"), ("serve", "--no-migrate")):
        code, output = tollway(*command, "--database-url", url)
        assert code == 1, (command, output)
        assert "127.0.0.1:1" in one_clear_line(output), command


def test_serve_help_shows_defaults_and_readable_types() -> None:
    code, output = tollway("serve", "--help")
    assert code == 0
    for expected in ("--host HOST", "127.0.0.1", "--port PORT", "8000", "--database-url URL", "TOLLWAY_DATABASE_URL"):
        assert expected in output, expected
    assert "--data-dir DIR" in output and "./.tollway" in output


def test_backup_and_restore_refuse_rather_than_overwrite(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    assert tollway("db", "upgrade", "--data-dir", data)[0] == 0
    assert tollway("db", "backup", str(tmp_path / "b.db"), "--data-dir", data)[0] == 0
    code, output = tollway("db", "backup", str(tmp_path / "b.db"), "--data-dir", data)
    assert code == 1 and "exists" in one_clear_line(output)
    code, output = tollway("db", "restore", str(tmp_path / "b.db"), "--data-dir", data)
    assert code == 1 and "--force" in one_clear_line(output)
    assert tollway("db", "restore", str(tmp_path / "b.db"), "--data-dir", data, "--force")[0] == 0
    code, output = tollway("db", "backup", str(tmp_path / "pg.dump"), "--database-url", "postgresql://u@db/x")
    assert code == 1 and "pg_dump --format=custom" in output and not (tmp_path / "pg.dump").exists()
