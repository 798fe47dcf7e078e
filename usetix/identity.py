"""The identity the gateway asserts to its upstreams, and the proof that the gateway sent it.

The gateway strips every client header in the trusted family (`X-Usetix-*`, any case, `_` read
as `-`) and, on authenticated requests only, adds the identity headers below with an HMAC over
them, a timestamp, the request id, the method and the request target. An upstream honours the
identity only when the HMAC verifies (constant-time) and the timestamp is fresh; otherwise it
treats the request as anonymous.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

TRUSTED_PREFIX = "x-usetix-"
ACCOUNT = "X-Usetix-Account"
CREDENTIAL = "X-Usetix-Credential"
TIER = "X-Usetix-Tier"
TIMESTAMP = "X-Usetix-Timestamp"
PROOF = "X-Usetix-Proof"
REQUEST_ID = "X-Request-Id"


@dataclass(frozen=True, slots=True)
class Identity:
    account_id: int
    credential_kind: str
    credential_id: int
    tier: str


def _message(
    identity: Identity, timestamp: str, request_id: str, method: str, target: str
) -> bytes:
    return "\n".join(
        (
            str(identity.account_id),
            f"{identity.credential_kind}:{identity.credential_id}",
            identity.tier,
            timestamp,
            request_id,
            method,
            target,
        )
    ).encode("utf-8", "surrogateescape")


def sign(
    key: bytes,
    identity: Identity,
    *,
    request_id: str,
    method: str,
    target: str,
    now: float | None = None,
) -> dict[str, str]:
    """The identity headers for one request, proof included."""
    timestamp = str(int(time.time() if now is None else now))
    proof = hmac.new(
        key, _message(identity, timestamp, request_id, method, target), hashlib.sha256
    ).hexdigest()
    return {
        ACCOUNT: str(identity.account_id),
        CREDENTIAL: f"{identity.credential_kind}:{identity.credential_id}",
        TIER: identity.tier,
        TIMESTAMP: timestamp,
        PROOF: proof,
    }


def verify(
    key: bytes,
    headers: Mapping[str, str],
    *,
    method: str,
    target: str,
    max_age: float,
    now: float | None = None,
) -> Identity | None:
    """The identity the headers assert, or None when absent, forged, stale or malformed."""
    try:
        account = headers[ACCOUNT]
        credential = headers[CREDENTIAL]
        tier = headers[TIER]
        timestamp = headers[TIMESTAMP]
        proof = headers[PROOF]
        request_id = headers.get(REQUEST_ID, "")
        kind, _, credential_id = credential.partition(":")
        identity = Identity(
            account_id=int(account), credential_kind=kind,
            credential_id=int(credential_id), tier=tier,
        )
        age = (time.time() if now is None else now) - int(timestamp)
    except (KeyError, ValueError):
        return None
    expected = hmac.new(
        key, _message(identity, timestamp, request_id, method, target), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected.encode(), proof.encode("utf-8", "surrogateescape")):
        return None
    if not -max_age <= age <= max_age:
        return None
    return identity
