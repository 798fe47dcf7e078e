"""Helpers of the credential-path tests: the counting upstream, a running gateway instance,
one-request calls and a bounded poll."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import h11
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import GATEWAY
from gateway.server import GatewayRunner
from gateway.verifier import CredentialVerifier
from usetix.config import PROJECT_ROOT, Settings

JSON = {"Accept": "application/json"}


@dataclass
class Upstream:
    """Answers 200 to anything and remembers what arrived (method, path, identity)."""

    received: list[tuple[str, str, str | None]] = field(default_factory=list)
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(
            (request.method, request.path, request.headers.get("X-Usetix-Credential"))
        )
        return web.json_response({"ok": True})


@dataclass
class Instance:
    """A gateway served as `usetix gateway` serves it (gateway.server.serve_public)."""

    runner: GatewayRunner
    settings: Settings
    closed: bool = False

    @property
    def app(self) -> web.Application:
        return self.runner.app

    @property
    def port(self) -> int:
        return self.runner.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def verifier(self) -> CredentialVerifier:
        verifier = self.app[GATEWAY].verifier
        assert verifier is not None
        return verifier

    async def close(self) -> None:
        """Drain and stop (flushes last-used); a second call does nothing."""
        if not self.closed:
            self.closed = True
            await self.runner.cleanup()

    async def wait_ready(self) -> None:
        await eventually(lambda: self.verifier.ready, what="gateway ready")


StartInstance = Callable[..., Awaitable[Instance]]


def instance_settings(settings: Settings, upstream_url: str, **sections: Any) -> Settings:
    """The default route table with both upstreams on one server; `sections` as in
    Settings.replace (e.g. gateway={"cache_size": 0})."""
    gateway = {"listener_heartbeat_interval": 0.5, "listener_heartbeat_timeout": 1.0}
    gateway |= sections.pop("gateway", {})
    return settings.replace(
        upstreams={"app": upstream_url, "admin": upstream_url}, gateway=gateway, **sections
    )


async def call(
    http: aiohttp.ClientSession,
    instance: Instance,
    token: str | None,
    *,
    method: str = "GET",
    path: str = "/admin/events",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """(status, headers, JSON body or None) of one request through the gateway."""
    sent = dict(JSON)
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    sent |= headers or {}
    async with http.request(method, instance.url + path, headers=sent) as resp:
        body = await resp.json() if resp.content_type == "application/json" else None
        return resp.status, dict(resp.headers), body


async def status_of(http: aiohttp.ClientSession, instance: Instance, token: str, **kw: Any) -> int:
    return (await call(http, instance, token, **kw))[0]


async def eventually(
    check: Callable[[], Any], *, what: str, within: float = 10.0, every: float = 0.01
) -> Any:
    """Poll until check() is truthy (awaiting it when it is a coroutine). The bound is only
    a hang guard, never a performance assertion."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await asyncio.sleep(every)


class KeepAliveClient:
    """One raw HTTP/1.1 connection, reused for every request (h11 checks the framing), so
    a test knows the second request really travelled on the first one's connection."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._conn = h11.Connection(h11.CLIENT)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.requests = 0

    async def get(self, token: str, path: str = "/admin/events") -> int:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self._port)
        else:
            self._conn.start_next_cycle()  # raises unless the connection may be reused
        assert self._reader is not None
        request = h11.Request(
            method="GET",
            target=path,
            headers=[
                ("Host", f"127.0.0.1:{self._port}"),
                ("Accept", "application/json"),
                ("Authorization", f"Bearer {token}"),
            ],
        )
        self._writer.write(self._conn.send(request) + self._conn.send(h11.EndOfMessage()))
        status = 0
        while True:
            event = self._conn.next_event()
            if event is h11.NEED_DATA:
                self._conn.receive_data(await self._reader.read(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.EndOfMessage):
                self.requests += 1
                return status

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


async def plaintext_in_schema(conn: asyncpg.Connection, raw_tokens: set[str]) -> list[str]:
    """Every table of the connection's schema, every row as text (what pg_dump would
    write), searched for any of the raw tokens; returns 'table: token' findings."""
    lengths = {len(token) for token in raw_tokens}
    # Only stretches of b64token characters can hold a token.
    runs = re.compile(r"[A-Za-z0-9\-._~+/=]{" + str(min(lengths)) + ",}")
    found = []
    tables = await conn.fetch(
        "SELECT c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace"
        " AND c.relkind IN ('r', 'p', 'm')"
    )
    for table in tables:
        name = table["relname"]
        async with conn.transaction():
            async for row in conn.cursor(f'SELECT t::text AS line FROM "{name}" AS t'):
                for run in runs.findall(row["line"]):
                    for size in lengths:
                        for start in range(len(run) - size + 1):
                            if run[start : start + size] in raw_tokens:
                                found.append(f"{name}: {run[start : start + size]}")
    return found


async def run_cli(settings: Settings, db_url: str, *args: str) -> str:
    """Run the real `usetix` command on the test's schema; its stdout."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        USETIX_SECRETS_IDENTITY_KEY=settings.secrets.identity_key,
        USETIX_SECRETS_SESSION_KEY=settings.secrets.session_key,
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "usetix.cli", *args,
        cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()
