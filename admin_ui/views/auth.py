"""Login and logout. One generic error for any bad email/password pair; failures limited per
submitted email and per client address; a fresh session id at every login."""

from __future__ import annotations

import re
import secrets

from aiohttp import web
from aiohttp_session import get_session, new_session

from admin_ui.csrf import login_nonce_cookie, token_for
from admin_ui.keys import CSRF_KEY, CSRF_TOKEN, LIMITERS, USER
from admin_ui.responses import see_other
from admin_ui.views.common import client_address, render
from usetix import accounts
from usetix.passwords import verify_password
from usetix.service import POOL, SETTINGS
from usetix.sessions import browser_user, delete_session, session_cookie

routes = web.RouteTableDef()

LOGIN_FAILED = "Email or password is incorrect."
TOO_MANY = "Too many attempts. Wait a few minutes, then try again."
DEFAULT_NEXT = "/settings/api-tokens"
NONCE_MAX_AGE = 3600
_NONCE_SHAPE = re.compile(r"[A-Za-z0-9_\-]{32,64}")
# Bounds before hashing: argon2 of a megabyte is a cheap way to burn our CPU.
MAX_EMAIL = 320
MAX_PASSWORD = 1024


def safe_next(value: str | None) -> str:
    """A local path to go to after login; anything that could leave the site is dropped."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 0x21 for c in value)
    ):
        return DEFAULT_NEXT
    return value


def _secure(request: web.Request) -> bool:
    return request.app[SETTINGS].admin_ui.secure_cookies


def _login_page(
    request: web.Request, *, email: str = "", error: str | None = None, status: int = 200
) -> web.Response:
    """The form, bound to a nonce cookie (set here when missing) for its CSRF token."""
    secure = _secure(request)
    name = login_nonce_cookie(secure)
    nonce = request.cookies.get(name, "")
    fresh = not _NONCE_SHAPE.fullmatch(nonce)
    if fresh:
        nonce = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {
            "csrf_token": token_for(request.app[CSRF_KEY], "login", nonce),
            "email": email,
            "error": error,
            "next": safe_next(request.query.get("next")),
        },
        status=status,
    )
    if fresh:
        response.set_cookie(
            name,
            nonce,
            max_age=NONCE_MAX_AGE,
            path="/",
            secure=secure,
            httponly=True,
            samesite="Lax",
        )
    return response


@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    if await browser_user(request, request.app[POOL]) is not None:
        return see_other(safe_next(request.query.get("next")))
    return _login_page(request)


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    email = str(form.get("email", "")).strip()[:MAX_EMAIL]
    password = str(form.get("password", ""))[:MAX_PASSWORD]
    limiters = request.app[LIMITERS]
    address, account_key = client_address(request), email.lower()
    if limiters.login_address.blocked(address) or limiters.login_account.blocked(account_key):
        response = _login_page(request, email=email, error=TOO_MANY, status=429)
        response.headers["Retry-After"] = str(
            max(
                limiters.login_address.retry_after(address),
                limiters.login_account.retry_after(account_key),
            )
        )
        return response

    pool = request.app[POOL]
    user = await accounts.user_by_email(pool, email) if email else None
    # Always one full verification, so an unknown email costs what a wrong password does.
    if not await verify_password(user.password_hash if user else None, password) or user is None:
        limiters.login_address.hit(address)
        limiters.login_account.hit(account_key)
        return _login_page(request, email=email, error=LOGIN_FAILED, status=401)

    limiters.login_account.reset(account_key)
    # Whatever session id the browser brought dies here; the login gets a new one.
    old = await get_session(request)
    if old.identity is not None:
        await delete_session(pool, old.identity)
    session = await new_session(request)
    session["user_id"] = user.id
    # The login nonce cookie is kept: a second tab's login form stays usable.
    return see_other(safe_next(str(form.get("next", "")) or None))


@routes.get("/logout")
async def logout_form(request: web.Request) -> web.Response:
    """Asks, does not act: other apps' pages (upstream_app's header) link here, and a GET can
    be a prefetch, a crawler or an <img> on another site. The form POSTs with its CSRF token."""
    user = await browser_user(request, request.app[POOL])
    if user is None:
        return see_other("/login")  # nothing to log out of
    request[USER] = user
    request[CSRF_TOKEN] = token_for(request.app[CSRF_KEY], "session", session_cookie(request) or "")
    return render(request, "confirm_logout.html", headers={"Cache-Control": "no-store"})


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    session = await get_session(request)
    # An emptied session is deleted server-side by the storage, and its cookie cleared.
    session.invalidate()
    return see_other("/login")
