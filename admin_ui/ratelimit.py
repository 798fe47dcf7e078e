"""Fixed-window counters per key, in memory (pure: the clock is injected).

In memory on purpose: admin_ui runs as one process, and losing the counters on restart only
grants an attacker one fresh window. Several admin_ui processes would each count on their own,
multiplying the allowance by their number; move this to Postgres before scaling out.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Window:
    started: float
    count: int


@dataclass
class RateLimiter:
    """At most `limit` events per key in any `window` seconds (fixed windows).

    Memory is bounded: past `max_keys` the least recently touched key is forgotten, which
    only ever errs towards allowing."""

    limit: int
    window: float
    max_keys: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _windows: OrderedDict[str, _Window] = field(default_factory=OrderedDict, repr=False)

    def blocked(self, key: str) -> bool:
        """True when the key has used up its window (does not count anything)."""
        current = self._current(key)
        return current is not None and current.count >= self.limit

    def hit(self, key: str) -> bool:
        """Count one event; True when it is still within the limit."""
        now = self.clock()
        current = self._current(key)
        if current is None:
            current = self._windows[key] = _Window(started=now, count=0)
        self._windows.move_to_end(key)
        current.count += 1
        while len(self._windows) > self.max_keys:
            self._windows.popitem(last=False)
        return current.count <= self.limit

    def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    def retry_after(self, key: str) -> int:
        """Whole seconds until the key's window ends (at least 1)."""
        current = self._current(key)
        if current is None:
            return 1
        return max(1, int(current.started + self.window - self.clock()) + 1)

    def _current(self, key: str) -> _Window | None:
        current = self._windows.get(key)
        if current is not None and self.clock() - current.started >= self.window:
            del self._windows[key]
            return None
        return current


@dataclass(frozen=True)
class Limiters:
    """Every limiter admin_ui applies, kept on the app (see app.LIMITERS)."""

    # Failed logins per submitted email (whether or not it exists: no enumeration).
    login_account: RateLimiter
    # Failed logins per client address.
    login_address: RateLimiter
    # Failed pairing-code exchanges per client address (per code: counted in the database).
    pair_address: RateLimiter
    # Leak reports per client address (every report counts: the answer never says more).
    leak_address: RateLimiter


def default_limiters(clock: Callable[[], float] = time.monotonic) -> Limiters:
    return Limiters(
        login_account=RateLimiter(limit=5, window=900, clock=clock),
        login_address=RateLimiter(limit=20, window=900, clock=clock),
        pair_address=RateLimiter(limit=10, window=600, clock=clock),
        leak_address=RateLimiter(limit=30, window=60, clock=clock),
    )
