"""Which connector serves a channel: Toss at its live URL, or the sandbox for sandbox channels."""

from __future__ import annotations

import httpx

from tollway.config import Settings
from tollway.db.models import PgChannel
from tollway.http import Client
from tollway.merchants.service import SECRET_KEY_PURPOSE
from tollway.pg.base import PgConnector
from tollway.pg.toss.connector import TossConnector
from tollway.vault.keyring import Keyring


class UnsupportedProvider(Exception):
    pass


class ConnectorRegistry:
    def __init__(self, settings: Settings, keyring: Keyring, http: Client) -> None:
        self._settings = settings
        self._keyring = keyring
        self._http = http
        self._cache: dict[tuple[int, str, bool], PgConnector] = {}

    async def for_channel(self, channel: PgChannel) -> PgConnector:
        key = (channel.id, channel.secret_key_sealed, channel.sandbox)
        connector = self._cache.get(key)
        if connector is None:
            connector = await self._build(channel)
            self._cache[key] = connector
        return connector

    async def _build(self, channel: PgChannel) -> PgConnector:
        if channel.pg_provider != "tosspayments":
            raise UnsupportedProvider(f"no connector for pg_provider {channel.pg_provider!r}")
        s = self._settings
        base = s.resolved_sandbox_url() if channel.sandbox else s.toss_url
        return TossConnector(
            self._http,
            base,
            await self._keyring.open(channel.secret_key_sealed, SECRET_KEY_PURPOSE),
            timeout=httpx.Timeout(s.pg_read_timeout, connect=s.pg_connect_timeout),
            billing_timeout=httpx.Timeout(s.pg_billing_read_timeout, connect=s.pg_connect_timeout),
        )
