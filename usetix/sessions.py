"""Admin browser sessions, shared by admin_ui (which creates them) and upstream_app (whose
HTML pages need a logged-in browser): one login for the whole dashboard.

Sessions are server-side (aiohttp-session with a small Postgres storage). The cookie carries a
random id (secrets.token_urlsafe(32)); the database keeps only its SHA-256, the user and an
absolute expiry. Logout deletes the row, so a replayed cookie is refused afterwards; login
always starts a new session (new id), so a planted id is never promoted.

The cookie is `HttpOnly`, `SameSite=Lax`, `Path=/`, with a Max-Age; with secure cookies on
(the default) it is also `Secure` and named with the `__Host-` prefix, which browsers only
accept from a secure origin and never with a Domain attribute.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from dataclasses import dataclass

import aiohttp_session
import asyncpg
from aiohttp import web
from aiohttp_session import AbstractStorage, Session

from usetix.service import SETTINGS

# Absolute lifetime of a login; no sliding renewal, so a stolen cookie dies on schedule.
SESSION_MAX_AGE = 8 * 3600
SECURE_COOKIE_NAME = "__Host-usetix_session"
PLAIN_COOKIE_NAME = "usetix_session"

# token_urlsafe(32) gives 43 characters; anything far from that is junk, not worth a query.
_COOKIE_SHAPE = re.compile(r"[A-Za-z0-9_\-]{32,64}")

Executor = asyncpg.Connection | asyncpg.Pool

# aiohttp-session 2.12 (the latest) keeps its per-request state under str keys, which aiohttp
# 3.14 answers with a NotAppKeyWarning (an error under our filterwarnings = error). Its
# functions read these module constants at call time, so typed keys can stand in for them.
if isinstance(aiohttp_session.SESSION_KEY, str):
    aiohttp_session.SESSION_KEY = web.RequestKey(aiohttp_session.SESSION_KEY, Session)
if isinstance(aiohttp_session.STORAGE_KEY, str):
    aiohttp_session.STORAGE_KEY = web.RequestKey(aiohttp_session.STORAGE_KEY, AbstractStorage)


@dataclass(frozen=True, slots=True)
class BrowserUser:
    user_id: int
    account_id: int
    email: str


def cookie_name(secure: bool) -> str:
    return SECURE_COOKIE_NAME if secure else PLAIN_COOKIE_NAME


def session_digest(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode("ascii")).digest()


def session_cookie(request: web.Request) -> str | None:
    """The raw session id this request carries, if it looks like one.

    With the app's settings at hand only the configured cookie counts; without them (an app
    that did not store its settings) either name is read."""
    settings = request.config_dict.get(SETTINGS)
    if settings is not None:
        names: tuple[str, ...] = (cookie_name(settings.admin_ui.secure_cookies),)
    else:
        names = (SECURE_COOKIE_NAME, PLAIN_COOKIE_NAME)
    for name in names:
        value = request.cookies.get(name)
        if value is not None and _COOKIE_SHAPE.fullmatch(value):
            return value
    return None


async def browser_user(request: web.Request, pool: asyncpg.Pool) -> BrowserUser | None:
    """The admin user whose session cookie this request carries, or None."""
    session_id = session_cookie(request)
    if session_id is None:
        return None
    return await user_for_session(pool, session_id)


# --- queries ---------------------------------------------------------------------------


async def user_for_session(db: Executor, session_id: str) -> BrowserUser | None:
    row = await db.fetchrow(
        "SELECT u.id, u.account_id, u.email FROM admin_sessions s"
        " JOIN users u ON u.id = s.user_id"
        " WHERE s.id_digest = $1 AND s.expires_at > now()",
        session_digest(session_id),
    )
    if row is None:
        return None
    return BrowserUser(user_id=row["id"], account_id=row["account_id"], email=row["email"])


async def _load(db: Executor, session_id: str) -> tuple[dict, dt.datetime] | None:
    row = await db.fetchrow(
        "SELECT data, created_at FROM admin_sessions WHERE id_digest = $1 AND expires_at > now()",
        session_digest(session_id),
    )
    if row is None:
        return None
    return json.loads(row["data"]), row["created_at"]


async def _insert(db: Executor, session_id: str, *, user_id: int, data: dict) -> None:
    # Expired rows of anyone are swept here: logins are rare, so this stays cheap.
    await db.execute("DELETE FROM admin_sessions WHERE expires_at <= now()")
    await db.execute(
        "INSERT INTO admin_sessions (id_digest, user_id, data, expires_at)"
        " VALUES ($1, $2, $3::jsonb, now() + make_interval(secs => $4))",
        session_digest(session_id),
        user_id,
        json.dumps(data),
        SESSION_MAX_AGE,
    )


async def _update(db: Executor, session_id: str, data: dict) -> None:
    await db.execute(
        "UPDATE admin_sessions SET data = $2::jsonb WHERE id_digest = $1",
        session_digest(session_id),
        json.dumps(data),
    )


async def delete_session(db: Executor, session_id: str) -> None:
    await db.execute("DELETE FROM admin_sessions WHERE id_digest = $1", session_digest(session_id))


# --- aiohttp-session storage -----------------------------------------------------------


class PostgresStorage(AbstractStorage):
    """aiohttp-session storage keeping sessions in `admin_sessions`.

    Only sessions that carry a `user_id` are persisted: an anonymous visitor never creates a
    row. The pool is read from the request's app, so the storage holds no resources itself."""

    def __init__(self, pool_key: web.AppKey[asyncpg.Pool], *, secure: bool) -> None:
        super().__init__(
            cookie_name=cookie_name(secure),
            max_age=SESSION_MAX_AGE,
            path="/",
            secure=secure,
            httponly=True,
            samesite="Lax",
        )
        self._pool_key = pool_key
        self._secure = secure

    def _pool(self, request: web.Request) -> asyncpg.Pool:
        return request.config_dict[self._pool_key]

    async def load_session(self, request: web.Request) -> Session:
        session_id = self.load_cookie(request)
        if session_id is None or not _COOKIE_SHAPE.fullmatch(session_id):
            return Session(None, data=None, new=True, max_age=self.max_age)
        loaded = await _load(self._pool(request), session_id)
        if loaded is None:
            return Session(None, data=None, new=True, max_age=self.max_age)
        data, created_at = loaded
        return Session(
            session_id,
            data={"created": int(created_at.timestamp()), "session": data},
            new=False,
            max_age=self.max_age,
        )

    async def save_session(
        self, request: web.Request, response: web.StreamResponse, session: Session
    ) -> None:
        pool = self._pool(request)
        session_id = session.identity
        user_id = session.get("user_id")
        if session.empty or user_id is None:
            if session_id is not None:
                await delete_session(pool, session_id)
            self.save_cookie(response, "")
            return
        data = dict(session)
        if session_id is None:
            session_id = secrets.token_urlsafe(32)
            await _insert(pool, session_id, user_id=int(user_id), data=data)
            self.save_cookie(response, session_id, max_age=self.max_age)
        else:
            await _update(pool, session_id, data)

    def save_cookie(
        self, response: web.StreamResponse, cookie_data: str, *, max_age: int | None = None
    ) -> None:
        if cookie_data:
            super().save_cookie(response, cookie_data, max_age=max_age)
            return
        # The base class deletes without Secure, which browsers refuse for `__Host-` names.
        response.del_cookie(
            self.cookie_name, path="/", secure=self._secure, httponly=True, samesite="Lax"
        )
