"""Ops fixtures: a small real upstream, the gateway served exactly as `usetix gateway` serves it
(GatewayRunner + ops listener, in this process), and the real CLI as a subprocess."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import RawTestServer
from ops_wire import GatewayProcess, cli_env, drain_stdout, popen_cli, routed, write_config

from gateway.main import OpsBinding, Running, start_process
from usetix.config import Settings


@dataclass
class Upstream:
    """Records what arrived complete (method, target, body digest), and serves a few shapes."""

    received: list[tuple[str, str, str]] = field(default_factory=list)
    server: RawTestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        path = request.path
        self.received.append((request.method, path, hashlib.sha256(body).hexdigest()))
        if path.endswith("/stream"):
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            for i in range(int(request.query.get("n", "5"))):
                await response.write(f"data: {i}\n\n".encode())
                await asyncio.sleep(float(request.query.get("gap", "0.2")))
            await response.write_eof()
            return response
        return web.json_response({"ok": True, "bytes": len(body)})


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    up = Upstream()
    # Quiet: its access log would show the query strings the tests put tokens in.
    up.server = RawTestServer(up.handle, host="127.0.0.1")
    await up.server.start_server(access_log=None)
    yield up
    await up.server.close()


@pytest.fixture
async def serve(settings: Settings) -> AsyncIterator[Callable[..., Awaitable[Running]]]:
    """Start the gateway as `usetix gateway --workers 1` does (its runner and ops listener)."""
    started: list[Running] = []

    async def start(upstream_url: str, **gateway: object) -> Running:
        running = await start_process(
            routed(settings, upstream_url, **gateway), OpsBinding("127.0.0.1", 0)
        )
        started.append(running)
        return running

    yield start
    for running in started:
        await running.stop()


@pytest.fixture
def spawn_gateway(
    settings: Settings, tmp_path: Path
) -> Iterator[Callable[..., Awaitable[GatewayProcess]]]:
    """Run `usetix gateway` for real; returns once it has announced its listeners."""
    spawned: list[GatewayProcess] = []
    started: list[subprocess.Popen[str]] = []  # killed at teardown whatever happened

    async def spawn(upstream_url: str, *args: str, **gateway: object) -> GatewayProcess:
        config = write_config(tmp_path, upstream_url, **gateway)
        process = popen_cli(
            ["gateway", "--port", "0", "--ops-port", "0", *args], cli_env(settings, config)
        )
        started.append(process)
        lines: list[str] = []
        assert process.stdout is not None
        while True:
            line = await asyncio.to_thread(process.stdout.readline)
            if not line:
                process.wait(10)
                process.stdout.close()
                raise AssertionError("gateway exited before listening:\n" + "".join(lines))
            lines.append(line)
            if '"event": "listening"' in line:
                announced = json.loads(line)
                if announced.get("worker") in (None, "supervisor"):
                    break
        running = GatewayProcess(process, announced["public"], announced["ops"], lines)
        spawned.append(running)
        drain_stdout(running)
        return running

    try:
        yield spawn
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()  # SIGKILL: its workers see their parent gone and drain
    for gateway in spawned:
        if gateway.process.poll() is None:
            gateway.process.kill()
        gateway.process.wait(10)
        if gateway.pump is not None:
            gateway.pump.join(5)
        assert gateway.process.stdout is not None
        gateway.process.stdout.close()
