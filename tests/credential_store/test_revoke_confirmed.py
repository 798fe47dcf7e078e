"""A revoke through the product returns only after every gateway instance has evicted the
credential, so the very next request is refused everywhere: no poll, no propagation window."""

from __future__ import annotations

import asyncpg
import pytest
from credpath import status_of
from tcp_gate import TcpGate

from usetix import credential_store, credentials
from usetix.credentials import Kind, Tier
from usetix.revocation import LISTENER_PREFIX, eviction_watch


@pytest.fixture
async def slow_gate(db_url):
    gate = TcpGate(db_url)
    await gate.start()
    yield gate
    await gate.close()


async def test_next_request_after_revoke_is_refused_on_every_instance(
    start_instance, http, conn, tokens, slow_gate
):
    """One instance hears of revocations late (its listener sits behind a slow link), so only
    waiting for its acknowledgement can make the next request a 401 there."""
    instances = [
        await start_instance(),
        await start_instance(gateway={"listener_url": slow_gate.url}),
    ]
    slow_gate.delay = 0.2
    for _ in range(3):
        row, token = await credential_store.create(
            conn, account_id=tokens.account_a, kind=Kind.API, tier=Tier.READ,
            description="round", actor="test",
        )
        for gw in instances:
            assert await status_of(http, gw, token) == 200  # cached on both
        assert await credential_store.revoke(conn, row.id, actor="test")
        for gw in instances:
            assert await status_of(http, gw, token) == 401


async def test_the_wait_gives_up_on_a_listener_that_never_answers(conn, db_url, tokens):
    """A listener that stays silent (hung, half-open) cannot hold revocations hostage: the wait
    ends, and that gateway's cache loses its trust within its lease anyway."""
    silent = await asyncpg.connect(
        db_url, server_settings={"application_name": LISTENER_PREFIX + "silent"}
    )
    try:
        async with eviction_watch(conn) as watch:
            assert not await watch.wait(credentials.digest(tokens.read), within=0.3)
    finally:
        await silent.close()
