"""The outgoing client: httpx's types over aiohttp, against a real server on loopback."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from tollway import http as outgoing

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:] if line)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return lines[0].encode(), headers, body


async def _answer(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> None:
    """Writes a status line and headers (each ending CRLF), Content-Length and ``body``, then hangs up."""
    writer.write(head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    await writer.drain()
    writer.close()


@pytest.fixture
async def server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> str:
        srv = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(srv)
        return f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}"

    yield start
    for srv in servers:
        srv.close()


async def test_a_request_and_its_answer_keep_their_parts(server: Callable[..., Awaitable[str]]) -> None:
    seen: list[tuple[bytes, dict[str, str], bytes]] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await _read_request(reader))
        head = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Trace: t1\r\n"
        await _answer(writer, head, b'{"status":"DONE"}')

    base = await server(echo)
    async with outgoing.client() as http:
        response = await http.post(
            f"{base}/v1/billing/k?x=1",
            content=b'{"amount":1000}',
            headers={"Authorization": "Basic abc", "Idempotency-Key": "tollway-1", "Content-Type": "application/json"},
        )
    assert response.status_code == 201
    assert response.json() == {"status": "DONE"}
    assert response.headers["x-trace"] == "t1"
    line, headers, body = seen[0]
    assert line == b"POST /v1/billing/k?x=1 HTTP/1.1"
    assert headers["authorization"] == "Basic abc"
    assert headers["idempotency-key"] == "tollway-1"
    assert headers["content-type"] == "application/json"
    assert body == b'{"amount":1000}'


async def test_a_gzip_answer_is_decoded_once(server: Callable[..., Awaitable[str]]) -> None:
    async def gz(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Type: application/json\r\n"
        await _answer(writer, head, gzip.compress(b'{"ok":true}'))

    base = await server(gz)
    async with outgoing.client() as http:
        response = await http.get(f"{base}/")
    assert response.json() == {"ok": True}


async def test_connections_are_kept_and_reused(server: Callable[..., Awaitable[str]]) -> None:
    connections = 0

    async def keep(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            try:
                await _read_request(reader)
            except asyncio.IncompleteReadError:
                break
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()
        writer.close()

    base = await server(keep)
    async with outgoing.client() as http:
        for _ in range(5):
            assert (await http.get(f"{base}/")).status_code == 200
    assert connections == 1


async def test_no_answer_in_time_is_httpx_read_timeout(server: Callable[..., Awaitable[str]]) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(5)
        writer.close()

    base = await server(silent)
    async with outgoing.client() as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post(f"{base}/", content=b"{}", limits=httpx.Timeout(0.3, connect=1.0))


async def test_a_refused_connection_is_httpx_connect_error() -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with outgoing.client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")


async def test_a_connection_closed_before_the_answer_is_an_httpx_transport_error(
    server: Callable[..., Awaitable[str]],
) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.close()

    base = await server(hang_up)
    async with outgoing.client() as http:
        with pytest.raises(httpx.TransportError) as caught:
            await http.post(f"{base}/", content=b"{}")
    assert not isinstance(caught.value, httpx.TimeoutException)


async def test_an_error_never_quotes_a_billing_key_from_the_url(server: Callable[..., Awaitable[str]]) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        writer.close()

    base = await server(garbage)
    async with outgoing.client() as http:
        with pytest.raises(httpx.TransportError) as caught:
            await http.post(f"{base}/v1/billing/bk_secret_Zx81", content=b"{}")
    assert "bk_secret_Zx81" not in str(caught.value)


async def test_a_proxy_from_the_environment_carries_the_request(
    server: Callable[..., Awaitable[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line, _, _ = await _read_request(reader)
        seen.append(line)
        await _answer(writer, b"HTTP/1.1 200 OK\r\n", b"via proxy")

    monkeypatch.setenv("HTTP_PROXY", await server(proxy))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with outgoing.client() as http:
        response = await http.get("http://pg.example.invalid/v1/payments/k")
    assert response.text == "via proxy"
    assert seen == [b"GET http://pg.example.invalid/v1/payments/k HTTP/1.1"]


async def test_no_proxy_sends_its_hosts_directly(
    server: Callable[..., Awaitable[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    reached: list[str] = []

    def answering(name: str) -> Handler:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await _read_request(reader)
            reached.append(name)
            await _answer(writer, b"HTTP/1.1 200 OK\r\n", name.encode())

        return handler

    monkeypatch.setenv("HTTP_PROXY", await server(answering("proxy")))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    direct = await server(answering("direct"))
    async with outgoing.client() as http:
        response = await http.get(f"{direct}/")
    assert response.text == "direct"
    assert reached == ["direct"]


async def test_no_cookie_is_kept_between_calls(server: Callable[..., Awaitable[str]]) -> None:
    """One merchant's PG answer (or webhook target) never sets a cookie for the next call."""
    seen: list[dict[str, str]] = []

    async def set_cookie(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, headers, _ = await _read_request(reader)
        seen.append(headers)
        await _answer(writer, b"HTTP/1.1 200 OK\r\nSet-Cookie: session=merchant-a; Path=/\r\n", b"{}")

    base = (await server(set_cookie)).replace("127.0.0.1", "localhost")  # a jar takes no cookie from an IP
    async with outgoing.client() as http:
        first = await http.get(f"{base}/")
        await http.get(f"{base}/")
    assert first.headers["set-cookie"].startswith("session=merchant-a")  # the answer did set one
    assert [h.get("cookie") for h in seen] == [None, None]
