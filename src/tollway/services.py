"""The composition root's product: every long-lived object a request may need, built once."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from tollway import http as outgoing
from tollway.api.throttle import AuthThrottle
from tollway.clock import Clock
from tollway.config import Settings
from tollway.db.driver import Driver
from tollway.db.engine import Sessions
from tollway.merchants.tokens import TokenService
from tollway.pg.registry import ConnectorRegistry
from tollway.sandbox.app import Sandbox
from tollway.vault import Vault
from tollway.vault.keyring import Keyring


@dataclass
class Services:
    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: Sessions
    #: the hot paths' statements on the driver's own connections (``tollway.db.driver``)
    db: Driver
    vault: Vault
    #: the data keys (loaded by ``start()``); ``keyring.open`` reloads after a rotation elsewhere
    keyring: Keyring
    tokens: TokenService
    throttle: AuthThrottle
    #: one pooled HTTP client for every PG call
    http: outgoing.Client
    pg: ConnectorRegistry
    sandbox: Sandbox
    #: the client of webhook deliveries: public addresses only (``webhooks.delivery`` picks ``http``
    #: instead while private targets are allowed)
    webhook_http: outgoing.Client = field(default_factory=lambda: outgoing.client(public_only=True))

    async def start(self) -> None:
        """Loads the vault's data keys (creating the first one on a new database)."""
        await self.keyring.ensure_loaded()

    async def close(self) -> None:
        await self.http.aclose()
        await self.db.close()
        await self.webhook_http.aclose()
        await self.engine.dispose()
