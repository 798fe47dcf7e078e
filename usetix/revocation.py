"""Waiting until every gateway has let go of a revoked credential.

The credentials trigger NOTIFYs every gateway's listener at commit; each listener evicts the
digest from its cache and answers on ACK_CHANNEL from its own connection. A revocation made
through the product (CLI, admin UI, leak report) returns only once every live listener has
answered, so "the next request returns 401" holds on every gateway instance for anyone who
waits for the revoke to finish, not merely within the propagation delay. A listener that never
answers stops trusting its cache within its lease (heartbeat interval + timeout), so waiting
that long is enough even then. A revocation made directly in SQL propagates the same way,
without anyone waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

log = logging.getLogger(__name__)

ACK_CHANNEL = "usetix_credentials_ack"
LISTENER_PREFIX = "usetix-listener-"
# Default gateway lease: listener_heartbeat_interval + listener_heartbeat_timeout.
CONFIRM_TIMEOUT = 4.0
_POLL = 0.05


class EvictionWatch:
    """Acknowledgements seen on one connection since it started listening for them."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._acked: defaultdict[str, set[int]] = defaultdict(set)
        self._arrived = asyncio.Event()

    def on_ack(self, _conn: object, pid: int, _channel: str, payload: str) -> None:
        # The sender's backend pid is the listener's: that is whose eviction it confirms.
        self._acked[payload].add(pid)
        self._arrived.set()

    async def wait(self, digest: bytes, within: float = CONFIRM_TIMEOUT) -> bool:
        """True once every listener connected to this database has evicted the digest."""
        key = digest.hex()
        deadline = asyncio.get_running_loop().time() + within
        while True:
            live = {
                row["pid"]
                for row in await self._conn.fetch(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name LIKE $1",
                    LISTENER_PREFIX + "%",
                )
            }
            if live <= self._acked[key]:
                return True
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                log.warning(
                    "revocation not confirmed by %d gateway listener(s) within %.1f s; they"
                    " stop trusting their caches within their lease",
                    len(live - self._acked[key]),
                    within,
                )
                return False
            self._arrived.clear()
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
            try:
                async with asyncio.timeout(min(remaining, _POLL)):
                    await self._arrived.wait()
            except TimeoutError:
                pass


@asynccontextmanager
async def eviction_watch(conn: asyncpg.Connection) -> AsyncIterator[EvictionWatch]:
    """Listen for acknowledgements on conn (before the revoking transaction commits, so
    none can be missed) for the duration of the block."""
    watch = EvictionWatch(conn)
    await conn.add_listener(ACK_CHANNEL, watch.on_ack)
    try:
        yield watch
    finally:
        await conn.remove_listener(ACK_CHANNEL, watch.on_ack)
