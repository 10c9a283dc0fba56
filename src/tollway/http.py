"""The gateway's outgoing HTTP: httpx's types over aiohttp's connection handling.

Every call to a PG and every webhook delivery goes through ``Client``: timeouts, answers and
errors keep httpx's shapes (``httpx.Timeout``, ``httpx.Response``, httpx's exceptions), and tests
send through ``httpx.MockTransport``. Underneath, aiohttp sends: httpx's own transport cost about
0.8 ms of CPU per request at 32 in flight (its pool scans every connection on every state
change), aiohttp's about 0.07 ms (docs/benchmarks.md, fifth round).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import urllib.request
from collections.abc import Mapping

import aiohttp
import certifi
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.helpers import ProxyInfo, proxies_from_env
from aiohttp.resolver import DefaultResolver
from yarl import URL

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


#: httpx's default: 5 s for each phase
TIMEOUT = httpx.Timeout(5.0)


class Client:
    """The gateway's outgoing HTTP client: httpx's ``Timeout``, ``Response`` and exceptions (the
    callers sort failures into "not sent", "timed out" and "lost" by httpx's exception classes),
    sent by one ``aiohttp.ClientSession`` (created on first use, inside the running event loop).

    Only what the gateway's calls need: no cookie jar (one merchant's PG answer never sets a cookie
    for another's call), no redirects, no auth, no default headers. httpx's ``AsyncClient`` cost
    about 0.25 ms of CPU per PG call for those (building and merging the request, the cookie jar);
    its own transport about 0.8 ms more at 32 in flight (docs/benchmarks.md).

    ``public_only``: connects to public addresses only (webhooks). ``transport``: an httpx
    transport to send through instead (``httpx.MockTransport`` or ``httpx.ASGITransport`` in tests).
    """

    def __init__(
        self,
        *,
        max_connections: int = 200,
        keepalive_seconds: float = 15.0,
        public_only: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._max_connections = max_connections
        self._keepalive_seconds = keepalive_seconds
        self._public_only = public_only
        self._transport = transport
        self._session: aiohttp.ClientSession | None = None
        # Proxies come from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), as with httpx, read
        # once here: aiohttp's trust_env reads them, and ~/.netrc in a thread, on every request
        # (measured: 7.7–8.2 → 7.0–7.4 ms of gateway CPU per again payment).
        self._proxies: dict[str, ProxyInfo] = proxies_from_env()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def get(
        self, url: str, *, headers: Mapping[str, str] | None = None, limits: httpx.Timeout = TIMEOUT
    ) -> httpx.Response:
        return await self.request("GET", url, headers=headers, limits=limits)

    async def post(
        self,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        limits: httpx.Timeout = TIMEOUT,
    ) -> httpx.Response:
        return await self.request("POST", url, content=content, headers=headers, limits=limits)

    async def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        limits: httpx.Timeout = TIMEOUT,
    ) -> httpx.Response:
        """Sends one request and reads the whole answer (decoded by its Content-Encoding); ``limits``
        bounds each phase (connect, read, waiting for a pooled connection)."""
        if self._transport is not None:
            request = httpx.Request(
                method, url, content=content, headers=headers, extensions={"timeout": limits.as_dict()}
            )
            response = await self._transport.handle_async_request(request)
            await response.aread()
            return response
        target = URL(url)
        if self._public_only:
            _refuse_literal(target)
        proxy = self._proxy_for(target)
        phases = aiohttp.ClientTimeout(
            total=None,
            connect=_seconds(limits.pool, limits.connect),
            sock_connect=limits.connect,
            sock_read=limits.read,
        )
        try:
            async with self._client().request(
                method,
                target,
                data=content or None,
                headers=headers,
                timeout=phases,
                allow_redirects=False,
                skip_auto_headers=_SKIPPED,
                proxy=proxy.proxy if proxy else None,
                proxy_auth=proxy.proxy_auth if proxy else None,
            ) as answer:
                body = await answer.read()
                status, raw_headers = answer.status, list(answer.raw_headers)
        # Messages go through redact(): an aiohttp error may quote the URL, and a billing key
        # travels in Toss's URL path.
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(redact(f"no connection in time: {exc}")) from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise httpx.ReadTimeout(redact(f"no answer in time: {exc}")) from exc
        except aiohttp.ClientConnectorError as exc:
            why = exc.os_error if isinstance(exc.os_error, NotPublic) else exc
            raise httpx.ConnectError(redact(f"could not connect: {why}")) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise httpx.RemoteProtocolError(redact(f"connection closed: {exc}")) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(redact(f"{type(exc).__name__}: {exc}")) from exc
        response = httpx.Response(status, headers=raw_headers, content=body)
        response.read()  # decodes the body by its Content-Encoding
        return response

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                keepalive_timeout=self._keepalive_seconds,
                ssl=ssl.create_default_context(cafile=certifi.where()),  # the CA bundle httpx uses
                resolver=PublicOnlyResolver() if self._public_only else None,
            )
            # Bodies are handed to httpx as received; httpx decodes them by Content-Encoding. No
            # cookie is ever kept: a dummy jar.
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, trust_env=False, cookie_jar=aiohttp.DummyCookieJar()
            )
        return self._session

    def _proxy_for(self, url: URL) -> ProxyInfo | None:
        """The environment's proxy for ``url``, or None (no proxy set, or NO_PROXY names its host)."""
        if not self._proxies:
            return None
        proxy = self._proxies.get(url.scheme)
        if proxy is None or urllib.request.proxy_bypass(url.host or ""):
            return None
        return proxy

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()
        if self._session is not None:
            await self._session.close()
            self._session = None


#: headers aiohttp would add by itself: the caller's are sent as given
_SKIPPED = ("User-Agent", "Accept-Encoding", "Content-Type")


def _refuse_literal(url: URL) -> None:
    """An IP literal is connected to without a lookup: it is judged here."""
    host = url.host or ""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return  # a name: the resolver judges what it resolves to
    if not is_public(host):
        raise httpx.ConnectError(f"could not connect: {host} is not a public address")


def _seconds(*parts: float | None) -> float | None:
    """The sum of the given limits, or None (no limit) when any is None."""
    if any(part is None for part in parts):
        return None
    return sum(part for part in parts if part is not None)


def client(*, max_connections: int = 200, public_only: bool = False) -> Client:
    """The shared outgoing client; ``public_only`` for targets strangers may name (webhook URLs)."""
    return Client(max_connections=max_connections, public_only=public_only)
