"""Exact bytes on the wire: build raw requests, parse raw responses with a strict HTTP/1.1
parser (h11), and a client that adds nothing the test did not ask for."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import aiohttp
import h11

HeaderList = Iterable[tuple[str, str | bytes]]

# What the recorder serves (conftest.py), so tests can compare bytes.
BIG_JSON = json.dumps({"items": [{"id": i, "name": f"item {i}"} for i in range(400)]}).encode()
REPORT = b'{"report": "quarterly", "rows": [1, 2, 3]}'


def request_bytes(
    method: str,
    target: str | bytes,
    headers: HeaderList = (),
    body: bytes = b"",
    *,
    host: str | None = "gw.test",
    version: str = "HTTP/1.1",
) -> bytes:
    """One request exactly as written: no header is added, merged, reordered or re-cased
    except Host (first) when `host` is given and Content-Length when a body is given and
    the caller set no framing header."""
    lines: list[bytes] = []
    raw_target = target if isinstance(target, bytes) else target.encode("latin-1")
    lines.append(method.encode("latin-1") + b" " + raw_target + b" " + version.encode())
    named = [(k, v if isinstance(v, bytes) else v.encode("latin-1")) for k, v in headers]
    if host is not None:
        lines.append(b"Host: " + host.encode())
    lines.extend(k.encode("latin-1") + b": " + v for k, v in named)
    framed = {k.lower() for k, _ in named} & {"content-length", "transfer-encoding"}
    if body and not framed:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


@dataclass
class Parsed:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    informational: list[int] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name.lower()]

    def one(self, name: str) -> str:
        found = self.values(name)
        assert len(found) == 1, (name, self.headers)
        return found[0]


def parse_responses(data: bytes, methods: list[str]) -> list[Parsed]:
    """The responses to `methods` (in order) as a strict client reads them; raises
    h11.RemoteProtocolError on bad framing (two framings, bad chunks, garbage)."""
    conn = h11.Connection(our_role=h11.CLIENT)
    conn.receive_data(data)
    conn.receive_data(b"")  # what was read is all there is: closed after
    parsed: list[Parsed] = []
    for method in methods:
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        conn.send(h11.Request(method=method, target="/", headers=[("Host", "gw.test")]))
        conn.send(h11.EndOfMessage())
        current: Parsed | None = None
        informational: list[int] = []
        while True:
            event = conn.next_event()
            if isinstance(event, h11.InformationalResponse):
                informational.append(event.status_code)
            elif isinstance(event, h11.Response):
                current = Parsed(
                    status=event.status_code,
                    headers=[(k.decode(), v.decode("latin-1")) for k, v in event.headers],
                    body=b"",
                    informational=informational,
                )
            elif isinstance(event, h11.Data):
                assert current is not None
                current.body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                assert current is not None
                parsed.append(current)
                break
            elif event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                raise AssertionError(f"incomplete response to {method}: {data[-300:]!r}")
            elif event is h11.PAUSED:
                raise AssertionError("paused")
    return parsed


def status_lines(data: bytes) -> list[bytes]:
    """Every status line in the stream (informational ones included)."""
    return [line for line in data.split(b"\r\n") if line.startswith(b"HTTP/1.")]


def plain_session() -> aiohttp.ClientSession:
    """A client that sends only the headers a test gives it (no default Accept, Accept-Encoding
    or User-Agent), keeps bytes as they came and never follows redirects."""
    return aiohttp.ClientSession(
        skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent"),
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
    )


async def raw_exchange(port: int, data: bytes, *, quiet: float = 2.0) -> bytes:
    """Send bytes as they are and read until the server closes or goes quiet."""
    return (await exchange(port, data, quiet=quiet)).data


@dataclass
class Exchange:
    data: bytes
    closed: bool  # the server closed the connection (rather than going quiet)

    @property
    def statuses(self) -> list[int]:
        return [int(line.split(b" ")[1]) for line in status_lines(self.data)]


async def exchange(port: int, data: bytes, *, quiet: float = 2.0, segment: int = 0) -> Exchange:
    """Like raw_exchange, and tells whether the server closed the connection. With `segment`
    the bytes go out that many at a time (one write each)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    chunks: list[bytes] = []
    closed = False
    try:
        if segment:
            for start in range(0, len(data), segment):
                writer.write(data[start:start + segment])
                await writer.drain()
        else:
            writer.write(data)
            await writer.drain()
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), quiet)
            if not chunk:
                closed = True
                break
            chunks.append(chunk)
    except TimeoutError:
        pass
    except ConnectionResetError:
        closed = True
    finally:
        writer.close()
    return Exchange(b"".join(chunks), closed)
