"""The revocation listener: one dedicated connection, outside the pool, that LISTENs on
usetix_credentials and evicts what the credentials trigger names ('*': everything).

Lifecycle of each connection:
  connect -> LISTEN -> self-check (NOTIFY through the pool, wait for it here) -> clear the
  cache -> trust it -> heartbeat every interval, extending the trust lease each time.
The lease (heartbeat interval + timeout) is what the cache checks on every request, so a dead
or half-open connection stops the cache from being used within that bound even if nothing
errors. A lost connection (termination, failed heartbeat) drops trust at once and clears the
cache; reconnection backs off up to `listener_reconnect_max_delay`. The self-check proves that
notifications from where credentials are written reach this connection (not the case behind
PgBouncer in transaction mode, or with a listener URL on another database): until it passes
the cache is never trusted.

Never on a pooled connection: a pool resets, recycles and replaces connections, and listeners
registered on them vanish silently.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
from typing import Any

import asyncpg

from gateway.cache import CredentialCache
from gateway.credential_stats import CredentialStats
from usetix.revocation import ACK_CHANNEL, LISTENER_PREFIX

log = logging.getLogger(__name__)

CHANNEL = "usetix_credentials"
SELF_CHECK_PREFIX = "selfcheck:"
FIRST_RETRY_DELAY = 0.05


class ListenerLost(Exception):
    """The listener connection is gone or unusable."""


def reconnect_delay(failures: int, max_delay: float) -> float:
    """Exponential backoff with jitter: 50 ms, 100 ms, ... up to max_delay."""
    ceiling = min(max_delay, FIRST_RETRY_DELAY * 2**min(failures, 16))
    return ceiling * random.uniform(0.5, 1.0)


def digest_from_payload(payload: str) -> bytes | None:
    """The digest a notification names, or None when it means 'everything' ('*', or a
    payload this version does not understand: clearing is always safe)."""
    if len(payload) != 64:
        return None
    try:
        return bytes.fromhex(payload)
    except ValueError:
        return None


class RevocationListener:
    def __init__(
        self,
        dsn: str,
        pool: asyncpg.Pool,
        cache: CredentialCache,
        *,
        heartbeat_interval: float,
        heartbeat_timeout: float,
        max_delay: float,
        connect_options: dict[str, Any],
        acquire_timeout: float,
    ) -> None:
        self._dsn = dsn
        self._pool = pool
        self.cache = cache
        self.stats: CredentialStats = cache.stats
        self._interval = heartbeat_interval
        self._timeout = heartbeat_timeout
        self._max_delay = max_delay
        self._acquire_timeout = acquire_timeout
        # Unique per process and listener, so an operator (or a test) can find exactly this
        # session in pg_stat_activity.
        self.application_name = f"{LISTENER_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
        server_settings = dict(connect_options.get("server_settings", {}))
        server_settings["application_name"] = self.application_name
        self._connect_options = {**connect_options, "server_settings": server_settings}
        self.backend_pid: int | None = None
        self._checks: dict[str, asyncio.Future[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._reached_trust = False
        # One query at a time on the listener connection: heartbeats and acknowledgements.
        self._conn: asyncpg.Connection | None = None
        self._conn_lock = asyncio.Lock()
        self._acks: set[asyncio.Task[None]] = set()

    @property
    def lease(self) -> float:
        """How long the cache stays trusted after a good heartbeat."""
        return self._interval + self._timeout

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usetix-revocation-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self.cache.distrust()

    async def _run(self) -> None:
        failures = 0
        while True:
            self._reached_trust = False
            try:
                await self._session()
            except Exception as exc:
                # Whatever broke (network, server, a bug), the answer is the same: the cache
                # is not trusted until a new connection has passed the whole start sequence.
                log.warning("revocation listener down: %s: %s", type(exc).__name__, exc)
            finally:
                self.cache.distrust()
                self.backend_pid = None
            if self._reached_trust:
                failures = 0
            else:
                failures += 1
                self.stats.listener_failures += 1
            await asyncio.sleep(reconnect_delay(failures, self._max_delay))

    async def _session(self) -> None:
        """One connection's life; ends only by raising (lost, heartbeat failed, cancelled)."""
        conn: asyncpg.Connection = await asyncpg.connect(
            self._dsn, timeout=self.lease, **self._connect_options
        )
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: self._on_lost(lost))
        self._conn = conn
        try:
            await conn.add_listener(CHANNEL, self._on_notification)  # LISTEN first
            self.backend_pid = conn.get_server_pid()
            await self._self_check()
            self.cache.clear()  # anything cached before this LISTEN may be stale
            self.cache.trust_for(self.lease)
            self._reached_trust = True
            self.stats.listener_connects += 1
            if self.stats.listener_connects > 1:
                self.stats.listener_reconnects += 1
                log.info("revocation listener reconnected (backend pid %s)", self.backend_pid)
            while True:
                # asyncio.timeout, not wait_for: Python 3.11's wait_for returns normally when the
                # awaited event completes in the same moment the task is cancelled, and the
                # lost cancellation kept stop() waiting forever (seen in test teardowns).
                try:
                    async with asyncio.timeout(self._interval):
                        await lost.wait()
                except TimeoutError:
                    pass
                if lost.is_set():
                    raise ListenerLost("connection closed")
                async with self._conn_lock:
                    await conn.fetchval("SELECT 1", timeout=self._timeout)
                self.cache.trust_for(self.lease)
        finally:
            self._conn = None
            self.cache.distrust()
            conn.terminate()

    def _on_lost(self, lost: asyncio.Event) -> None:
        self.cache.distrust()
        lost.set()

    async def _self_check(self) -> None:
        nonce = secrets.token_hex(8)
        arrived: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._checks[nonce] = arrived
        try:
            async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
                await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, SELF_CHECK_PREFIX + nonce)
            try:
                async with asyncio.timeout(self._timeout):
                    await arrived
            except TimeoutError:
                raise ListenerLost(
                    "self-check failed: a NOTIFY sent through the pool did not arrive on the"
                    " listener connection (PgBouncer in transaction mode, or listener_url on"
                    " another database?)"
                ) from None
        finally:
            self._checks.pop(nonce, None)

    def _on_notification(
        self, _conn: asyncpg.Connection, _pid: int, _channel: str, payload: str
    ) -> None:
        if payload.startswith(SELF_CHECK_PREFIX):
            arrived = self._checks.get(payload.removeprefix(SELF_CHECK_PREFIX))
            if arrived is not None and not arrived.done():
                arrived.set_result(None)
            return  # another instance's self-check: nothing to evict
        self.stats.revocation_notifications += 1
        digest = digest_from_payload(payload)
        if digest is None:
            self.cache.clear()
            return
        self.cache.evict(digest)
        # Tell whoever revoked it (usetix.revocation) that this instance has let go.
        task = asyncio.create_task(self._acknowledge(payload))
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

    async def _acknowledge(self, payload: str) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            async with self._conn_lock:
                await conn.execute(
                    "SELECT pg_notify($1, $2)", ACK_CHANNEL, payload, timeout=self._timeout
                )
        except Exception as exc:
            # The revoker stops waiting once this listener is gone or its lease has run out.
            log.debug("revocation acknowledgement not sent: %s", type(exc).__name__)
