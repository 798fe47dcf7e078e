"""Nothing added on the way (SPEC §4): an upstream answer without Content-Type reaches the
client without one, on the one-write path and on the streamed path; a request without a
body reaches the upstream without a framing header the client never sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from gateway_wire import parse_responses, raw_exchange, request_bytes

CLOSE = ("Connection", "close")


@pytest.fixture
async def raw_upstream() -> AsyncIterator[Callable[[bytes], object]]:
    """An upstream that answers every request with exactly the given bytes, then closes.
    Not aiohttp: aiohttp's own server would add a Content-Type itself."""
    servers: list[asyncio.Server] = []

    async def start(answer: bytes) -> str:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


UNTYPED_ANSWERS = {
    # Whole with its head: the one-write path.
    "content-length": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    # Chunked and close-delimited: the streamed path.
    "chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n"
    ),
    "until-close": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello",
}


@pytest.mark.parametrize("case", UNTYPED_ANSWERS)
async def test_an_answer_without_content_type_gets_none(start_gateway, raw_upstream, case):
    gateway = await start_gateway(await raw_upstream(UNTYPED_ANSWERS[case]))
    raw = await raw_exchange(gateway.port, request_bytes("GET", "/file", [CLOSE]))
    head = raw.split(b"\r\n\r\n", 1)[0].lower()
    assert b"content-type" not in head, raw
    [response] = parse_responses(raw, ["GET"])
    assert (response.status, response.body) == (200, b"hello")


@pytest.mark.parametrize("path", ["/file", "/file?stream"])
async def test_an_answer_with_content_type_keeps_it(start_gateway, raw_upstream, path):
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\n"
        + (b"Connection: close\r\n\r\n" if "stream" in path else b"Content-Length: 5\r\n\r\n")
        + b"a,b\r\n"
    )
    gateway = await start_gateway(await raw_upstream(answer))
    [response] = parse_responses(
        await raw_exchange(gateway.port, request_bytes("GET", path, [CLOSE])), ["GET"]
    )
    assert response.values("content-type") == ["text/csv"]


@pytest.mark.parametrize("method", ["GET", "PROPFIND", "POST", "DELETE"])
async def test_a_request_without_a_body_gets_no_framing_header_upstream(
    gateway, recorder, method
):
    raw = await raw_exchange(gateway.port, request_bytes(method, "/dav/", [CLOSE]))
    assert parse_responses(raw, [method])[0].status == 200
    assert recorder.last.method == method
    assert recorder.last.values("content-length") == []
    assert recorder.last.values("transfer-encoding") == []


async def test_a_client_content_length_0_is_kept(gateway, recorder):
    data = request_bytes("PROPFIND", "/dav/", [("Content-Length", "0"), CLOSE])
    await raw_exchange(gateway.port, data)
    assert recorder.last.values("content-length") == ["0"]
