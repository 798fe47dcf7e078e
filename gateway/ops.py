"""The ops listener: /metrics, /healthz, /readyz. Never served on the public listener.

/healthz: the process answers (its event loop runs).
/readyz: 200 only while the gateway can vouch for tokens: not draining, the database answers a
cheap query (bounded by gateway.ready_check_timeout, the result kept for a second so a tight
probe loop does not become load), and the verifier's revocation listener is up and trusted
when the verifier has one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import asyncpg
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.metrics import GatewayMetrics, StateCollector
from gateway.observe import OBSERVER, Observer
from gateway.responses import json_response
from usetix.config import Settings
from usetix.service import POOL

READY_CACHE_SECONDS = 1.0


class Health:
    """Readiness and the live numbers the state collector reports."""

    def __init__(
        self, app: web.Application, settings: Settings, verifier: Callable[[], Any]
    ) -> None:
        self._app = app
        self._verifier = verifier
        self._timeout = settings.gateway.ready_check_timeout
        self._pool_max = settings.database.pool_max_size
        self.draining = False
        # Set by the server once it runs: how many client connections are open.
        self.connections: Callable[[], int] | None = None
        self._checked_at = -READY_CACHE_SECONDS
        self._db_ok = False
        self._lock = asyncio.Lock()

    @property
    def verifier(self) -> Any:
        return self._verifier()

    def listener_up(self) -> bool | None:
        """The verifier's `ready` (listener connected and trusted), None if it has none."""
        ready = getattr(self.verifier, "ready", None)
        return None if ready is None else bool(ready)

    async def database_ok(self) -> bool:
        async with self._lock:
            now = time.monotonic()
            if now - self._checked_at >= READY_CACHE_SECONDS:
                self._db_ok = await self._ping()
                self._checked_at = time.monotonic()
            return self._db_ok

    async def _ping(self) -> bool:
        pool = self._app.get(POOL)
        if pool is None:
            return False
        try:
            async with asyncio.timeout(self._timeout):
                async with pool.acquire() as conn:
                    await conn.fetchval("SELECT 1")
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
        return True

    async def readiness(self) -> dict[str, bool]:
        checks = {"draining": self.draining}
        if not self.draining:
            checks["database"] = await self.database_ok()
            listener = self.listener_up()
            if listener is not None:
                checks["listener"] = listener
        return checks

    def state(self) -> dict[str, Any]:
        """What the state collector exports; read at scrape time."""
        pool = self._app.get(POOL)
        state: dict[str, Any] = {
            "draining": self.draining,
            "ready": not self.draining and self._db_ok and self.listener_up() is not False,
            "connections": self.connections() if self.connections else None,
            "pool_max": self._pool_max,
            "listener_up": self.listener_up(),
        }
        if pool is not None:
            size = pool.get_size()
            state["pool_size"] = size
            state["pool_in_use"] = size - pool.get_idle_size()
        state.update(_verifier_stats(self.verifier))
        return state


HEALTH = web.AppKey("health", Health)

def _verifier_stats(verifier: Any) -> dict[str, Any]:
    """The verifier's counters (a dataclass of ints, or a mapping) and its cache size;
    whatever it does not have is simply not exported."""
    found: dict[str, Any] = {}
    stats = getattr(verifier, "stats", None)
    if stats is not None:
        fields = stats if isinstance(stats, dict) else getattr(stats, "__dict__", {})
        found["counters"] = {
            name: value
            for name, value in fields.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }
    cache = getattr(verifier, "cache", None)
    if cache is not None:
        try:
            found["cache_entries"] = len(cache)
        except TypeError:
            pass
    return found


def instrument(
    app: web.Application, settings: Settings, verifier: Callable[[], Any]
) -> Observer:
    """Put metrics, the observer and health on the gateway app. `verifier` returns the
    gateway's credential verifier (it exists once the app has started)."""
    metrics = GatewayMetrics(settings.upstreams)
    observer = Observer(metrics)
    health = Health(app, settings, verifier)
    metrics.registry.register(StateCollector(health.state))
    app[OBSERVER] = observer
    app[HEALTH] = health
    return observer


def create_ops_app(gateway_app: web.Application) -> web.Application:
    """The ops listener's app for one gateway app (one process)."""
    observer, health = gateway_app[OBSERVER], gateway_app[HEALTH]
    ops = web.Application()

    async def metrics(request: web.Request) -> web.Response:
        await health.database_ok()  # keeps gateway_ready current for scrapes without probes
        return web.Response(
            body=generate_latest(observer.metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    async def healthz(request: web.Request) -> web.Response:
        return json_response(200, {"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        checks = await health.readiness()
        ready = not checks["draining"] and all(v for k, v in checks.items() if k != "draining")
        return json_response(200 if ready else 503, {"ready": ready, "checks": checks})

    ops.router.add_get("/metrics", metrics)
    ops.router.add_get("/healthz", healthz)
    ops.router.add_get("/readyz", readyz)
    return ops


