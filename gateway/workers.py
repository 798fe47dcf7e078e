"""One gateway process per core: a small supervisor.

Each worker binds the public port with SO_REUSEPORT, so the kernel spreads new connections
over them and no process sits in the data path. Each worker keeps its own metrics registry and
serves its ops app on a private Unix socket; the supervisor serves the one ops listener:

* /metrics  every worker's series, each with a `worker` label (the worker index, so at most
            N values), plus the supervisor's own; one scrape shows them all. Sum over `worker`
            in queries. (Chosen over prometheus_client's multiprocess mode: no shared mmap
            files to clean, per-app registries keep working, and live values such as pool use
            and cache counters stay exact instead of being copied into files.)
* /readyz   200 only if not draining and every worker is ready.
* /healthz  200 while at least one worker is alive.

A worker that dies is restarted (after a second). SIGTERM/SIGINT: the supervisor turns
/readyz 503, sends SIGTERM to every worker (each drains as in gateway.main) and exits 0 once
they have all exited 0. A second signal kills the workers and exits at once.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from pathlib import Path

import aiohttp
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from gateway.main import FORCED_EXIT, OpsBinding, announce
from gateway.responses import json_response
from usetix.config import Settings

RESTART_DELAY = 1.0
START_TIMEOUT = 60.0
PROBE_TIMEOUT = 2.0


def worker_main(settings: Settings, index: int, ops_path: str) -> None:
    """Entry point of a worker process (spawned: a fresh interpreter, no inherited loop)."""
    # Ctrl-C reaches the whole process group; only the supervisor acts on it, and tells the
    # workers with SIGTERM, so one keypress is not taken as "second signal, exit at once".
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from gateway import logs
    from gateway.main import run, run_process

    logs.configure()
    disable_created_metrics()
    sys.exit(
        run(
            run_process(settings, OpsBinding(unix_path=ops_path), reuse_port=True, worker=index),
            settings,
        )
    )


class Worker:
    def __init__(self, index: int, ops_path: str) -> None:
        self.index = index
        self.ops_path = ops_path
        self.process: BaseProcess | None = None
        self.restarts = 0

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()


class Supervisor:
    def __init__(self, settings: Settings, count: int, run_dir: Path) -> None:
        self.settings = settings
        self.context = multiprocessing.get_context("spawn")
        self.workers = [Worker(i, str(run_dir / f"worker-{i}.sock")) for i in range(count)]
        self.draining = False

    def start(self, worker: Worker) -> None:
        if os.path.exists(worker.ops_path):
            os.unlink(worker.ops_path)
        worker.process = self.context.Process(
            target=worker_main,
            args=(self.settings, worker.index, worker.ops_path),
            name=f"usetix-gateway-{worker.index}",
        )
        worker.process.start()

    async def get(self, worker: Worker, path: str) -> tuple[int, str]:
        connector = aiohttp.UnixConnector(path=worker.ops_path)
        timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            async with http.get(f"http://worker{path}") as response:
                return response.status, await response.text()

    async def wait_started(self, worker: Worker) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not worker.alive:
                raise RuntimeError(f"gateway worker {worker.index} exited while starting")
            try:
                status, _ = await self.get(worker, "/healthz")
                if status == 200:
                    return
            except (aiohttp.ClientError, OSError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"gateway worker {worker.index} did not start")

    async def keep_alive(self) -> None:
        """Restart workers that die while the supervisor is not draining."""
        while not self.draining:
            await asyncio.sleep(0.5)
            for worker in self.workers:
                if not self.draining and worker.process is not None and not worker.alive:
                    await asyncio.sleep(RESTART_DELAY)
                    if not self.draining:
                        worker.restarts += 1
                        self.start(worker)

    def signal_all(self, sig: int) -> None:
        for worker in self.workers:
            if worker.alive and worker.process is not None and worker.process.pid:
                try:
                    os.kill(worker.process.pid, sig)
                except ProcessLookupError:
                    pass

    async def wait_exited(self) -> int:
        grace = self.settings.gateway.shutdown_grace + 10.0
        deadline = time.monotonic() + grace
        while (alive := [w.process for w in self.workers if w.alive]) and (
            left := deadline - time.monotonic()
        ) > 0:
            sentinels = [p.sentinel for p in alive if p is not None]
            await asyncio.to_thread(multiprocessing.connection.wait, sentinels, min(left, 0.5))
        if any(w.alive for w in self.workers):
            self.signal_all(signal.SIGKILL)
            return 1
        codes = [w.process.exitcode for w in self.workers if w.process is not None]
        return 0 if all(code == 0 for code in codes) else 1


class AggregateCollector(Collector):
    """Families scraped from every worker, merged with a `worker` label added."""

    def __init__(self, scraped: list[tuple[int, str]], supervisor: Supervisor) -> None:
        self._scraped = scraped
        self._supervisor = supervisor

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        for index, text in self._scraped:
            for family in text_string_to_metric_families(text):
                target = merged.get(family.name)
                if target is None:
                    target = merged[family.name] = Metric(
                        family.name, family.documentation, family.type, family.unit
                    )
                for sample in family.samples:
                    target.samples.append(
                        Sample(
                            sample.name,
                            {**sample.labels, "worker": str(index)},
                            sample.value,
                            sample.timestamp,
                            sample.exemplar,
                        )
                    )
        yield from merged.values()
        workers = self._supervisor.workers
        up = GaugeMetricFamily(
            "gateway_worker_up", "1 when the worker answered this scrape.", labels=["worker"]
        )
        answered = {index for index, _ in self._scraped}
        for worker in workers:
            up.add_metric([str(worker.index)], 1.0 if worker.index in answered else 0.0)
        yield up
        restarts = CounterMetricFamily(
            "gateway_worker_restarts", "Workers restarted after dying.", labels=["worker"]
        )
        for worker in workers:
            restarts.add_metric([str(worker.index)], worker.restarts)
        yield restarts
        yield GaugeMetricFamily(
            "gateway_workers", "Worker processes configured.", value=len(workers)
        )

    def describe(self) -> Iterator[Metric]:
        return iter(())


def create_supervisor_ops_app(supervisor: Supervisor) -> web.Application:
    app = web.Application()

    async def scrape(worker: Worker) -> tuple[int, str] | None:
        try:
            status, text = await supervisor.get(worker, "/metrics")
        except (aiohttp.ClientError, OSError, TimeoutError):
            return None
        return (worker.index, text) if status == 200 else None

    async def metrics(request: web.Request) -> web.Response:
        results = await asyncio.gather(*(scrape(w) for w in supervisor.workers))
        registry = CollectorRegistry(auto_describe=False)
        registry.register(AggregateCollector([r for r in results if r], supervisor))
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def probe(worker: Worker) -> bool:
        try:
            status, _ = await supervisor.get(worker, "/readyz")
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False
        return status == 200

    async def readyz(request: web.Request) -> web.Response:
        if supervisor.draining:
            return json_response(503, {"ready": False, "checks": {"draining": True}})
        states = await asyncio.gather(*(probe(w) for w in supervisor.workers))
        checks = {f"worker_{w.index}": ok for w, ok in zip(supervisor.workers, states, strict=True)}
        ready = all(states)
        return json_response(200 if ready else 503, {"ready": ready, "checks": checks})

    async def healthz(request: web.Request) -> web.Response:
        alive = sum(w.alive for w in supervisor.workers)
        body = {"status": "ok" if alive else "down", "alive": alive}
        return json_response(200 if alive else 503, body)

    app.router.add_get("/metrics", metrics)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/healthz", healthz)
    return app


def supervise(settings: Settings, count: int) -> int:
    run_dir = Path(tempfile.mkdtemp(prefix="usetix-gateway-"))
    reserved = None
    if settings.gateway.port == 0:
        # Port 0 would give every worker a different port: pick one for all of them. The
        # reserving socket joins the SO_REUSEPORT group without listening, so it never
        # receives a connection; it only keeps the port ours until the workers have bound it.
        reserved = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        reserved.bind((settings.gateway.host, 0))
        settings = settings.replace(gateway={"port": reserved.getsockname()[1]})
    try:
        return asyncio.run(_supervise(settings, count, run_dir, reserved))
    finally:
        if reserved is not None:
            reserved.close()
        shutil.rmtree(run_dir, ignore_errors=True)


async def _supervise(
    settings: Settings, count: int, run_dir: Path, reserved: socket.socket | None
) -> int:
    supervisor = Supervisor(settings, count, run_dir)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal() -> None:
        if stop.is_set():
            supervisor.signal_all(signal.SIGKILL)
            os._exit(FORCED_EXIT)
        supervisor.draining = True
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)

    gw = settings.gateway
    ops_runner = web.AppRunner(
        create_supervisor_ops_app(supervisor), access_log=None, handle_signals=False
    )
    await ops_runner.setup()
    ops_site = web.TCPSite(ops_runner, gw.ops_host, gw.ops_port)
    await ops_site.start()
    for worker in supervisor.workers:
        supervisor.start(worker)
    try:
        await asyncio.gather(*(supervisor.wait_started(w) for w in supervisor.workers))
    except RuntimeError as exc:
        print(json.dumps({"event": "log", "level": "error", "message": str(exc)}), flush=True)
        supervisor.draining = True
        supervisor.signal_all(signal.SIGTERM)
        await supervisor.wait_exited()
        await ops_runner.cleanup()
        return 1
    announce(
        worker="supervisor",
        pid=os.getpid(),
        workers=count,
        public=f"http://{gw.host}:{gw.port}",
        ops=f"http://{gw.ops_host}:{ops_runner.addresses[0][1]}",
    )
    if reserved is not None:
        reserved.close()
    keeper = asyncio.create_task(supervisor.keep_alive())
    await stop.wait()
    supervisor.signal_all(signal.SIGTERM)
    status = await supervisor.wait_exited()
    keeper.cancel()
    await ops_runner.cleanup()
    return status
