"""Cross-site request refusal for every unsafe method (SEC-16).

Three independent checks, any one refuses with 403 before a handler runs:
  * `Sec-Fetch-Site: cross-site` (a browser telling us another site started the request);
  * an `Origin` that is not this host (or is `null`);
  * a CSRF token (form field `csrf_token` or header `X-CSRF-Token`) that is not the HMAC of
    the session id under the app's key, or, for the login form, of a nonce cookie. Nothing is
    stored per token, and a new session id at login means a new token.
The public JSON endpoints are exempt: they use no ambient credential a forged request could
borrow.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from aiohttp import web
from aiohttp.typedefs import Handler
from yarl import URL

from admin_ui.keys import CSRF_KEY
from admin_ui.responses import refuse
from usetix.sessions import session_cookie

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
PUBLIC_PATHS = frozenset({"/scanner/pair", "/tokens/revoke"})
LOGIN_PATH = "/login"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
LOGIN_NONCE_SECURE = "__Host-usetix_login"
LOGIN_NONCE_PLAIN = "usetix_login"


def token_for(key: bytes, purpose: str, binding: str) -> str:
    return hmac.new(key, f"{purpose}\0{binding}".encode(), hashlib.sha256).hexdigest()


def token_matches(key: bytes, purpose: str, binding: str | None, presented: str | None) -> bool:
    if not binding or not presented:
        return False
    expected = token_for(key, purpose, binding)
    return hmac.compare_digest(expected.encode(), presented.encode("utf-8", "replace"))


def cross_site_reason(headers: Mapping[str, str], host: str | None) -> str | None:
    """Why these request headers show a cross-site request, or None."""
    fetch_site = headers.get("Sec-Fetch-Site", "").strip().lower()
    if fetch_site == "cross-site":
        return "sec-fetch-site"
    origin = headers.get("Origin")
    if origin is None:
        return None
    # Under `Referrer-Policy: no-referrer` (the token page) browsers send `Origin: null` even
    # for a same-origin form; Sec-Fetch-Site, which no page can forge, vouches for it then.
    if origin.strip().lower() == "null" and fetch_site == "same-origin":
        return None
    if not same_origin_host(origin, host):
        return "origin"
    return None


def same_origin_host(origin: str, host: str | None) -> bool:
    """True when the Origin header names the host the request was sent to."""
    if not host or origin.strip().lower() == "null":
        return False
    try:
        url = URL(origin.strip())
        target = URL(f"{url.scheme}://{host.strip()}")
    except ValueError:
        return False
    if url.scheme not in ("http", "https") or url.path not in ("", "/") or not url.host:
        return False
    return url.host.lower() == (target.host or "").lower() and url.port == target.port


def login_nonce_cookie(secure: bool) -> str:
    return LOGIN_NONCE_SECURE if secure else LOGIN_NONCE_PLAIN


def binding_for(request: web.Request, secure: bool) -> tuple[str, str | None]:
    """(purpose, binding value) for the CSRF token of this request's form."""
    if request.path == LOGIN_PATH:
        return "login", request.cookies.get(login_nonce_cookie(secure))
    return "session", session_cookie(request)


def csrf_middleware(secure: bool) -> web.middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in SAFE_METHODS or request.path in PUBLIC_PATHS:
            return await handler(request)
        if cross_site_reason(request.headers, request.host) is not None:
            return refuse(request, 403, "Cross-site requests are refused.")
        presented = request.headers.get(HEADER)
        if presented is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            form = await request.post()
            value = form.get(FIELD)
            presented = value if isinstance(value, str) else None
        purpose, binding = binding_for(request, secure)
        if not token_matches(request.app[CSRF_KEY], purpose, binding, presented):
            return refuse(
                request,
                403,
                "This form has expired or was not sent from this site. Reload and try again.",
            )
        return await handler(request)

    return middleware
