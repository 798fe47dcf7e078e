"""Last-used tracking: each credential's latest use (time, client address, user agent) is
kept in memory and written in one batched statement every `last_used_flush_interval`, so a
credential costs at most one write per interval however busy it is, and the hot path never
writes. What could not be written (database down) is kept for the next flush; the newest use
wins. A final flush runs on shutdown."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import asyncpg

from gateway.credential_stats import CredentialStats
from gateway.verifier import STORE_ERRORS
from usetix import credential_store
from usetix.credential_store import Usage

log = logging.getLogger(__name__)

# A client chooses its user agent: keep the stored copy to a sane size.
MAX_USER_AGENT = 256


class UsageRecorder:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        interval: float,
        acquire_timeout: float,
        stats: CredentialStats,
    ) -> None:
        self._pool = pool
        self._interval = interval
        self._acquire_timeout = acquire_timeout
        self.stats = stats
        self._pending: dict[int, Usage] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    def record(self, credential_id: int, address: str | None, user_agent: str | None) -> None:
        self._pending[credential_id] = Usage(
            credential_id=credential_id,
            used_at=datetime.now(UTC),
            address=address,
            user_agent=user_agent[:MAX_USER_AGENT] if user_agent else None,
        )

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        try:
            async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
                await credential_store.touch(conn, batch.values())
        except STORE_ERRORS as exc:
            log.warning("last-used flush failed, kept for the next one: %s", type(exc).__name__)
            for credential_id, usage in batch.items():
                self._pending.setdefault(credential_id, usage)
            return
        self.stats.last_used_flushes += 1
        self.stats.last_used_rows += len(batch)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usetix-last-used")

    async def stop(self) -> None:
        """Stop the timer and write what is left."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()
