"""Only a logged-in browser session reaches /settings: never a bearer token, never an
anonymous request. The user and the page's CSRF token are attached to the request."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler
from yarl import URL

from admin_ui.csrf import token_for
from admin_ui.keys import CSRF_KEY, CSRF_TOKEN, USER
from admin_ui.responses import refuse, see_other, wants_json
from usetix.service import POOL
from usetix.sessions import browser_user, session_cookie

PROTECTED_PREFIX = "/settings"
OPEN_PREFIXES = ("/settings/static/",)


def is_protected(path: str) -> bool:
    return (path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")) and not (
        path.startswith(OPEN_PREFIXES)
    )


def login_redirect(request: web.Request) -> web.Response:
    return see_other(URL("/login").with_query(next=request.rel_url.path))


@web.middleware
async def guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_protected(request.path):
        return await handler(request)
    # The Authorization header is deliberately never read here.
    user = await browser_user(request, request.app[POOL])
    if user is None:
        if wants_json(request):
            return refuse(request, 401, "Log in first.")
        if request.method in ("GET", "HEAD"):
            return login_redirect(request)
        return refuse(request, 403, "Log in first.")
    request[USER] = user
    request[CSRF_TOKEN] = token_for(request.app[CSRF_KEY], "session", session_cookie(request) or "")
    return await handler(request)
