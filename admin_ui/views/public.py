"""The two public JSON endpoints (no session, no bearer): a door app exchanging its pairing
code, and anyone holding a leaked token killing it. Both rate-limited per client address."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from admin_ui import queries
from admin_ui.keys import LIMITERS
from admin_ui.ratelimit import RateLimiter
from admin_ui.views.common import TIER_LABELS, client_address
from usetix import credential_store, credentials
from usetix.service import POOL

routes = web.RouteTableDef()

NO_STORE = {"Cache-Control": "no-store"}
# The leak endpoint answers this whatever happened, so it reveals nothing about the token.
LEAK_ANSWER = {"status": "received", "detail": "If this token was live, it is now revoked."}


def _json(body: dict[str, Any], status: int = 200, **headers: str) -> web.Response:
    return web.json_response(body, status=status, headers={**NO_STORE, **headers})


def _too_many(limiter: RateLimiter, key: str) -> web.Response:
    return _json({"error": "rate_limited"}, 429, **{"Retry-After": str(limiter.retry_after(key))})


async def _field(request: web.Request, name: str) -> str | None:
    """One string field of a JSON object body, or None for anything else."""
    try:
        body = await request.json(loads=json.loads)
    except (ValueError, UnicodeDecodeError):
        return None
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


@routes.post("/scanner/pair")
async def pair(request: web.Request) -> web.Response:
    limiter = request.app[LIMITERS].pair_address
    address = client_address(request)
    if limiter.blocked(address):
        return _too_many(limiter, address)
    code = await _field(request, "code")
    redeemed = None
    if code is not None:
        async with request.app[POOL].acquire() as conn:
            redeemed = await queries.redeem_pairing_code(conn, code, client_address=address)
    if redeemed is None:
        limiter.hit(address)
        return _json({"error": "invalid_code"}, 400)
    row, token = redeemed
    return _json(
        {
            "token": token,
            "credential": {
                "id": str(row.id),
                "kind": row.kind.value,
                "tier": row.tier.value,
                "tier_label": TIER_LABELS[row.tier],
                "display_prefix": row.display_prefix,
                "description": row.description,
                "created_at": row.created_at.isoformat(),
            },
        }
    )


@routes.post("/tokens/revoke")
async def report_leak(request: web.Request) -> web.Response:
    limiter = request.app[LIMITERS].leak_address
    address = client_address(request)
    if not limiter.hit(address):
        return _too_many(limiter, address)
    token = await _field(request, "token")
    if token is None:
        return _json({"error": "invalid_request", "detail": 'Send {"token": "..."}.'}, 400)
    if credentials.has_valid_shape(token):
        async with request.app[POOL].acquire() as conn:
            await credential_store.revoke_by_digest(
                conn,
                credentials.digest(token),
                actor="leaked-token report",
                client_address=address,
            )
    return _json(LEAK_ANSWER)
