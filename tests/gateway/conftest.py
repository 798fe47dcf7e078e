"""Gateway fixtures: a real recording upstream, the real gateway in front of it, and a raw
socket client for requests whose exact bytes matter."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import RawTestServer, TestServer

from gateway.app import create_app
from usetix.config import Route, Settings

BIG_JSON = json.dumps({"items": [{"id": i, "name": f"item {i}"} for i in range(400)]}).encode()
REPORT = b'{"report": "quarterly", "rows": [1, 2, 3]}'


@dataclass
class Received:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


@dataclass
class Recorder:
    """A real aiohttp server that records exactly what reached it."""

    received: list[Received] = field(default_factory=list)
    closed_streams: int = 0
    server: RawTestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    @property
    def last(self) -> Received:
        return self.received[-1]

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        self.received.append(
            Received(
                method=request.method,
                target=request.raw_path,
                headers=[
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers
                ],
                body=body,
            )
        )
        path = request.raw_path.split("?")[0]
        special = _SPECIALS.get(path)
        if special is not None:
            return await special(self, request)
        return web.json_response({"ok": True, "path": request.raw_path})


async def _big_gzip(rec: Recorder, request: web.BaseRequest) -> web.StreamResponse:
    body = gzip.compress(BIG_JSON)
    return web.Response(
        body=body,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )


async def _chunked(rec: Recorder, request: web.BaseRequest) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for part in (b'{"parts": [', b"1, 2", b", 3]}"):
        await response.write(part)
    await response.write_eof()
    return response


async def _jump(rec: Recorder, request: web.BaseRequest) -> web.StreamResponse:
    return web.Response(status=302, headers={"Location": "http://other-origin.test/collect"})


async def _cookies(rec: Recorder, request: web.BaseRequest) -> web.StreamResponse:
    response = web.Response(text="ok")
    for value in ("a=1; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT", "b=2; Path=/"):
        response.headers.add("Set-Cookie", value)
    for value in ('</a>; rel="next"', '</b>; rel="prev"'):
        response.headers.add("Link", value)
    for value in ("Accept", "Accept-Encoding"):
        response.headers.add("Vary", value)
    return response


async def _report(rec: Recorder, request: web.BaseRequest) -> web.StreamResponse:
    return web.Response(
        body=REPORT, content_type="application/json", headers={"ETag": '"r1"'}
    )


async def _stream(rec: Recorder, request: web.BaseRequest) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    try:
        for i in range(int(request.query.get("n", "5"))):
            await response.write(f"data: {i}\n\n".encode())
            await asyncio.sleep(float(request.query.get("gap", "0.2")))
    except ConnectionError:
        rec.closed_streams += 1
        raise
    await response.write_eof()
    return response


async def _silent(rec: Recorder, request: web.BaseRequest) -> web.StreamResponse:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


_SPECIALS: dict[str, Callable[[Recorder, web.BaseRequest], Awaitable[web.StreamResponse]]] = {
    "/admin/big.json": _big_gzip,
    "/admin/chunked": _chunked,
    "/admin/jump": _jump,
    "/login/callback": _cookies,
    "/admin/cookies": _cookies,
    "/admin/report.json": _report,
    "/admin/stream": _stream,
    "/admin/silent": _silent,
}


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    rec = Recorder()
    rec.server = RawTestServer(rec.handle, host="127.0.0.1")
    await rec.server.start_server()
    yield rec
    await rec.server.close()


@dataclass
class RunningGateway:
    server: TestServer
    settings: Settings

    @property
    def port(self) -> int:
        assert self.server.port is not None
        return self.server.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def gateway_settings(settings: Settings, upstream_url: str, **gateway: object) -> Settings:
    """Every route class pointed at one upstream (the recorder or upstream_app)."""
    return settings.replace(
        upstreams={"app": upstream_url, "admin": upstream_url},
        gateway={
            "routes": (
                Route("/admin", "app", "account"),
                Route("/scanner", "app", "scanner"),
                Route("/scanner/pair", "admin", "public"),
                Route("/settings", "admin", "session"),
                Route("/", "app", "public"),
            ),
            "upstream_read_timeout": 2.0,
            **gateway,
        },
    )


@pytest.fixture
async def start_gateway(
    settings: Settings,
) -> AsyncIterator[Callable[..., Awaitable[RunningGateway]]]:
    servers: list[TestServer] = []

    async def start(upstream_url: str, **gateway: object) -> RunningGateway:
        configured = gateway_settings(settings, upstream_url, **gateway)
        server = TestServer(create_app(configured), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return RunningGateway(server, configured)

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def gateway(start_gateway, recorder) -> RunningGateway:
    return await start_gateway(recorder.url)


async def raw_exchange(port: int, data: bytes, *, quiet: float = 2.0) -> bytes:
    """Send bytes as they are and read until the server closes or goes quiet."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    chunks = []
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), quiet)
            if not chunk:
                break
            chunks.append(chunk)
    except TimeoutError:
        pass
    finally:
        writer.close()
    return b"".join(chunks)
