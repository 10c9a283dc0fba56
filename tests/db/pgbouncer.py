"""A PgBouncer of the test's own, in transaction mode, in front of the local PostgreSQL cluster.

Debian's ``pgbouncer`` (``.ci/run`` installs it). Missing, its tests are skipped locally and
fail under ``CI=true``. It listens on a free loopback port, keeps at most ``server_pool`` server
connections per database, and logs to the test's directory.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import IN_CI

BINARY = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def through(url: str, port: int) -> str:
    """``url`` with its host and port replaced by the bouncer's."""
    parts = urlsplit(url)
    user = parts.username or "postgres"
    return urlunsplit(parts._replace(netloc=f"{user}@127.0.0.1:{port}"))


@contextmanager
def pgbouncer(upstream_url: str, workdir: Path, *, server_pool: int = 2) -> Iterator[int]:
    """Runs a transaction-mode PgBouncer to ``upstream_url``'s server; yields its port."""
    if BINARY is None:
        message = "pgbouncer is not installed (apt-get install -y pgbouncer)"
        if IN_CI:
            pytest.fail(message + " (CI=true: the PgBouncer tests must run)")
        pytest.skip(message)
    upstream = urlsplit(upstream_url)
    user = upstream.username or "postgres"
    port = _free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o755)  # PgBouncer drops root for the postgres user, who must read its files
    users = workdir / "users.txt"
    users.write_text(f'"{user}" ""\n')
    config = workdir / "pgbouncer.ini"
    config.write_text(
        "\n".join(
            [
                "[databases]",
                f"* = host={upstream.hostname or '127.0.0.1'} port={upstream.port or 5432}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {users}",
                "pool_mode = transaction",
                f"default_pool_size = {server_pool}",
                "max_client_conn = 100",
                "ignore_startup_parameters = extra_float_digits",
                *(["user = postgres"] if os.geteuid() == 0 else []),  # it refuses to run as root
                "",
            ]
        )
    )
    for path in (users, config):
        path.chmod(0o644)
    log = (workdir / "pgbouncer.log").open("wb")
    proc = subprocess.Popen([BINARY, str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        assert proc.poll() is None, (workdir / "pgbouncer.log").read_text()
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
