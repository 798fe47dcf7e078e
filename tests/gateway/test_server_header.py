"""The Server header. The gateway's own answers say `Server: usetix` and never a Python or
aiohttp version; an upstream's answer keeps the upstream's own Server as it came, and one
without gets `usetix` rather than aiohttp's version string."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import pytest
from gateway_wire import parse_responses, raw_exchange, request_bytes

from gateway.headers import client_response_headers

JSON = ("Accept", "application/json")
CLOSE = ("Connection", "close")


def server_values(raw: bytes, method: str = "GET") -> tuple[int, list[str]]:
    [response] = parse_responses(raw, [method])
    return response.status, response.values("server")


OWN_ANSWERS = {
    "401 missing token": (request_bytes("GET", "/admin/events", [JSON, CLOSE]), 401),
    "400 dot-segment": (request_bytes("GET", "/admin/../x", [JSON, CLOSE]), 400),
    "400 CONNECT": (b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n", 400),
    "400 from the parser": (b"GET / HTTP/1.1\r\nHost: gw.test\r\nNo colon here\r\n\r\n", 400),
    "431 from the parser": (
        request_bytes("GET", "/", [("X-Big", "a" * 9000), CLOSE]), 431),
    "501 upgrade": (
        request_bytes("GET", "/", [("Upgrade", "websocket"), ("Connection", "Upgrade")]), 501),
}


@pytest.mark.parametrize("case", OWN_ANSWERS)
async def test_the_gateways_own_answers_say_usetix(gateway, recorder, case):
    data, status = OWN_ANSWERS[case]
    assert server_values(await raw_exchange(gateway.port, data)) == (status, ["usetix"])
    assert recorder.received == []


async def test_a_slow_head_408_says_usetix(start_gateway, recorder):
    gateway = await start_gateway(recorder.url, header_read_timeout=0.3)
    raw = await raw_exchange(gateway.port, b"GET / HTTP/1.1\r\nHost: gw.test\r\n")
    assert server_values(raw) == (408, ["usetix"])


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_502_says_usetix(start_gateway):
    gateway = await start_gateway(f"http://127.0.0.1:{closed_port()}")
    raw = await raw_exchange(gateway.port, request_bytes("GET", "/", [CLOSE]))
    assert server_values(raw) == (502, ["usetix"])


@pytest.fixture
async def fixed_upstream() -> AsyncIterator[Callable[[bytes], object]]:
    """An upstream that answers every request with the given head (and body `ok`)."""
    servers: list[asyncio.Server] = []

    async def start(head: bytes) -> str:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(head + b"Content-Length: 2\r\n\r\nok")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("upstream_head", "seen"),
    [
        (b"HTTP/1.1 200 OK\r\nServer: events-app/2.1 (internal)\r\n",
         ["events-app/2.1 (internal)"]),
        (b"HTTP/1.1 200 OK\r\n", ["usetix"]),
    ],
    ids=["upstream-server-kept", "none-sent"],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_upstream_answers_keep_their_own_server(
    start_gateway, fixed_upstream, upstream_head, seen, method
):
    gateway = await start_gateway(await fixed_upstream(upstream_head))
    raw = await raw_exchange(gateway.port, request_bytes(method, "/", [CLOSE]))
    assert server_values(raw, method) == (200, seen)


def test_client_response_headers_add_server_only_when_the_upstream_sent_none() -> None:
    kept = client_response_headers([("server", "nginx"), ("X-A", "1")], frozenset())
    assert kept.getall("Server") == ["nginx"]
    assert client_response_headers([("X-A", "1")], frozenset()).getall("Server") == ["usetix"]
