"""The one place admin_ui builds refusals and applies its security headers."""

from __future__ import annotations

from aiohttp import web
from markupsafe import escape
from yarl import URL

# Every page: no caching (they show account data, and the token page shows a secret), no
# framing, no Referer leaving the site, scripts and styles only from this origin. Pages that
# show a secret send no Referer at all (SECRET_PAGE_HEADERS); the others keep a same-origin
# one, because under no-referrer browsers send `Origin: null` on their own forms.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
SECRET_PAGE_HEADERS = {"Referrer-Policy": "no-referrer"}


def see_other(location: str | URL) -> web.Response:
    """A 303 to a path on this site (never carrying a secret: callers pass ids at most)."""
    return web.Response(status=303, headers={"Location": str(location)})


def wants_json(request: web.Request) -> bool:
    """A rough test (the gateway owns exact negotiation): JSON asked for, HTML not."""
    accept = request.headers.get("Accept", "").lower()
    return "json" in accept and "text/html" not in accept


def refuse(request: web.Request, status: int, message: str) -> web.Response:
    if wants_json(request):
        reasons = {401: "unauthorized", 403: "forbidden", 404: "not_found", 429: "rate_limited"}
        return web.json_response({"error": reasons.get(status, "refused")}, status=status)
    return web.Response(
        status=status,
        content_type="text/html",
        text=(
            "<!doctype html><html lang=en><meta charset=utf-8><title>Usetix</title>"
            "<link rel=stylesheet href=/settings/static/app.css>"
            f"<main class=narrow><h1>{status}</h1><p>{escape(message)}</p>"
            "<p><a href=/settings/api-tokens>Back to settings</a></p></main></html>"
        ),
    )


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: runs for every response, errors and redirects included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.path.startswith("/settings/static/"):
        response.headers["Cache-Control"] = "no-store"
