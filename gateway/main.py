"""`usetix gateway`: serve the gateway, as one process or as one worker process per core.

One worker (`--workers 1`): this process serves the public listener and the ops listener.
Several: gateway.workers supervises them; each worker binds the public port with SO_REUSEPORT
(the kernel spreads connections) and serves its ops app on a private Unix socket that the
supervisor's ops listener aggregates.

Shutdown (FT-13/14): the first SIGTERM (or SIGINT) marks the worker draining (/readyz 503 at
once), closes the listening socket, closes idle keep-alive connections, lets in-flight requests
(streams included) finish for gateway.shutdown_grace seconds, cancels what is left, closes the
pool and exits 0. A second signal exits at once with status 143.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import disable_created_metrics

from gateway import logs
from gateway.app import create_app
from gateway.ops import HEALTH, create_ops_app
from gateway.preflight import StartupRefused, check_runtime, raise_fd_limit
from gateway.server import GatewayRunner, serve_public
from usetix.config import Settings

FORCED_EXIT = 143  # 128 + SIGTERM: what a shell reports for a process killed by SIGTERM


@dataclass(frozen=True)
class OpsBinding:
    """Where a process serves its ops app: TCP (alone) or a Unix socket (as a worker)."""

    host: str = "127.0.0.1"
    port: int = 0
    unix_path: str | None = None


def worker_count(settings: Settings) -> int:
    return settings.gateway.workers or os.cpu_count() or 1


def serve(settings: Settings, dsn: str) -> None:
    settings = settings.replace(database={"url": dsn})
    logs.configure()
    disable_created_metrics()  # *_created series double the scrape for no alerting value
    try:
        check_runtime()
    except StartupRefused as exc:
        sys.exit(f"usetix: the gateway refuses to start: {exc}")
    raise_fd_limit()
    workers = worker_count(settings)
    if workers == 1:
        gw = settings.gateway
        sys.exit(run(run_process(settings, OpsBinding(gw.ops_host, gw.ops_port)), settings))
    from gateway.workers import supervise

    sys.exit(supervise(settings, workers))


def run(main: Coroutine[Any, Any, int], settings: Settings) -> int:
    """Run a serving coroutine on the configured event loop (gateway.event_loop): uvloop
    unless it is "asyncio" or uvloop cannot be imported on this platform."""
    factory = None
    if settings.gateway.event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            print("usetix: uvloop is not importable here: the gateway runs on asyncio's loop",
                  file=sys.stderr, flush=True)
        else:
            factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def announce(**fields: object) -> None:
    """A JSON line on stdout (where operators and tests read the bound addresses)."""
    print(json.dumps({"event": "listening", **fields}), flush=True)


@dataclass
class Running:
    """A gateway serving in this process: its app, its runners and where they listen."""

    app: web.Application
    runner: GatewayRunner
    ops_runner: web.AppRunner
    public_url: str
    ops_url: str

    async def stop(self) -> None:
        """Drain: readiness 503, close the listening socket, close idle keep-alives, let
        in-flight requests finish for shutdown_grace, cancel the rest, close the pool and
        the client session; the ops listener last (so probes see the drain)."""
        self.app[HEALTH].draining = True
        await self.runner.cleanup()
        await self.ops_runner.cleanup()


async def start_process(
    settings: Settings, ops: OpsBinding, *, reuse_port: bool = False
) -> Running:
    """Start the public listener and the ops listener in the running loop."""
    gw = settings.gateway
    app = create_app(settings)
    runner = await serve_public(app, gw, reuse_port=reuse_port)
    server = runner.server
    assert server is not None
    app[HEALTH].connections = lambda: len(server.connections)

    ops_runner = web.AppRunner(create_ops_app(app), access_log=None, handle_signals=False)
    await ops_runner.setup()
    ops_site: web.BaseSite
    if ops.unix_path is not None:
        ops_site = web.UnixSite(ops_runner, ops.unix_path)
    else:
        ops_site = web.TCPSite(ops_runner, ops.host, ops.port)
    await ops_site.start()
    ops_url = ops.unix_path or f"http://{ops.host}:{_port(ops_runner)}"
    return Running(app, runner, ops_runner, f"http://{gw.host}:{runner.port}", ops_url)


async def run_process(
    settings: Settings,
    ops: OpsBinding,
    *,
    reuse_port: bool = False,
    worker: int | None = None,
) -> int:
    """Serve until SIGTERM (or SIGINT when not a supervised worker), drain, return 0."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    draining: list[Running] = []

    def on_signal() -> None:
        if stop.is_set():
            logs.flush()
            os._exit(FORCED_EXIT)  # second signal: the operator wants out now
        for running in draining:
            running.app[HEALTH].draining = True  # /readyz answers 503 from this moment
        stop.set()

    signals = (signal.SIGTERM,) if worker is not None else (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, on_signal)

    running = await start_process(settings, ops, reuse_port=reuse_port)
    draining.append(running)
    announce(worker=worker, pid=os.getpid(), public=running.public_url, ops=running.ops_url)
    watch = asyncio.create_task(_watch_parent(stop)) if worker is not None else None
    flusher = asyncio.create_task(logs.flush_periodically())
    await stop.wait()
    await running.stop()
    if watch is not None:
        watch.cancel()
    flusher.cancel()
    logs.flush()
    return 0


def _port(runner: web.AppRunner) -> int:
    return int(runner.addresses[0][1])


async def _watch_parent(stop: asyncio.Event) -> None:
    """A worker whose supervisor died drains and exits instead of serving unsupervised."""
    parent = os.getppid()
    while not stop.is_set():
        await asyncio.sleep(1.0)
        if os.getppid() != parent:
            stop.set()
