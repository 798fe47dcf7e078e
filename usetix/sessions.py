"""Admin browser sessions, shared by admin_ui (which creates them) and upstream_app (whose
HTML pages need a logged-in browser). Filled in by the admin UI work."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from aiohttp import web


@dataclass(frozen=True, slots=True)
class BrowserUser:
    user_id: int
    account_id: int
    email: str


async def browser_user(request: web.Request, pool: asyncpg.Pool) -> BrowserUser | None:
    """The admin user whose session cookie this request carries, or None."""
    return None
