"""gateway.upstream_client on its own: the pool's reuse and bound, framing of what is sent,
1xx skipped. (Everything seen through the gateway is pinned by the other tests here.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.upstream_client import UpstreamPool, request_head

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


class Upstream:
    """Reads request heads (and any body) and answers each with `answer`, keeping the
    connection; records connections, peak concurrency and every byte received."""

    def __init__(self, answer: bytes = OK, delay: float = 0.0) -> None:
        self.answer = answer
        self.delay = delay
        self.connections = 0
        self.open = 0
        self.peak = 0
        self.received = b""
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.received += head
                if b"chunked" in head.lower():
                    body = await reader.readuntil(b"0\r\n\r\n")
                    self.received += body
                await asyncio.sleep(self.delay)
                writer.write(self.answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()

    @property
    def key(self) -> tuple[str, int, bool]:
        assert self.server is not None
        return ("127.0.0.1", self.server.sockets[0].getsockname()[1], False)


POOLS: list[UpstreamPool] = []


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    up = Upstream()
    up.server = await asyncio.start_server(up.handle, "127.0.0.1", 0)
    yield up
    while POOLS:
        await POOLS.pop().close()
    for _ in range(100):
        if not up.open:
            break
        await asyncio.sleep(0.01)
    up.server.close()
    await up.server.wait_closed()


async def fetch(pool: UpstreamPool, key, method: str = "GET", body=None, read: bool = True):
    head, chunked = request_head(method, "/x", {"Host": "h"}, body=body is not None,
                                 declared_length=False)
    response, _ = await pool.request(key, head, method, body, chunked=chunked)
    data = b""
    if read:
        while chunk := await response.read():
            data += chunk
    response.release()
    return response.status, data


def pool(limit: int = 10) -> UpstreamPool:
    created = UpstreamPool(limit=limit, connect_timeout=2.0, read_timeout=2.0)
    POOLS.append(created)
    return created


async def test_a_fully_read_response_returns_its_connection_for_reuse(upstream):
    p = pool()
    assert await fetch(p, upstream.key) == (200, b"hello")
    assert await fetch(p, upstream.key) == (200, b"hello")
    assert upstream.connections == 1


async def test_a_response_released_before_its_end_closes_its_connection(upstream):
    upstream.answer = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"  # 5 to come
    p = pool()
    await fetch(p, upstream.key, read=False)  # e.g. the client went away mid-body
    upstream.answer = OK
    assert await fetch(p, upstream.key) == (200, b"hello")
    assert upstream.connections == 2


async def test_the_pool_bounds_open_connections_and_queues_the_rest(upstream):
    upstream.delay = 0.05
    p = pool(limit=2)
    results = await asyncio.gather(*(fetch(p, upstream.key) for _ in range(6)))
    assert results == [(200, b"hello")] * 6
    assert upstream.peak <= 2


async def test_only_framing_is_added_to_what_is_sent(upstream):
    async def body():
        yield b"abc"
        yield b"de"

    p = pool()
    await fetch(p, upstream.key, "POST", body())
    await fetch(p, upstream.key, "POST")
    await fetch(p, upstream.key, "GET")
    assert upstream.received == (
        b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        b"POST /x HTTP/1.1\r\nHost: h\r\n\r\n"
        b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
    )


async def test_interim_responses_are_skipped(upstream):
    upstream.answer = (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + OK
    )
    p = pool()
    assert await fetch(p, upstream.key) == (200, b"hello")
    assert await fetch(p, upstream.key) == (200, b"hello")
    assert upstream.connections == 1


def test_a_header_with_a_line_break_is_never_sent():
    with pytest.raises(ValueError):
        request_head("GET", "/", {"X-A": "1\r\nX-B: 2"}, body=False, declared_length=False)
