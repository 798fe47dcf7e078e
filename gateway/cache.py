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
from collections import OrderedDict
from collections.abc import Callable, Iterator

from gateway.credential_stats import CredentialStats
from gateway.outcomes import Reason
from usetix.credentials import Credential

Entry = Credential | Reason

# Past this many remembered per-digest invalidations, forget them all and treat the next fills
# as if the whole cache had been cleared: always safe, and keeps memory bounded.
MAX_REMEMBERED_INVALIDATIONS = 10_000


class _Expiring:
    """A bounded map whose entries expire `ttl` seconds after they were stored.

    The hit path is one dict lookup and one comparison (cachetools' TTLCache.get was 7% of the
    gateway's CPU per request). One TTL per store means insertion order is expiry order: the
    dict's first entries are always the next to expire, so expired entries are dropped from
    the front on every store, and a full store drops the entry stored longest ago (the one
    closest to expiring anyway)."""

    __slots__ = ("_clock", "_data", "_maxsize", "_ttl")

    def __init__(self, maxsize: int, ttl: float, clock: Callable[[], float]) -> None:
        # OrderedDict, not dict: taking the first entry stays O(1) however many were deleted
        # from the front (a plain dict scans its deleted slots until it next resizes).
        self._data: OrderedDict[bytes, tuple[Entry, float]] = OrderedDict()
        self._maxsize = maxsize
        self._ttl = ttl
        self._clock = clock

    def __len__(self) -> int:
        self._expire(self._clock())
        return len(self._data)

    def __iter__(self) -> Iterator[bytes]:
        return iter(list(self._data))

    def get(self, key: bytes, now: float) -> Entry | None:
        found = self._data.get(key)
        if found is None:
            return None
        if now >= found[1]:
            del self._data[key]
            return None
        return found[0]

    def put(self, key: bytes, entry: Entry) -> None:
        now = self._clock()
        data = self._data
        data.pop(key, None)  # re-stored: moves to the back (expires last)
        self._expire(now)
        while len(data) >= self._maxsize:
            data.popitem(last=False)
        data[key] = (entry, now + self._ttl)

    def pop(self, key: bytes) -> Entry | None:
        found = self._data.pop(key, None)
        return None if found is None else found[0]

    def clear(self) -> None:
        self._data.clear()

    def _expire(self, now: float) -> None:
        data = self._data
        while data:
            key = next(iter(data))
            if now < data[key][1]:
                return
            del data[key]


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
        # A disabled cache never stores anything; max(size, 1) keeps the stores well-formed.
        self._positive = _Expiring(max(size, 1), ttl, self._clock)
        self._negative = _Expiring(max(size, 1), negative_ttl, self._clock)
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
            if store.pop(digest) is not None:
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
        now = self._clock()
        if now >= self._trusted_until:
            self.stats.cache_bypassed += 1
            return None
        found = self._positive.get(digest, now)
        if found is None:
            found = self._negative.get(digest, now)
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
            self._negative.pop(digest)
            self._positive.put(digest, entry)
        else:
            self._positive.pop(digest)
            self._negative.put(digest, entry)
        return True
