"""Counters of the credential path (cache, verifier, revocation listener, last-used writer).

Plain integers on one object shared by those parts, so the metrics exporter reads them without
any of them knowing about Prometheus. The field names are the exporter's contract."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CredentialStats:
    # Lookups answered from the cache (positive or negative entry).
    cache_hits: int = 0
    # Lookups that found nothing usable in a trusted cache, or with caching turned off.
    cache_misses: int = 0
    # Lookups made while the cache was not trusted (listener down or heartbeat stale).
    cache_bypassed: int = 0
    # Entries removed by a revocation push or a clear (TTL expiry is not counted).
    cache_evictions: int = 0
    # Fills refused because the digest was invalidated while its lookup was in flight.
    stale_fills_dropped: int = 0
    # Credential queries sent to the database (after single-flight coalescing).
    db_lookups: int = 0
    # Requests that joined a lookup already in flight for the same digest.
    coalesced_lookups: int = 0
    # Lookups that could not get an answer from the database (answered 503).
    store_errors: int = 0
    # Notifications received on the usetix_credentials channel (self-checks excluded).
    revocation_notifications: int = 0
    # Listener connections established (the first one included) and lost.
    listener_connects: int = 0
    listener_reconnects: int = 0
    listener_failures: int = 0
    # Batched last-used writes, and the credentials they covered.
    last_used_flushes: int = 0
    last_used_rows: int = 0
