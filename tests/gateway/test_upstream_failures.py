"""When the upstream or the credential store fails (SPEC 4; FT-09, FT-10, FT-12, SEC-08,
BH-018, BH-039): the client gets the gateway's own JSON answer, never the broken bytes,
never an open door."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable

import pytest
from gateway_wire import exchange, parse_responses, plain_session, request_bytes

from usetix.credentials import Kind, mint

JSON = ("Accept", "application/json")
CLOSE = ("Connection", "close")
MARKER = b"SMUGGLED-MARKER"


def bearer(token: str) -> tuple[str, str]:
    return ("Authorization", f"Bearer {token}")


class RawUpstream:
    """A TCP server that answers every connection with fixed bytes (or nothing) and counts
    the connections it accepted: an upstream no HTTP library would let us write."""

    def __init__(self, answer: Callable[[bytes], bytes] | None) -> None:
        self.answer = answer
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if self.answer is not None:
                writer.write(self.answer(head))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"


@pytest.fixture
async def raw_upstream() -> AsyncIterator[Callable[..., object]]:
    servers: list[asyncio.Server] = []

    async def start(answer: Callable[[bytes], bytes] | None) -> RawUpstream:
        upstream = RawUpstream(answer)
        upstream.server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
        servers.append(upstream.server)
        return upstream

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def ask(gateway, tokens, method: str = "GET", path: str = "/admin/events"):
    data = request_bytes(method, path, [JSON, bearer(tokens.rw), CLOSE])
    got = await exchange(gateway.port, data)
    [response] = parse_responses(got.data, [method])
    return response, got.data


async def test_ft09_upstream_refuses_connections_502(start_gateway, tokens):
    gateway = await start_gateway(f"http://127.0.0.1:{closed_port()}")
    response, _ = await ask(gateway, tokens)
    assert response.status == 502
    assert response.one("content-type") == "application/json"
    assert json.loads(response.body) == {"error": "bad_gateway"}
    assert tokens.rw.encode() not in response.body


@pytest.mark.parametrize(("method", "attempts"), [("POST", 1), ("PATCH", 1), ("GET", 2),
                                                ("DELETE", 2)])
async def test_ft09_upstream_drops_the_connection_502_with_bounded_attempts(
    start_gateway, raw_upstream, tokens, method, attempts
):
    """Decision: aiohttp's client retries an idempotent request once when the connection
    dropped before any response (RFC 9112 9.3.1; it is what rescues a stale pooled keep-alive
    connection). Never more than that, and never for POST/PATCH: no retry storm."""
    upstream = await raw_upstream(None)  # accepts, reads the request, closes without a word
    gateway = await start_gateway(upstream.url)
    response, _ = await ask(gateway, tokens, method)
    assert response.status == 502
    assert json.loads(response.body) == {"error": "bad_gateway"}
    assert upstream.connections == attempts


async def test_ft10_silent_upstream_504_after_the_read_timeout(start_gateway, recorder, tokens):
    gateway = await start_gateway(recorder.url, upstream_read_timeout=0.5)
    response, _ = await ask(gateway, tokens, path="/admin/silent")
    assert response.status == 504
    assert response.one("content-type") == "application/json"
    assert json.loads(response.body) == {"error": "gateway_timeout"}
    # The gateway gave up on the upstream connection too (a bound against hanging only).
    for _ in range(200):
        if recorder.closed_streams:
            break
        await asyncio.sleep(0.05)
    assert recorder.closed_streams == 1


MALFORMED_RESPONSES = {
    "bad status line": b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\nX-M: " + MARKER + b"\r\n\r\nok",
    "not HTTP at all": MARKER + b" hello\r\n\r\n",
    "CL and TE": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"
                 b"X-M: " + MARKER + b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "two different CLs": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n"
                         b"X-M: " + MARKER + b"\r\n\r\nhello!",
    "CR inside a header": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-M: a\rSet-Cookie: "
                          + MARKER + b"\r\n\r\nok",
    "NUL in a header": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-M: " + MARKER
                       + b"\x00\r\n\r\nok",
    "bad chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-M: " + MARKER
                 + b"\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("answer", list(MALFORMED_RESPONSES.values()),
                         ids=list(MALFORMED_RESPONSES))
async def test_ft12_sec08_malformed_upstream_response_502_and_nothing_of_it_leaks(
    start_gateway, raw_upstream, tokens, answer
):
    upstream = await raw_upstream(lambda head: answer)
    gateway = await start_gateway(upstream.url)
    data = request_bytes("GET", "/admin/events", [JSON, bearer(tokens.rw), CLOSE])
    got = await exchange(gateway.port, data)
    assert MARKER not in got.data
    # 502 when the head is unreadable; when the head was fine and only the body broke, the
    # client connection is cut so the truncated answer can never look complete.
    if got.statuses:
        [response] = parse_responses(got.data, ["GET"])
        assert response.status == 502
        assert json.loads(response.body) == {"error": "bad_gateway"}
    else:
        assert got.closed


async def test_sec08_bare_lf_in_an_upstream_head_is_a_line_end_and_re_framed(
    start_gateway, raw_upstream, tokens
):
    """Decision: aiohttp's response parser reads a bare LF in the upstream's head as a line
    end (as nginx does). The gateway then forwards the header it parsed, re-framed with CRLF:
    the client and the gateway agree on every header, so nothing is smuggled past either."""
    upstream = await raw_upstream(lambda head: (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-M: a\nX-Second: b\r\n\r\nok"
    ))
    gateway = await start_gateway(upstream.url)
    response, raw = await ask(gateway, tokens)
    assert (response.status, response.body) == (200, b"ok")
    assert (response.values("x-m"), response.values("x-second")) == (["a"], ["b"])
    assert b"\n" not in raw.replace(b"\r\n", b"")


async def test_sec08_upstream_hop_by_hop_response_headers_are_dropped(start_gateway,
                                                                      raw_upstream, tokens):
    upstream = await raw_upstream(lambda head: (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Internal\r\n"
        b"Keep-Alive: timeout=5\r\nX-Internal: secret\r\nProxy-Authenticate: Basic\r\n"
        b"X-Kept: yes\r\n\r\nok"
    ))
    gateway = await start_gateway(upstream.url)
    response, raw = await ask(gateway, tokens)
    assert response.status == 200
    assert response.body == b"ok"
    assert response.values("x-kept") == ["yes"]
    for name in ("keep-alive", "x-internal", "proxy-authenticate"):
        assert response.values(name) == []
    assert b"secret" not in raw


async def test_bh018_redirects_go_back_to_the_client_unfollowed(gateway, recorder, tokens):
    response, _ = await ask(gateway, tokens, path="/admin/jump")
    assert response.status == 302
    assert response.one("location") == "http://other-origin.test/collect"
    assert [r.target for r in recorder.received] == ["/admin/jump"]


# The credential store (BH-039, FT-01 in miniature): the gateway fails closed, but not with
# 401, and decides malformed tokens without it.


@pytest.fixture
async def storeless_gateway(start_gateway, recorder):
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/nothing"
    return await start_gateway(recorder.url, database={"url": url, "acquire_timeout": 1.0,
                                                       "pool_min_size": 0})


async def test_bh039_store_down_is_503_with_retry_after(storeless_gateway, recorder):
    token = mint(Kind.API)  # well-formed: only the store could say whether it exists
    async with plain_session() as http:
        async with http.get(storeless_gateway.url + "/admin/events", headers={
            "Accept": "application/json", "Authorization": f"Bearer {token}",
        }) as resp:
            assert resp.status == 503
            assert resp.headers["Retry-After"].isdigit()
            assert "WWW-Authenticate" not in resp.headers
            assert resp.headers["Content-Type"] == "application/json"
            assert (await resp.json())["error"] == "unavailable"
    assert recorder.received == []


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not,a;token", "Basic dXNlcjpw", "Bearer {bad_checksum}", "Bearer " + "a" * 300],
)
async def test_malformed_tokens_are_decided_without_the_store(storeless_gateway, recorder,
                                                              authorization):
    """SPEC 2.5: a prefixed token whose checksum fails (and any other malformed header) is
    refused without touching the database: with the store down it is still a plain 401."""
    token = mint(Kind.API)
    headers = {"Accept": "application/json"}
    if authorization:
        bad_checksum = token[:-1] + ("A" if token[-1] != "A" else "B")
        headers["Authorization"] = authorization.format(bad_checksum=bad_checksum)
    async with plain_session() as http:
        async with http.get(storeless_gateway.url + "/admin/events", headers=headers) as resp:
            assert resp.status == 401
    assert recorder.received == []


@pytest.mark.parametrize(("path", "accept"), [("/admin/events", "text/html"),
                                              ("/", "application/json"),
                                              ("/settings/tokens", "application/json")])
async def test_bh039_requests_that_need_no_token_work_with_the_store_down(
    storeless_gateway, recorder, path, accept
):
    async with plain_session() as http:
        async with http.get(storeless_gateway.url + path, headers={
            "Accept": accept, "Authorization": f"Bearer {mint(Kind.API)}",
        }) as resp:
            assert resp.status == 200
    assert recorder.last.target == path
