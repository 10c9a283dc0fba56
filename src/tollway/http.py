"""The gateway's outgoing HTTP: httpx's client API over aiohttp's connection handling.

Every call to a PG and every webhook delivery goes through ``httpx.AsyncClient``, so timeouts,
errors and tests (``httpx.MockTransport``) keep httpx's shapes. Underneath, httpx's own transport
cost about 0.8 ms of CPU per request at 32 in flight (its pool scans every connection on every
state change); aiohttp's costs about 0.07 ms (docs/benchmarks.md, fifth round). This transport
hands each request to aiohttp and maps aiohttp's failures back onto httpx's exceptions, which
the callers already sort into "not sent", "timed out" and "lost".
"""

from __future__ import annotations

import ssl
import urllib.request

import aiohttp
import certifi
import httpx
from aiohttp.helpers import ProxyInfo, proxies_from_env

from tollway.logsafety import redact


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An ``httpx`` transport sending through one ``aiohttp.ClientSession`` (created on first use,
    inside the running event loop)."""

    def __init__(self, *, max_connections: int = 200, keepalive_seconds: float = 15.0) -> None:
        self._max_connections = max_connections
        self._keepalive_seconds = keepalive_seconds
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
            raise httpx.ConnectError(redact(f"could not connect: {exc}"), request=request) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise httpx.RemoteProtocolError(redact(f"connection closed: {exc}"), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(redact(f"{type(exc).__name__}: {exc}"), request=request) from exc
        return httpx.Response(status, headers=raw_headers, content=content, request=request)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _seconds(*parts: float | None) -> float | None:
    """The sum of the given limits, or None (no limit) when any is None."""
    if any(part is None for part in parts):
        return None
    return sum(part for part in parts if part is not None)


def client(*, max_connections: int = 200) -> httpx.AsyncClient:
    """The shared outgoing client: httpx's API, aiohttp's transport."""
    return httpx.AsyncClient(transport=AiohttpTransport(max_connections=max_connections))
