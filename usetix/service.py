"""What every service shares: its database pool as a cleanup context, and how it is served."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import asyncpg
from aiohttp import web

from usetix import db
from usetix.config import Settings

POOL = web.AppKey("pool", asyncpg.Pool)
SETTINGS = web.AppKey("settings", Settings)
# The Server header of every answer of ours: aiohttp's default names the Python and aiohttp
# versions, which tells a scanner which advisories to try.
SERVER = "usetix"


async def server_header(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: `Server: usetix` instead of aiohttp's version string."""
    response.headers["Server"] = SERVER


def use_pool(
    app: web.Application, settings: Settings, pool: asyncpg.Pool | None
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Put a pool on the app: the injected one (left open for its owner) or one of its own,
    opened at startup and closed at cleanup."""

    async def pool_context(app: web.Application) -> AsyncIterator[None]:
        if pool is not None:
            app[POOL] = pool
            yield
            return
        app[POOL] = await db.create_pool(settings.database.url, settings.database)
        try:
            yield
        finally:
            await app[POOL].close()

    app.cleanup_ctx.append(pool_context)
    return pool_context


def serve(app: web.Application, host: str, port: int, name: str) -> None:
    """Run one service until SIGINT/SIGTERM; aiohttp's access log stays off (no query
    strings in logs)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger(name).info("%s listening on http://%s:%s", name, host, port)
    web.run_app(app, host=host, port=port, access_log=None, print=None)
