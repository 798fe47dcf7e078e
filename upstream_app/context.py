"""What handlers take from the app: its settings and a database connection per unit of work."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from usetix.config import Settings
from usetix.service import POOL, SETTINGS


def settings_of(request: web.Request) -> Settings:
    return request.app[SETTINGS]


def connection(request: web.Request) -> Any:
    """`async with connection(request) as conn:` a pooled connection, waiting at most
    database.acquire_timeout for one (then TimeoutError, answered 503)."""
    return request.app[POOL].acquire(timeout=settings_of(request).database.acquire_timeout)
