"""Single-use form ids (pure: the clock is injected).

The token reveal and the pairing code are the POST's own response, by design (never a
redirect, so the secret is in no URL, session or history entry). A browser reload, or
"Confirm resubmission", therefore sends the same form again with a still-valid CSRF token;
without this each replay would mint another credential or pairing code. Every such form
carries a random `form_id`; the handler claims it before creating anything and a repeat finds
it taken.

In memory on purpose, like the rate limiters: admin_ui runs as one process. A restart
forgets the ids (a reload after it would create again), and several admin_ui processes would
each remember only their own; move this to Postgres before scaling out.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

# secrets.token_urlsafe(16) is 22 characters; a little slack, never anything unbounded.
_WELL_FORMED = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_form_id() -> str:
    return secrets.token_urlsafe(16)


def well_formed(form_id: str) -> bool:
    return _WELL_FORMED.fullmatch(form_id) is not None


@dataclass
class UsedFormIds:
    """Remembers claimed form ids for `ttl` seconds, at most `max_ids` of them.

    Past `max_ids` the oldest claim is forgotten (claims share one TTL, so the oldest is the
    nearest to expiry): a replay of that very form would create again, never refuse wrongly."""

    ttl: float = 3600.0
    max_ids: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _claimed: OrderedDict[str, float] = field(default_factory=OrderedDict, repr=False)

    def claim(self, form_id: str) -> bool:
        """True the first time a well-formed id is claimed within the TTL; False on a repeat
        or a malformed id. Synchronous, so two concurrent replays cannot both win."""
        if not well_formed(form_id):
            return False
        now = self.clock()
        self._expire(now)
        if form_id in self._claimed:
            return False
        self._claimed[form_id] = now
        while len(self._claimed) > self.max_ids:
            self._claimed.popitem(last=False)
        return True

    def release(self, form_id: str) -> None:
        """Undo a claim whose creation failed, so submitting the same form again can work."""
        self._claimed.pop(form_id, None)

    def _expire(self, now: float) -> None:
        while self._claimed:
            oldest, claimed_at = next(iter(self._claimed.items()))
            if now - claimed_at < self.ttl:
                break
            del self._claimed[oldest]

