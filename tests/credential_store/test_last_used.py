"""Last used: collected in memory, written in batches (one row update per credential per
flush), with the client address and user agent; flushed on shutdown too (SPEC 6)."""

from __future__ import annotations

import aiohttp
from credpath import eventually, status_of

from usetix import credential_store, credentials


async def last_used(conn, token: str):
    return await conn.fetchrow(
        "SELECT last_used_at, last_used_address, last_used_user_agent FROM credentials"
        " WHERE digest = $1",
        credentials.digest(token),
    )


async def test_many_requests_make_one_batched_write(start_instance, http, conn, tokens):
    gw = await start_instance(gateway={"last_used_flush_interval": 0.2})
    stats = gw.verifier.stats
    for _ in range(20):
        status = await status_of(http, gw, tokens.rw, headers={"User-Agent": "mailchimp-sync/2"})
        assert status == 200
    assert await status_of(http, gw, tokens.read) == 200
    await eventually(lambda: stats.last_used_rows >= 2, what="a flush")
    assert stats.last_used_rows == 2  # 21 requests, two credentials: two row updates
    row = await last_used(conn, tokens.rw)
    assert row["last_used_at"] is not None
    assert row["last_used_address"] == "127.0.0.1"
    assert row["last_used_user_agent"] == "mailchimp-sync/2"
    assert (await last_used(conn, tokens.b))["last_used_at"] is None
    listed = {r.id: r for r in await credential_store.list_for_account(conn, tokens.account_a)}
    assert any(r.last_used_user_agent == "mailchimp-sync/2" for r in listed.values())


async def test_refused_requests_are_not_uses(start_instance, http, conn, tokens):
    gw = await start_instance(gateway={"last_used_flush_interval": 0.1})
    assert await status_of(http, gw, tokens.read, method="POST") == 401  # too weak
    assert await status_of(http, gw, tokens.revoked) == 401
    assert await status_of(http, gw, tokens.rw) == 200
    await eventually(lambda: gw.verifier.stats.last_used_flushes >= 1, what="a flush")
    assert (await last_used(conn, tokens.read))["last_used_at"] is None
    assert (await last_used(conn, tokens.revoked))["last_used_at"] is None


async def test_pending_uses_are_written_on_shutdown(start_instance, http, conn, tokens):
    gw = await start_instance(gateway={"last_used_flush_interval": 3600.0})
    assert await status_of(http, gw, tokens.rw) == 200
    assert (await last_used(conn, tokens.rw))["last_used_at"] is None
    await gw.close()
    assert (await last_used(conn, tokens.rw))["last_used_at"] is not None


async def test_behind_a_trusted_balancer_the_address_is_the_client_it_names(
    start_instance, conn, tokens
):
    gw = await start_instance(gateway={"trusted_proxies": ("127.0.0.2",)})
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector) as balancer:
        status = await status_of(
            balancer, gw, tokens.rw, headers={"X-Forwarded-For": "198.51.100.7"}
        )
    assert status == 200
    await gw.close()
    assert (await last_used(conn, tokens.rw))["last_used_address"] == "198.51.100.7"
