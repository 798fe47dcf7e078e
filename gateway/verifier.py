"""Credential lookup for the gateway: token -> Credential, or why not.

cache -> single-flight -> store. Unknown and revoked tokens are both refused as invalid_token
to the client; the distinction only reaches logs and metrics. Any failure to get an answer
from the store (down, pool exhausted, statement or command timeout) is StoreUnavailable: the
gateway fails closed (503), never with 401 and never by forwarding.

Concurrent misses for one digest share one database query (single-flight). A request joins a
lookup in flight only if nothing invalidated that digest since the lookup began; otherwise it
starts its own, so a request that arrives after a revocation is never answered by a query
that ran before it.

While the old system's plaintext api_tokens table exists, a token unknown to credentials is
moved into credentials (hashed) on first use, so legacy tokens work before, during and after
the bulk import and always carry a real credential id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import asyncpg

from gateway.cache import CredentialCache, Entry
from gateway.credential_stats import CredentialStats
from gateway.outcomes import AuthFailure, Reason, StoreUnavailable
from usetix import credential_store, credentials
from usetix.credentials import Credential

if TYPE_CHECKING:
    from gateway.listener import RevocationListener
    from gateway.usage import UsageRecorder

log = logging.getLogger(__name__)

STORE_ERRORS = (
    asyncio.TimeoutError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)

StoreLookup = Callable[[asyncpg.Connection, bytes], Awaitable[tuple[Credential, bool] | None]]


@dataclass(frozen=True, slots=True)
class _Flight:
    generation: int
    task: asyncio.Task[Entry]


class CredentialVerifier:
    def __init__(
        self,
        pool: asyncpg.Pool,
        cache: CredentialCache,
        *,
        acquire_timeout: float,
        usage: UsageRecorder | None = None,
        max_pending_lookups: int = 1024,
    ) -> None:
        self.pool = pool
        self.cache = cache
        self.stats: CredentialStats = cache.stats
        self.usage = usage
        # Set by whoever runs the listener feeding this verifier's cache.
        self.listener: RevocationListener | None = None
        # The store query; a seam for tests that must hold a lookup open at a chosen moment.
        self.store_lookup: StoreLookup = credential_store.lookup_with_state
        self._acquire_timeout = acquire_timeout
        # Bounds the requests waiting on the pool for distinct digests: past it, 503 at once.
        self._max_pending = max_pending_lookups
        self._inflight: dict[bytes, _Flight] = {}
        # Until the database says there is no api_tokens table (or no import function).
        self._legacy_table = True

    @property
    def ready(self) -> bool:
        """True while revocations reach this instance (listener connected, self-check
        passed, heartbeat fresh): the cache may be used."""
        return self.cache.trusted

    async def verify(self, token: str) -> Credential:
        """The live credential for this (well-formed) token; raises AuthFailure or
        StoreUnavailable."""
        digest = credentials.digest(token)
        entry = self.cache.get(digest)
        if entry is None:
            entry = await self._look_up(digest, token)
        if isinstance(entry, Reason):
            raise AuthFailure(entry)
        return entry

    def record_use(
        self, credential: Credential, address: str | None, user_agent: str | None
    ) -> None:
        if self.usage is not None:
            self.usage.record(credential.id, address, user_agent)

    async def _look_up(self, digest: bytes, token: str) -> Entry:
        flight = self._inflight.get(digest)
        if flight is not None and self.cache.is_current(digest, flight.generation):
            self.stats.coalesced_lookups += 1
        else:
            if len(self._inflight) >= self._max_pending:
                self.stats.store_errors += 1
                raise StoreUnavailable("too many lookups waiting for the database")
            generation = self.cache.generation
            task = asyncio.ensure_future(self._fetch(digest, token, generation))
            flight = _Flight(generation, task)
            self._inflight[digest] = flight
            task.add_done_callback(partial(self._landed, digest, flight))
        # Shielded: a client that goes away must not cancel the query others are waiting on.
        return await asyncio.shield(flight.task)

    def _landed(self, digest: bytes, flight: _Flight, task: asyncio.Task[Entry]) -> None:
        if self._inflight.get(digest) is flight:
            del self._inflight[digest]
        if not task.cancelled():
            task.exception()  # retrieved here, so waiters that left cause no warning

    async def _fetch(self, digest: bytes, token: str, generation: int) -> Entry:
        try:
            entry = await self._query(digest, token)
        except STORE_ERRORS as exc:
            self.stats.store_errors += 1
            log.warning("credential store unavailable: %s", type(exc).__name__)
            raise StoreUnavailable(type(exc).__name__) from exc
        self.cache.fill(digest, entry, since=generation)
        return entry

    async def _query(self, digest: bytes, token: str) -> Entry:
        self.stats.db_lookups += 1
        async with self.pool.acquire(timeout=self._acquire_timeout) as conn:
            found = await self.store_lookup(conn, digest)
            if found is None and self._legacy_table:
                found = await self._import_legacy(conn, digest, token)
        if found is None:
            return Reason.INVALID_TOKEN
        credential, revoked = found
        return Reason.REVOKED if revoked else credential

    async def _import_legacy(
        self, conn: asyncpg.Connection, digest: bytes, token: str
    ) -> tuple[Credential, bool] | None:
        try:
            created = await credential_store.import_legacy_tokens(conn, token)
        except asyncpg.UndefinedFunctionError:
            created = None  # a schema older than the import migration
        if created is None:
            self._legacy_table = False
            log.info("no legacy api_tokens table: legacy fallback off")
        # Look again even when nothing was created here: another gateway or the bulk
        # import may have just moved this token.
        return await self.store_lookup(conn, digest)
