"""The admin UI application: login, Settings → API Tokens / Scanner devices / Audit log, and
the public pairing and leak-report endpoints. Served on loopback behind the gateway, which
routes /login, /logout, /settings/… (session class) and /scanner/pair, /tokens/revoke (public
class) here."""

from __future__ import annotations

import hashlib
from pathlib import Path

import aiohttp_jinja2
import asyncpg
import jinja2
from aiohttp import web
from aiohttp_session import session_middleware

from admin_ui import filters
from admin_ui.csrf import csrf_middleware
from admin_ui.guard import guard_middleware
from admin_ui.keys import CSRF_KEY, LIMITERS, TRUSTED_PROXIES, USED_FORM_IDS
from admin_ui.once import UsedFormIds
from admin_ui.ratelimit import Limiters, default_limiters
from admin_ui.responses import add_security_headers, see_other
from admin_ui.views import audit, auth, devices, public, tokens
from usetix.client_address import parse_networks
from usetix.config import ConfigError, Settings
from usetix.service import POOL, SETTINGS, server_header, use_pool
from usetix.sessions import PostgresStorage

HERE = Path(__file__).resolve().parent
# Forms and the JSON endpoints are small; anything bigger is refused before parsing.
MAX_BODY = 64 * 1024


def create_app(
    settings: Settings,
    *,
    pool: asyncpg.Pool | None = None,
    limiters: Limiters | None = None,
) -> web.Application:
    """The admin UI app. An injected pool is used and left open for its owner; limiters may
    be injected by tests (e.g. with a fake clock)."""
    if not settings.secrets.session_key:
        raise ConfigError(
            "secrets.session_key is required for admin_ui (set USETIX_SECRETS_SESSION_KEY)"
        )
    secure = settings.admin_ui.secure_cookies
    app = web.Application(
        client_max_size=MAX_BODY,
        middlewares=[
            session_middleware(PostgresStorage(POOL, secure=secure)),
            csrf_middleware(secure),
            guard_middleware,
        ],
    )
    app[SETTINGS] = settings
    # Derived, so the raw session key (shared with upstream_app) is used for one thing only.
    app[CSRF_KEY] = hashlib.sha256(
        b"usetix admin csrf\0" + settings.secrets.session_key.encode()
    ).digest()
    app[LIMITERS] = limiters or default_limiters()
    app[USED_FORM_IDS] = UsedFormIds()
    app[TRUSTED_PROXIES] = parse_networks(settings.admin_ui.trusted_proxies)
    use_pool(app, settings, pool)

    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        filters=filters.FILTERS,
    )
    app.on_response_prepare.extend([add_security_headers, server_header])
    for module in (auth, tokens, devices, audit, public):
        app.router.add_routes(module.routes)
    app.router.add_get("/", _home)
    app.router.add_get("/settings", _home)
    app.router.add_static("/settings/static/", HERE / "static", append_version=False)
    return app


async def _home(request: web.Request) -> web.Response:
    return see_other(tokens.LIST_PATH)
