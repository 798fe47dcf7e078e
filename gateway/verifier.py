"""Credential lookup for the gateway: token -> Credential, or why not.

Unknown and revoked tokens are both refused as invalid_token to the client; the distinction
only reaches logs and metrics. Any failure to get an answer from the store (down, pool
exhausted, statement or command timeout) is StoreUnavailable: the gateway fails closed.
"""

from __future__ import annotations

import asyncio

import asyncpg

from gateway.outcomes import AuthFailure, Reason, StoreUnavailable
from usetix import credential_store, credentials
from usetix.credentials import Credential

STORE_ERRORS = (
    asyncio.TimeoutError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


class CredentialVerifier:
    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float) -> None:
        self._pool = pool
        self._acquire_timeout = acquire_timeout

    async def verify(self, token: str) -> Credential:
        """The live credential for this (well-formed) token; raises AuthFailure or
        StoreUnavailable."""
        digest = credentials.digest(token)
        try:
            async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
                found = await credential_store.lookup_with_state(conn, digest)
        except STORE_ERRORS as exc:
            raise StoreUnavailable(type(exc).__name__) from exc
        if found is None:
            raise AuthFailure(Reason.INVALID_TOKEN)
        credential, revoked = found
        if revoked:
            raise AuthFailure(Reason.REVOKED)
        return credential
