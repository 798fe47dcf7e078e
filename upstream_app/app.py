"""The events and scanner application behind the gateway: create_app wires routes, templates,
the error middleware and the database pool; handlers live in api.py and pages.py."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp_jinja2
import asyncpg
import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from upstream_app import api, pages
from upstream_app.errors import error_middleware
from upstream_app.trust import Area
from usetix.config import Settings
from usetix.service import SETTINGS, server_header, use_pool

_admin = api.endpoint(Area.ADMIN)
_scanner = api.endpoint(Area.SCANNER)

# path -> method -> handler. GET also answers HEAD; every path answers OPTIONS.
ROUTES: tuple[tuple[str, Mapping[str, Handler]], ...] = (
    ("/", {"GET": pages.landing}),
    ("/healthz", {"GET": pages.healthz}),
    ("/admin/account", {"GET": _admin(api.account)}),
    (
        "/admin/events",
        {
            "GET": api.endpoint(Area.ADMIN, page=pages.events_page)(api.list_events),
            "POST": _admin(api.create_event),
        },
    ),
    (
        "/admin/events/{event_id}",
        {
            "GET": api.endpoint(Area.ADMIN, page=pages.event_page)(api.get_event),
            "PATCH": _admin(api.update_event),
            "DELETE": _admin(api.delete_event),
        },
    ),
    (
        "/admin/events/{event_id}/tickets",
        {"GET": _admin(api.list_tickets), "POST": _admin(api.create_ticket)},
    ),
    ("/scanner/events/{event_id}/tickets", {"GET": _scanner(api.list_tickets)}),
    ("/scanner/checkins", {"POST": _scanner(api.check_in)}),
)


def create_app(settings: Settings, *, pool: asyncpg.Pool | None = None) -> web.Application:
    app = web.Application(middlewares=[error_middleware])
    app[SETTINGS] = settings
    use_pool(app, settings, pool)
    app.on_response_prepare.append(server_header)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("upstream_app", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    for path, handlers in ROUTES:
        _add_resource(app, path, handlers)
    return app


def _add_resource(app: web.Application, path: str, handlers: Mapping[str, Handler]) -> None:
    resource = app.router.add_resource(path)
    methods = set(handlers)
    for method, handler in handlers.items():
        resource.add_route(method, handler)
        if method == "GET":
            resource.add_route("HEAD", handler)
            methods.add("HEAD")
    resource.add_route("OPTIONS", _preflight(", ".join(sorted(methods | {"OPTIONS"}))))


def _preflight(allow: str) -> Handler:
    async def options(request: web.Request) -> web.StreamResponse:
        # Deliberately no Access-Control-Allow-*: tokens must never live in browser code, so
        # cross-origin calls are refused by the browser itself. No identity needed to ask.
        return web.Response(status=204, headers={"Allow": allow})

    return options
