"""The gateway's credential cache: what a token's digest resolved to, trusted only while
revocations can reach it.

* Keyed by the token's SHA-256 digest, never by the token or the header it came in, so every
  spelling of an Authorization header shares one entry and nothing here can be replayed.
* Positive entries (a live Credential) live for `cache_ttl`; negative ones (unknown or
  revoked) for the shorter `negative_cache_ttl`. The TTL bounds staleness even if every
  push failed.
* Trust is a lease: the revocation listener extends it after each heartbeat and drops it the
  moment the connection is lost. Without a lease nothing is read from or written to the cache.
* Generations: every invalidation gets a new generation number. A lookup remembers the
  generation it started at and may fill the cache only if neither its digest nor the whole
  cache was invalidated since, so a lookup that raced a revocation cannot put the revoked
  credential back.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cachetools import TTLCache

from gateway.credential_stats import CredentialStats
from gateway.outcomes import Reason
from usetix.credentials import Credential

Entry = Credential | Reason

# Past this many remembered per-digest invalidations, forget them all and treat the next fills
# as if the whole cache had been cleared: always safe, and keeps memory bounded.
MAX_REMEMBERED_INVALIDATIONS = 10_000


class CredentialCache:
    def __init__(
        self,
        *,
        size: int,
        ttl: float,
        negative_ttl: float,
        stats: CredentialStats | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = size > 0
        self.stats = stats or CredentialStats()
        self._clock = clock
        # cachetools refuses maxsize 0; a disabled cache never stores anything anyway.
        self._positive: TTLCache[bytes, Credential] = TTLCache(max(size, 1), ttl, self._clock)
        self._negative: TTLCache[bytes, Reason] = TTLCache(max(size, 1), negative_ttl, self._clock)
        self._trusted_until = 0.0
        self._generation = 0
        self._cleared_at = 0
        self._invalidated: dict[bytes, int] = {}

    def __repr__(self) -> str:
        # Digests only, and not even those: their count is all a log line needs.
        return (
            f"<CredentialCache positive={len(self._positive)} negative={len(self._negative)}"
            f" trusted={self.trusted} generation={self._generation}>"
        )

    def __len__(self) -> int:
        return len(self._positive) + len(self._negative)

    # -- trust -------------------------------------------------------------------------

    @property
    def trusted(self) -> bool:
        return self._clock() < self._trusted_until

    def trust_for(self, seconds: float) -> None:
        """Extend the lease (the listener calls this after each good heartbeat)."""
        self._trusted_until = self._clock() + seconds

    def distrust(self) -> None:
        """Revocations can no longer reach us: stop using the cache and empty it."""
        self._trusted_until = 0.0
        self.clear()

    # -- invalidation ------------------------------------------------------------------

    @property
    def generation(self) -> int:
        return self._generation

    def evict(self, digest: bytes) -> None:
        self._generation += 1
        if len(self._invalidated) >= MAX_REMEMBERED_INVALIDATIONS:
            self._invalidated.clear()
            self._cleared_at = self._generation
        self._invalidated[digest] = self._generation
        for store in (self._positive, self._negative):
            if store.pop(digest, None) is not None:
                self.stats.cache_evictions += 1

    def clear(self) -> None:
        self._generation += 1
        self._cleared_at = self._generation
        self._invalidated.clear()
        self.stats.cache_evictions += len(self)
        self._positive.clear()
        self._negative.clear()

    def is_current(self, digest: bytes, since: int) -> bool:
        """True if nothing invalidated this digest after generation `since`."""
        return self._cleared_at <= since and self._invalidated.get(digest, 0) <= since

    # -- entries -----------------------------------------------------------------------

    def get(self, digest: bytes) -> Entry | None:
        """The cached answer, or None when it must be looked up (counted either way)."""
        if not self.enabled:
            self.stats.cache_misses += 1
            return None
        if not self.trusted:
            self.stats.cache_bypassed += 1
            return None
        found: Entry | None = self._positive.get(digest)
        if found is None:
            found = self._negative.get(digest)
        if found is None:
            self.stats.cache_misses += 1
        else:
            self.stats.cache_hits += 1
        return found

    def fill(self, digest: bytes, entry: Entry, *, since: int) -> bool:
        """Store a looked-up answer unless the cache is untrusted or the digest was
        invalidated after the lookup began (generation `since`)."""
        if not (self.enabled and self.trusted):
            return False
        if not self.is_current(digest, since):
            self.stats.stale_fills_dropped += 1
            return False
        if isinstance(entry, Credential):
            self._negative.pop(digest, None)
            self._positive[digest] = entry
        else:
            self._positive.pop(digest, None)
            self._negative[digest] = entry
        return True
