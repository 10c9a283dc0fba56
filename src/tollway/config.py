"""Settings, read from flags or ``TOLLWAY_*`` environment variables.

The embedded default needs nothing: a SQLite file and a master key file inside ``data_dir``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOLLWAY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".tollway")
    #: ``sqlite:///path`` or ``postgresql://user@host/db``; empty means ``<data_dir>/tollway.db``.
    database_url: str = ""
    #: base64 of 32 bytes; wins over ``master_key_file``.
    master_key: str = Field(default="", repr=False)
    #: empty means ``<data_dir>/master.key``, created on first start.
    master_key_file: Path | None = None
    #: The public URL merchants and browsers use to reach this gateway (printed at start).
    public_url: str = ""
    #: The most database connections a process opens (as load needs them; each is kept once open).
    #: A connection is held only while a statement or a short transaction runs (never during a PG
    #: call), so a few serve many requests in flight. Keep the sum over every process below
    #: PostgreSQL's ``max_connections`` (docs/operating.md, "Connection budgets").
    db_pool_size: int = 10
    #: asyncpg's prepared-statement cache. Turn it off behind PgBouncer in transaction mode, where
    #: consecutive statements may reach different server connections.
    db_statement_cache: bool = True
    #: Largest request body accepted, in bytes.
    max_body_bytes: int = 1_048_576
    #: Create the demo merchant with a sandbox channel when the database has no merchant.
    demo: bool = True
    log_level: str = "info"
    #: ``console`` (readable, for a terminal) or ``json`` (one object per line, for a collector).
    log_format: str = "console"
    #: ``host:port`` of a listener of its own for ``/metrics`` (e.g. ``127.0.0.1:9100``); empty: none.
    metrics: str = ""
    #: When set, ``/metrics`` is also on the public listener, for ``Authorization: Bearer <token>``.
    metrics_token: str = Field(default="", repr=False)

    #: Where live Toss channels are reached.
    toss_url: str = "https://api.tosspayments.com"
    #: Where sandbox channels are reached; empty means this gateway's own ``/sandbox/toss``.
    sandbox_url: str = ""
    #: Serve the embedded Toss-compatible sandbox at ``/sandbox/toss``.
    sandbox_enabled: bool = True
    #: How long the sandbox's ``slow`` and ``hang`` test cards take to answer, in seconds.
    sandbox_slow_seconds: float = 2.0
    sandbox_hang_seconds: float = 75.0
    #: Extra time the sandbox takes to answer every charge (benchmarks: a PG answers in ~200 ms).
    sandbox_charge_latency_seconds: float = 0.0
    #: Run the schedule worker inside ``tollway serve`` (``tollway worker`` runs it alone).
    worker_enabled: bool = True
    #: Deliver merchant notifications (webhooks) from ``tollway serve`` and ``tollway worker``.
    webhooks_enabled: bool = True
    #: Let webhooks go to loopback, private, link-local and metadata addresses. Unset: allowed while
    #: the installation is sandbox-only (the demo and local receivers), refused once any merchant
    #: has a live channel. The address a name resolves to is checked when connecting.
    webhook_allow_private: bool | None = None
    #: A delivery claimed longer ago than this is taken over (its process died).
    webhook_lease_seconds: float = 120.0
    #: Scheduled charges a worker keeps in flight at once.
    worker_concurrency: int = 128
    #: A claim older than this is taken over by another worker (its worker died).
    worker_lease_seconds: float = 120.0
    #: Timeouts of every call to a PG, in seconds (a billing charge may take up to 60 s at Toss).
    pg_connect_timeout: float = 5.0
    pg_read_timeout: float = 30.0
    pg_billing_read_timeout: float = 65.0
    #: A pending PG call is only reconciled once it is this old (it may still be in flight before).
    reconcile_after_seconds: float = 90.0
    #: An approval the PG has no record of is declared failed only after this long.
    reconcile_grace_seconds: float = 300.0
    #: How often ``tollway serve`` looks for pending PG calls to reconcile; 0 turns it off.
    reconcile_interval_seconds: float = 30.0

    #: A console session ends after this many minutes without a request.
    console_idle_minutes: int = 30
    #: Failed sign-ins (getToken, console) per address and per key or email within the window
    #: before that address or key is refused with HTTP 429 for ``auth_lockout_seconds``.
    auth_burst: int = 10
    auth_window_seconds: float = 60.0
    auth_lockout_seconds: float = 60.0
    #: Sign-in attempts checked at once per process; more are refused at once (429). 0: half the pool.
    auth_concurrency: int = 0
    #: A blocked client's 429 is held back this long (a tarpit that paces floods; costs no CPU).
    auth_refusal_hold_seconds: float = 5.0
    #: Proxies whose ``X-Forwarded-For``/``-Proto`` are believed: comma-separated IPs or networks,
    #: ``*`` for any. Empty (the default): none, the peer address is the client.
    forwarded_allow_ips: str = ""

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tollway.db').resolve()}"

    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "master.key"

    def resolved_sandbox_url(self) -> str:
        if self.sandbox_url:
            return self.sandbox_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}/sandbox/toss"

    def resolved_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"
