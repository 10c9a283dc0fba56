"""The gateway's outgoing HTTP: httpx's client API over aiohttp's connection handling.

Every call to a PG and every webhook delivery goes through ``httpx.AsyncClient``, so timeouts,
errors and tests (``httpx.MockTransport``) keep httpx's shapes. Underneath, httpx's own transport
cost about 0.8 ms of CPU per request at 32 in flight (its pool scans every connection on every
state change); aiohttp's costs about 0.07 ms (docs/benchmarks.md, fifth round). This transport
hands each request to aiohttp and maps aiohttp's failures back onto httpx's exceptions, which
the callers already sort into "not sent", "timed out" and "lost".
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import urllib.request

import aiohttp
import certifi
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.helpers import ProxyInfo, proxies_from_env
from aiohttp.resolver import DefaultResolver

from tollway.logsafety import redact


def is_public(address: str) -> bool:
    """Whether an IP address is on the public internet: not loopback, private, link-local (cloud
    metadata, 169.254.169.254), shared (100.64/10), multicast, reserved or unspecified. An
    IPv4-mapped IPv6 address is judged by its IPv4 address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class NotPublic(OSError):
    """A request of a public-only client to an address that is not public."""


class PublicOnlyResolver(AbstractResolver):
    """Resolves as usual and keeps only public addresses. The connection is made to an address this
    returned, so a name that resolves to a public address when checked and a private one when
    connecting (DNS rebinding) is still refused: there is no second lookup."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        public = [r for r in found if is_public(r["host"])]
        if not public:
            raise NotPublic(f"{host} resolves to no public address (private targets are not allowed)")
        return public

    async def close(self) -> None:
        await self._inner.close()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An ``httpx`` transport sending through one ``aiohttp.ClientSession`` (created on first use,
    inside the running event loop). ``public_only``: connects to public addresses only (webhooks)."""

    def __init__(
        self, *, max_connections: int = 200, keepalive_seconds: float = 15.0, public_only: bool = False
    ) -> None:
        self._max_connections = max_connections
        self._keepalive_seconds = keepalive_seconds
        self._public_only = public_only
        self._session: aiohttp.ClientSession | None = None
        # Proxies come from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), as with httpx, read
        # once here: aiohttp's trust_env reads them, and ~/.netrc in a thread, on every request
        # (measured: 7.7–8.2 → 7.0–7.4 ms of gateway CPU per again payment).
        self._proxies: dict[str, ProxyInfo] = proxies_from_env()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                keepalive_timeout=self._keepalive_seconds,
                ssl=ssl.create_default_context(cafile=certifi.where()),  # the CA bundle httpx uses
                resolver=PublicOnlyResolver() if self._public_only else None,
            )
            # Bodies are handed to httpx as received; httpx decodes them by Content-Encoding.
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False, trust_env=False)
        return self._session

    def _proxy_for(self, url: httpx.URL) -> ProxyInfo | None:
        """The environment's proxy for ``url``, or None (no proxy set, or NO_PROXY names its host)."""
        if not self._proxies:
            return None
        proxy = self._proxies.get(url.scheme)
        if proxy is None or urllib.request.proxy_bypass(url.host):
            return None
        return proxy

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        limits = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=_seconds(limits.get("pool"), limits.get("connect")),
            sock_connect=limits.get("connect"),
            sock_read=limits.get("read"),
        )
        if self._public_only:
            self._refuse_literal(request)
        body = await request.aread()
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw]
        session = self._client()
        proxy = self._proxy_for(request.url)
        try:
            async with session.request(
                request.method,
                str(request.url),
                data=body or None,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
                proxy=proxy.proxy if proxy else None,
                proxy_auth=proxy.proxy_auth if proxy else None,
            ) as response:
                content = await response.read()
                status, raw_headers = response.status, list(response.raw_headers)
        # Messages go through redact(): an aiohttp error may quote the URL, and a billing key
        # travels in Toss's URL path.
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(redact(f"no connection in time: {exc}"), request=request) from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise httpx.ReadTimeout(redact(f"no answer in time: {exc}"), request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            why = exc.os_error if isinstance(exc.os_error, NotPublic) else exc
            raise httpx.ConnectError(redact(f"could not connect: {why}"), request=request) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise httpx.RemoteProtocolError(redact(f"connection closed: {exc}"), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(redact(f"{type(exc).__name__}: {exc}"), request=request) from exc
        return httpx.Response(status, headers=raw_headers, content=content, request=request)

    def _refuse_literal(self, request: httpx.Request) -> None:
        """An IP literal is connected to without a lookup: it is judged here."""
        host = request.url.host
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return  # a name: the resolver judges what it resolves to
        if not is_public(host):
            raise httpx.ConnectError(f"could not connect: {host} is not a public address", request=request)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _seconds(*parts: float | None) -> float | None:
    """The sum of the given limits, or None (no limit) when any is None."""
    if any(part is None for part in parts):
        return None
    return sum(part for part in parts if part is not None)


def client(*, max_connections: int = 200, public_only: bool = False) -> httpx.AsyncClient:
    """The shared outgoing client: httpx's API, aiohttp's transport; ``public_only`` for targets
    strangers may name (webhook URLs)."""
    return httpx.AsyncClient(transport=AiohttpTransport(max_connections=max_connections, public_only=public_only))
