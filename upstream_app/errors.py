"""The one place an error answer is built: handlers raise, this middleware responds."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.typedefs import Handler

from upstream_app.trust import Denied
from upstream_app.validation import Invalid

# The database is down, full or too slow: tell the client to come back, not that it erred.
_UNAVAILABLE = (
    TimeoutError,
    ConnectionRefusedError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.QueryCanceledError,
    asyncpg.TooManyConnectionsError,
)


class NotFound(Exception):
    """Nothing of this account's answers to that id, whether or not another account's does."""


class Conflict(Exception):
    """The request is well-formed but clashes with the current state."""

    def __init__(self, error: str, **detail: Any) -> None:
        super().__init__(error)
        self.body = {"error": error, **detail}


def json_response(
    body: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    # Account data must not linger in shared or browser caches.
    return web.json_response(
        body, status=status, headers={"Cache-Control": "no-store", **(headers or {})}
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Denied as exc:
        headers = {"WWW-Authenticate": 'Bearer realm="usetix"'} if exc.status == 401 else {}
        return json_response({"error": exc.error}, status=exc.status, headers=headers)
    except Invalid as exc:
        return json_response({"error": "invalid", "fields": exc.fields}, status=422)
    except (NotFound, web.HTTPNotFound):
        # Unknown paths too: the same bytes as a missing or foreign resource.
        return json_response({"error": "not_found"}, status=404)
    except Conflict as exc:
        return json_response(exc.body, status=409)
    except web.HTTPMethodNotAllowed as exc:
        allow = ", ".join(sorted(exc.allowed_methods))
        return json_response({"error": "method_not_allowed"}, status=405, headers={"Allow": allow})
    except _UNAVAILABLE:
        return json_response({"error": "unavailable"}, status=503, headers={"Retry-After": "1"})
