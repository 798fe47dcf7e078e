"""The HTML side: a public landing page, health, and the events pages for a logged-in browser.

Account data is shown only to a browser session (usetix.sessions); identity headers play no
part here, so no header a client invents can reach these pages' data."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web
from yarl import URL

from upstream_app import queries
from upstream_app.context import connection, settings_of
from usetix import sessions
from usetix.service import POOL
from usetix.sessions import BrowserUser

# Pages with account data must not be kept by the browser or any shared cache.
_PRIVATE = {"Cache-Control": "no-store", "Vary": "Cookie"}


async def landing(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("landing.html", request, {"user": None})


async def healthz(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok"})


async def events_page(request: web.Request) -> web.StreamResponse:
    user = await _logged_in(request)
    async with connection(request) as conn:
        events = await queries.list_events(conn, account_id=user.account_id)
    return _render("events.html", request, {"user": user, "events": events})


async def event_page(request: web.Request) -> web.StreamResponse:
    user = await _logged_in(request)
    event_id = request.match_info["event_id"]
    async with connection(request) as conn:
        event = await queries.get_event(conn, account_id=user.account_id, event_id=event_id)
        tickets = (
            await queries.list_tickets(conn, account_id=user.account_id, event_id=event_id)
            if event is not None
            else None
        )
    if event is None or tickets is None:
        return _render("not_found.html", request, {"user": user}, status=404)
    return _render("event.html", request, {"user": user, "event": event, "tickets": tickets})


async def _logged_in(request: web.Request) -> BrowserUser:
    """The session's user, or a redirect to the login page that comes back here."""
    user = await sessions.browser_user(request, request.app[POOL])
    if user is None:
        # The path only: a query string could carry anything, and login just needs the page.
        login = URL(settings_of(request).upstream_app.login_url)
        target = login.update_query(next=request.rel_url.raw_path)
        raise web.HTTPFound(str(target), headers=_PRIVATE)
    return user


def _render(
    template: str, request: web.Request, context: dict, *, status: int = 200
) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers.update(_PRIVATE)
    return response
