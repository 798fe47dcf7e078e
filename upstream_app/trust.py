"""Who is asking: the gateway's asserted identity, honoured only with a valid proof, and what
that identity may do here. Defence in depth: the gateway already enforces the same rules, but
this app must stay safe if someone reaches it without going through the gateway."""

from __future__ import annotations

from enum import StrEnum

from aiohttp import web

from usetix.config import Settings
from usetix.credentials import Kind, Tier
from usetix.identity import Identity, verify

READ_METHODS = frozenset({"GET", "HEAD"})


class Area(StrEnum):
    """The two API surfaces, mirroring the gateway's `account` and `scanner` route classes."""

    ADMIN = "admin"
    SCANNER = "scanner"


class Denied(Exception):
    """The caller may not do this; status is 401 (who are you?) or 403 (not with that)."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def identity_of(request: web.Request, settings: Settings) -> Identity | None:
    """The identity the gateway asserted for exactly this request, or None (anonymous).

    X-Usetix-* headers without a valid, fresh proof bound to this method and target mean
    nothing: a client could have sent them."""
    key = settings.secrets.identity_key.encode()
    if not key:
        # No key configured: nothing can be proven, and an empty HMAC key would be guessable.
        return None
    return verify(
        key,
        request.headers,
        method=request.method,
        target=request.raw_path,
        max_age=settings.upstream_app.identity_max_age,
    )


def authorize(identity: Identity | None, area: Area, method: str) -> Identity:
    """The identity when it may call `method` in `area`; raises Denied otherwise."""
    if identity is None:
        raise Denied(401, "unauthorized")
    if area is Area.ADMIN and identity.credential_kind != Kind.API:
        # A scanner device token is not an account API credential (same answer as the gateway).
        raise Denied(401, "unauthorized")
    if identity.credential_kind not in (Kind.API, Kind.SCANNER):
        raise Denied(401, "unauthorized")
    if method not in READ_METHODS and identity.tier != Tier.READ_WRITE:
        # Unknown tiers get read rights only: least privilege when in doubt.
        raise Denied(403, "forbidden")
    return identity
