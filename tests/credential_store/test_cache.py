"""The credential cache: keyed by digest, awaited values, single-flight, generations, trust."""

from __future__ import annotations

import asyncio

import pytest
from credpath import call, eventually, status_of

from gateway.cache import CredentialCache
from gateway.outcomes import Reason
from usetix import credential_store, credentials
from usetix.credentials import Credential, Kind, Tier

CRED = Credential(id=1, account_id=7, kind=Kind.API, tier=Tier.READ)
DIGEST = b"\x01" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def trusted_cache(clock: Clock | None = None, **kw: float) -> CredentialCache:
    options = {"size": 10, "ttl": 30.0, "negative_ttl": 5.0} | kw
    cache = CredentialCache(clock=clock or Clock(), **options)  # type: ignore[arg-type]
    cache.trust_for(10.0)
    return cache


def test_fill_then_hit_and_negative_entries_expire_sooner():
    clock = Clock()
    cache = trusted_cache(clock)
    cache.trust_for(100.0)
    assert cache.fill(DIGEST, CRED, since=cache.generation)
    other = b"\x02" * 32
    assert cache.fill(other, Reason.INVALID_TOKEN, since=cache.generation)
    assert cache.get(DIGEST) == CRED
    assert cache.get(other) is Reason.INVALID_TOKEN
    clock.now += 6
    assert cache.get(other) is None
    assert cache.get(DIGEST) == CRED
    clock.now += 30
    assert cache.get(DIGEST) is None


def test_a_lookup_that_raced_an_eviction_cannot_fill():
    cache = trusted_cache()
    started = cache.generation
    cache.evict(DIGEST)  # the revocation lands while the lookup is in flight
    assert not cache.fill(DIGEST, CRED, since=started)
    assert cache.get(DIGEST) is None
    assert cache.stats.stale_fills_dropped == 1
    # An eviction of another digest does not spoil this one's fill.
    started = cache.generation
    cache.evict(b"\x09" * 32)
    assert cache.fill(DIGEST, CRED, since=started)


def test_a_clear_spoils_every_fill_in_flight():
    cache = trusted_cache()
    started = cache.generation
    cache.clear()
    assert not cache.fill(DIGEST, CRED, since=started)


def test_untrusted_cache_is_neither_read_nor_filled():
    clock = Clock()
    cache = trusted_cache(clock)
    cache.fill(DIGEST, CRED, since=cache.generation)
    clock.now += 11  # the lease ran out: no heartbeat came
    assert not cache.trusted
    assert cache.get(DIGEST) is None
    assert cache.stats.cache_bypassed == 1
    assert not cache.fill(DIGEST, CRED, since=cache.generation)
    cache.trust_for(10.0)
    cache.distrust()
    assert len(cache) == 0


def test_disabled_cache_stores_nothing():
    cache = trusted_cache(size=0)
    assert not cache.fill(DIGEST, CRED, since=cache.generation)
    assert cache.get(DIGEST) is None


async def test_repeated_requests_are_answered_from_the_cache(start_instance, http, tokens):
    gw = await start_instance()
    stats = gw.verifier.stats
    for _ in range(2):  # BH-040: the second request must not reuse an awaited coroutine
        assert await status_of(http, gw, tokens.read) == 200
    for token in (tokens.revoked, "unknown-token-0123456789"):
        for _ in range(2):
            assert await status_of(http, gw, token) == 401
    assert stats.db_lookups == 3  # one per digest; the repeats were hits
    assert stats.cache_hits == 3


async def test_a_burst_with_one_fresh_token_makes_one_lookup(start_instance, http, tokens):
    """BH-040: 50 concurrent requests with one uncached token -> every one 200, one query."""
    gw = await start_instance()
    before = gw.verifier.stats.db_lookups
    statuses = await asyncio.gather(*(status_of(http, gw, tokens.rw) for _ in range(50)))
    assert statuses == [200] * 50
    assert gw.verifier.stats.db_lookups - before == 1


async def test_caching_off_sends_every_request_to_the_database(start_instance, http, tokens):
    gw = await start_instance(gateway={"cache_size": 0})
    for _ in range(3):
        assert await status_of(http, gw, tokens.read) == 200
    assert gw.verifier.stats.db_lookups == 3


async def test_revocation_racing_a_cache_fill_is_not_undone(start_instance, http, conn, tokens):
    """SEC-10: the lookup reads the token as live, the revocation commits and is pushed while
    that answer is still on its way; the late answer must not enter the cache."""
    gw = await start_instance()
    verifier = gw.verifier
    read_done, release = asyncio.Event(), asyncio.Event()
    original = verifier.store_lookup

    async def held_lookup(db, digest):
        found = await original(db, digest)
        if digest == credentials.digest(tokens.rw) and not read_done.is_set():
            read_done.set()  # only the first lookup is held
            await release.wait()
        return found

    verifier.store_lookup = held_lookup
    first = asyncio.create_task(status_of(http, gw, tokens.rw))
    await read_done.wait()
    pushes = verifier.stats.revocation_notifications
    await credential_store.revoke_by_digest(conn, credentials.digest(tokens.rw), actor="test")
    await eventually(
        lambda: verifier.stats.revocation_notifications > pushes, what="revocation pushed"
    )
    # A request that arrives now must not join the lookup that read the live row.
    second = await status_of(http, gw, tokens.rw)
    release.set()
    assert await first in (200, 401)  # it overlapped the revocation: either is honest
    assert second == 401
    for _ in range(5):
        assert await status_of(http, gw, tokens.rw) == 401
    assert verifier.stats.stale_fills_dropped >= 1


@pytest.mark.parametrize("spelling", ["Bearer {t}", "bearer {t}", "Bearer  {t}", "BEARER {t}"])
async def test_cache_is_keyed_by_token_not_header_spelling(
    start_instance, http, conn, tokens, spelling
):
    gw = await start_instance()
    header = {"Authorization": spelling.format(t=tokens.rw)}
    assert (await call(http, gw, None, headers=header))[0] == 200
    assert (await call(http, gw, tokens.rw))[0] == 200
    assert gw.verifier.stats.db_lookups == 1
    assert all(len(key) == 32 for key in gw.verifier.cache._positive)
