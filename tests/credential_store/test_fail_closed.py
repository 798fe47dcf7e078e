"""The credential store cannot answer: 503 with Retry-After, never 401, never forwarded; and
what could be answered safely still is (FT-06, FT-07)."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import pytest
from credpath import call, eventually, status_of

from usetix.service import POOL


def assert_unavailable(status: int, headers: dict[str, str], body: dict) -> None:
    assert status == 503
    assert headers["Retry-After"]
    assert "WWW-Authenticate" not in headers
    assert body["error"] == "unavailable"


@pytest.mark.parametrize(
    "timeouts",
    [
        {"statement_timeout": 0.3, "command_timeout": 5.0},
        {"statement_timeout": 5.0, "command_timeout": 0.3},
    ],
    ids=["statement_timeout", "command_timeout"],
)
async def test_slow_database_is_503_and_gives_its_connections_back(
    start_instance, http, upstream, conn, db_url, tokens, timeouts
):
    """FT-06: the credentials table is locked, so the lookup waits until a timeout fires."""
    gw = await start_instance(database=timeouts)
    locker = await asyncpg.connect(db_url)
    locked = locker.transaction()
    await locked.start()
    try:
        await locker.execute("LOCK TABLE credentials IN ACCESS EXCLUSIVE MODE")
        assert_unavailable(*await call(http, gw, tokens.rw))
        assert upstream.received == []

        async def nothing_left_waiting() -> bool:
            # The statement was cancelled in Postgres too (57014), not merely abandoned.
            waiting = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                " AND wait_event_type = 'Lock' AND query LIKE '%FROM credentials WHERE digest%'"
                " AND datname = current_database() AND application_name = 'usetix'"
            )
            return waiting == 0

        await eventually(nothing_left_waiting, what="the lookup cancelled in Postgres")
    finally:
        await locked.rollback()
        await locker.close()
    assert await status_of(http, gw, tokens.rw) == 200
    pool = gw.app[POOL]
    assert pool.get_idle_size() == pool.get_size()  # every connection back in the pool


async def test_exhausted_pool_serves_cached_tokens_and_refuses_the_rest_with_503(
    start_instance, http, upstream, tokens
):
    """FT-07: every pool connection is held elsewhere. A cached token (listener healthy)
    still passes; an uncached one gets 503 once the acquire timeout runs out."""
    gw = await start_instance(database={"pool_max_size": 2, "acquire_timeout": 0.3})
    assert await status_of(http, gw, tokens.rw) == 200
    pool = gw.app[POOL]
    held = [await pool.acquire() for _ in range(2)]
    try:
        assert await status_of(http, gw, tokens.rw) == 200
        forwarded = len(upstream.received)
        answers = await asyncio.gather(
            call(http, gw, tokens.read),
            *(call(http, gw, "legacy" + secrets.token_hex(12)) for _ in range(10)),
        )
        for answer in answers:
            assert_unavailable(*answer)
        assert len(upstream.received) == forwarded
    finally:
        for connection in held:
            await pool.release(connection)
    assert await status_of(http, gw, tokens.read) == 200
