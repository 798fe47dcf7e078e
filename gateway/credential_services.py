"""Builds and runs the credential path of one gateway app: cache, verifier, revocation
listener and last-used writer, on the app's pool. Used by app.py's pool cleanup context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from gateway.cache import CredentialCache
from gateway.credential_stats import CredentialStats
from gateway.listener import RevocationListener
from gateway.usage import UsageRecorder
from gateway.verifier import CredentialVerifier
from usetix import db
from usetix.config import Settings


@asynccontextmanager
async def running_verifier(
    settings: Settings, pool: asyncpg.Pool
) -> AsyncIterator[CredentialVerifier]:
    gw, database = settings.gateway, settings.database
    stats = CredentialStats()
    cache = CredentialCache(
        size=gw.cache_size, ttl=gw.cache_ttl, negative_ttl=gw.negative_cache_ttl, stats=stats
    )
    usage = UsageRecorder(
        pool,
        interval=gw.last_used_flush_interval,
        acquire_timeout=database.acquire_timeout,
        stats=stats,
    )
    verifier = CredentialVerifier(
        pool, cache, acquire_timeout=database.acquire_timeout, usage=usage
    )
    listener = RevocationListener(
        gw.listener_url or database.url,
        pool,
        cache,
        heartbeat_interval=gw.listener_heartbeat_interval,
        heartbeat_timeout=gw.listener_heartbeat_timeout,
        max_delay=gw.listener_reconnect_max_delay,
        connect_options=db.connect_options(database),
        acquire_timeout=database.acquire_timeout,
    )
    verifier.listener = listener
    listener.start()
    usage.start()
    try:
        yield verifier
    finally:
        await listener.stop()
        await usage.stop()
