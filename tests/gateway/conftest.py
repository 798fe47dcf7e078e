"""Gateway fixtures: a real recording upstream, the real gateway in front of it, and a raw
socket client for requests whose exact bytes matter."""

from __future__ import annotations

import asyncio
import gzip
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import RawTestServer
from gateway_wire import BIG_JSON, REPORT, raw_exchange
from yarl import URL

from gateway.app import create_app
from gateway.server import GatewayRunner, serve_public
from usetix import db
from usetix.config import Route, Settings

__all__ = ["BIG_JSON", "REPORT", "raw_exchange"]  # kept importable from here



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
    # /admin/gated emits one event per item put here: a test releases events one by one.
    gate: asyncio.Queue[None] = field(default_factory=asyncio.Queue)

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    @property
    def last(self) -> Received:
        return self.received[-1]

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        body = await request.content.read()  # no client_max_size: big uploads are a case
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


async def _big_gzip_deflate(rec: Recorder, request: web.BaseRequest) -> web.StreamResponse:
    # Content-Encoding: gzip, deflate = gzip applied first, then deflate (aiohttp's client
    # would not undo the chain: the classic half-decoded body).
    return web.Response(
        body=zlib.compress(gzip.compress(BIG_JSON)),
        headers={"Content-Encoding": "gzip, deflate", "Content-Type": "application/json"},
    )


async def _negotiated(rec: Recorder, request: web.BaseRequest) -> web.StreamResponse:
    # Like a real server: compressed only for a client that asked for it.
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        return await _big_gzip(rec, request)
    return web.Response(body=BIG_JSON, content_type="application/json")


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
    except (ConnectionError, asyncio.CancelledError):
        # aiohttp cancels the handler when the gateway drops the connection mid-stream.
        rec.closed_streams += 1
        raise
    await response.write_eof()
    return response


async def _gated(rec: Recorder, request: web.BaseRequest) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for i in range(int(request.query.get("n", "3"))):
        await rec.gate.get()
        await response.write(f"data: {i}\n\n".encode())
    await response.write_eof()
    return response


async def _silent(rec: Recorder, request: web.BaseRequest) -> web.StreamResponse:
    # Never answers; notices (and counts) when the gateway gives up and closes the connection.
    try:
        while request.transport is not None and not request.transport.is_closing():  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # polls the transport: there is nothing to await
    except asyncio.CancelledError:
        rec.closed_streams += 1
        raise
    rec.closed_streams += 1
    raise ConnectionResetError("the gateway closed the connection")


_SPECIALS: dict[str, Callable[[Recorder, web.BaseRequest], Awaitable[web.StreamResponse]]] = {
    "/admin/big.json": _big_gzip,
    "/admin/big-gzip-deflate.json": _big_gzip_deflate,
    "/admin/negotiated.json": _negotiated,
    "/admin/chunked": _chunked,
    "/admin/jump": _jump,
    "/login/callback": _cookies,
    "/admin/cookies": _cookies,
    "/admin/report.json": _report,
    "/admin/stream": _stream,
    "/admin/silent": _silent,
    "/admin/gated": _gated,
}


@pytest.fixture(scope="module")
def module_db_url(server_url: str) -> Iterator[str]:
    """One migrated schema per test module (DESIGN: isolated per test module). Migrating
    takes longer than most gateway tests, and each test makes its own accounts and tokens
    (the `tokens` fixture), so tests in a module never see each other's credentials."""
    schema = f"g_{uuid.uuid4().hex[:16]}"
    url = str(URL(server_url).update_query(search_path=schema))

    async def create() -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(f'CREATE SCHEMA "{schema}"')
        finally:
            await conn.close()
        conn = await asyncpg.connect(url)
        try:
            await db.migrate(conn)
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()

    # A thread of its own: this runs outside (and must not disturb) the tests' event loops.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, create()).result()
        try:
            yield url
        finally:
            thread.submit(asyncio.run, drop()).result()


@pytest.fixture
def db_url(module_db_url: str) -> str:
    return module_db_url


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    rec = Recorder()
    rec.server = RawTestServer(rec.handle, host="127.0.0.1")
    await rec.server.start_server()
    yield rec
    await rec.server.close()


@dataclass
class RunningGateway:
    runner: GatewayRunner
    settings: Settings

    @property
    def port(self) -> int:
        return self.runner.port

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
    runners: list[GatewayRunner] = []

    async def start(
        upstream_url: str, *, database: dict[str, object] | None = None, **gateway: object
    ) -> RunningGateway:
        """`database` changes the database settings (e.g. a URL nothing listens on)."""
        configured = gateway_settings(settings, upstream_url, **gateway)
        if database:
            configured = configured.replace(database=database)
        # Served as `usetix gateway` serves it, so the tests see the production server's
        # parser-error answers, header deadline and head limits, not aiohttp's defaults.
        runner = await serve_public(create_app(configured), configured.gateway)
        runners.append(runner)
        return RunningGateway(runner, configured)

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def gateway(start_gateway, recorder) -> RunningGateway:
    return await start_gateway(recorder.url)
