"""The one place the gateway's own answers are built: 401, 400/421/501, 502/504, 503.
Bodies are small JSON documents; nothing in them says whether a token ever existed."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from gateway.outcomes import AuthFailure, BadRequest, Reason, UpstreamFailure
from usetix.service import SERVER

REALM = 'Bearer realm="usetix"'
RETRY_AFTER_SECONDS = "2"


def json_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> web.Response:
    """Every JSON answer the gateway writes itself (public, ops and server-level)."""
    return web.Response(
        status=status,
        body=json.dumps(body, separators=(",", ":")).encode(),
        content_type="application/json",
        headers={"Cache-Control": "no-store", "Server": SERVER, **(headers or {})},
    )


def challenge(failure: AuthFailure) -> str:
    parts = [REALM]
    if failure.challenge_error:
        parts.append(f'error="{failure.challenge_error}"')
    if failure.reason is Reason.INSUFFICIENT_SCOPE:
        parts.append('scope="read+write"')
    return ", ".join(parts)


def unauthorized(failure: AuthFailure) -> web.Response:
    return json_response(
        401,
        {"error": "unauthorized", "reason": failure.public_reason},
        {"WWW-Authenticate": challenge(failure)},
    )


def refused(failure: BadRequest) -> web.Response:
    response = json_response(failure.status, {"error": failure.error, "detail": failure.detail})
    # The connection's framing or intent is suspect: do not read another request from it.
    response.force_close()
    return response


def unavailable() -> web.Response:
    """The credential store could not vouch for the token: fail closed, but not with 401
    (that would tell the client its token is bad)."""
    return json_response(
        503,
        {"error": "unavailable", "detail": "credentials cannot be verified right now"},
        {"Retry-After": RETRY_AFTER_SECONDS},
    )


def upstream_failed(failure: UpstreamFailure) -> web.Response:
    error = "gateway_timeout" if failure.status == 504 else "bad_gateway"
    return json_response(failure.status, {"error": error})
