"""Revocation pushed to every gateway instance (SPEC 6): whoever revokes (CLI, plain SQL), on
every instance, on fresh and reused connections, and across a lost listener connection."""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from credpath import KeepAliveClient, call, eventually, run_cli, status_of
from tcp_gate import TcpGate

from usetix import credentials

DIGEST_OF = credentials.digest


async def credential_id(conn: asyncpg.Connection, token: str) -> int:
    return await conn.fetchval("SELECT id FROM credentials WHERE digest = $1", DIGEST_OF(token))


async def listener_sessions(conn: asyncpg.Connection, application_name: str) -> list[int]:
    rows = await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1", application_name
    )
    return [row["pid"] for row in rows]


async def test_cli_revoke_is_refused_by_every_instance_on_fresh_and_reused_connections(
    start_instance, http, conn, settings, db_url, tokens
):
    """SEC-09: two instances on one database; `usetix revoke-token` as a real subprocess."""
    instances = [await start_instance(), await start_instance()]
    kept = [KeepAliveClient(gw.port) for gw in instances]
    try:
        for gw, client in zip(instances, kept, strict=True):
            assert await status_of(http, gw, tokens.rw) == 200  # cached now
            assert await client.get(tokens.rw) == 200
        await run_cli(settings, db_url, "revoke-token", str(await credential_id(conn, tokens.rw)))
        for gw, client in zip(instances, kept, strict=True):
            assert await client.get(tokens.rw) == 401  # the same keep-alive connection
            assert client.requests == 2
            status, headers, body = await call(
                http, gw, tokens.rw, headers={"Connection": "close"}  # a fresh connection
            )
            assert (status, body["reason"]) == (401, "invalid_token")
            assert 'error="invalid_token"' in headers["WWW-Authenticate"]
            assert await status_of(http, gw, tokens.read) == 200  # others unaffected
    finally:
        for client in kept:
            await client.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE credentials SET revoked_at = now() WHERE digest = $1",
        "DELETE FROM credentials WHERE digest = $1",
    ],
    ids=["update", "delete"],
)
async def test_revocation_by_plain_sql_reaches_the_cache(
    start_instance, http, conn, tokens, statement
):
    """BH-033: the NOTIFY comes from the trigger, not from application code. The cache was
    warmed through three spellings of the header: all share the digest's entry."""
    gw = await start_instance()
    for spelling in ("Bearer {t}", "bearer {t}", "Bearer  {t}"):
        auth = {"Authorization": spelling.format(t=tokens.rw)}
        assert (await call(http, gw, None, headers=auth))[0] == 200
    await conn.execute(statement, DIGEST_OF(tokens.rw))
    statuses = []

    async def refused_in_every_spelling() -> bool:
        statuses.clear()
        for spelling in ("Bearer {t}", "bearer {t}", "Bearer  {t}"):
            auth = {"Authorization": spelling.format(t=tokens.rw)}
            statuses.append((await call(http, gw, None, headers=auth))[0])
        return statuses == [401, 401, 401]

    await eventually(refused_in_every_spelling, what="401 in every spelling", within=2.0)
    assert gw.verifier.stats.revocation_notifications >= 1


async def test_downgrade_by_sql_is_pushed(start_instance, http, conn, tokens):
    """BH-033 variant: RW -> READ in SQL; the next POST is refused for its scope."""
    gw = await start_instance()
    assert await status_of(http, gw, tokens.rw, method="POST") == 200
    await conn.execute(
        "UPDATE credentials SET tier = 'read' WHERE digest = $1", DIGEST_OF(tokens.rw)
    )

    async def scope_refused() -> bool:
        status, _, body = await call(http, gw, tokens.rw, method="POST")
        return status == 401 and body["reason"] == "insufficient_scope"

    await eventually(scope_refused, what="POST refused after the downgrade", within=2.0)
    assert await status_of(http, gw, tokens.rw) == 200  # still a valid read token


async def test_killed_listener_backend_reconnects_and_revocations_hold(
    start_instance, http, conn, tokens
):
    """BH-035 / FT-03: pg_terminate_backend on the LISTEN session; a revocation by SQL around
    the gap is honoured; the listener is back on a new backend, exactly one of it."""
    gw = await start_instance()
    listener = gw.verifier.listener
    assert listener is not None
    assert await status_of(http, gw, tokens.rw) == 200
    old_pid = listener.backend_pid
    assert await listener_sessions(conn, listener.application_name) == [old_pid]
    await conn.execute("SELECT pg_terminate_backend($1)", old_pid)
    # The gateway learns of the kill when the socket closes (milliseconds; longer on a loaded
    # machine); a revocation committed inside that window is the one case covered by the
    # trust lease alone (docs/decisions.md).
    await eventually(
        lambda: not gw.verifier.ready or listener.backend_pid != old_pid,
        what="listener loss noticed",
    )
    await conn.execute(
        "UPDATE credentials SET revoked_at = now() WHERE digest = $1", DIGEST_OF(tokens.rw)
    )
    assert await status_of(http, gw, tokens.rw) == 401  # bypassed (DB) or flushed: never 200
    await eventually(
        lambda: gw.verifier.ready and listener.backend_pid not in (None, old_pid),
        what="listener back on a new backend",
    )
    assert await status_of(http, gw, tokens.rw) == 401
    assert await listener_sessions(conn, listener.application_name) == [listener.backend_pid]
    assert gw.verifier.stats.listener_reconnects >= 1


def _on_other_database(url: str, conn_dbname: str) -> str:
    parts = urlsplit(url)
    other = "template1" if conn_dbname == "postgres" else "postgres"
    return urlunsplit(parts._replace(path="/" + other))


@pytest.fixture
async def gate(db_url):
    gate = TcpGate(db_url)
    await gate.start()
    yield gate
    await gate.close()


async def test_revocation_during_the_listener_gap_is_honoured_after_reconnect(
    start_instance, http, conn, tokens, gate
):
    """BH-036: the listener is held down (its route to Postgres refuses), TOKEN_X is revoked
    meanwhile and no NOTIFY reaches anyone; during the gap every lookup goes to the database;
    after reconnecting, the cache is flushed, so TOKEN_X stays refused."""
    gw = await start_instance(gateway={"listener_url": gate.url})
    assert await status_of(http, gw, tokens.rw) == 200
    assert await status_of(http, gw, tokens.read) == 200
    gate.refusing = True
    gate.cut()
    await eventually(lambda: not gw.verifier.ready, what="listener loss noticed")
    await conn.execute(
        "UPDATE credentials SET revoked_at = now() WHERE digest = $1", DIGEST_OF(tokens.rw)
    )
    stats = gw.verifier.stats
    hits, lookups = stats.cache_hits, stats.db_lookups
    for _ in range(3):
        assert await status_of(http, gw, tokens.rw) == 401
        assert await status_of(http, gw, tokens.read) == 200
    assert stats.cache_hits == hits  # nothing answered from the untrusted cache
    assert stats.db_lookups == lookups + 6
    await asyncio.sleep(1.0)  # the gap lasts: several reconnection attempts are refused
    assert not gw.verifier.ready
    gate.refusing = False
    await gw.wait_ready()
    assert await status_of(http, gw, tokens.rw) == 401
    assert await status_of(http, gw, tokens.read) == 200


async def test_half_open_listener_connection_is_noticed_by_the_heartbeat(
    start_instance, http, conn, tokens, gate
):
    """BH-035 half-open: the listener's packets vanish, nothing is closed. The heartbeat
    stops trusting the cache within interval + timeout, and a revocation made then is seen."""
    gw = await start_instance(
        gateway={
            "listener_url": gate.url,
            "listener_heartbeat_interval": 0.2,
            "listener_heartbeat_timeout": 0.3,
        }
    )
    assert await status_of(http, gw, tokens.rw) == 200
    gate.silent = True
    await eventually(lambda: not gw.verifier.ready, what="half-open connection noticed")
    await conn.execute(
        "UPDATE credentials SET revoked_at = now() WHERE digest = $1", DIGEST_OF(tokens.rw)
    )
    assert await status_of(http, gw, tokens.rw) == 401
    gate.silent = False
    gate.cut()
    await gw.wait_ready()
    assert await status_of(http, gw, tokens.rw) == 401


async def test_pool_churn_never_touches_the_listener(start_instance, http, conn, tokens):
    """BH-037: idle pool connections expire constantly while 2,000 requests with distinct
    unknown tokens go through; the one LISTEN session (same pid) still delivers."""
    gw = await start_instance(database={"pool_max_inactive_lifetime": 0.05})
    listener = gw.verifier.listener
    assert listener is not None
    pid = listener.backend_pid

    async def burst(n: int) -> None:
        for _ in range(n):
            assert await status_of(http, gw, "legacy" + secrets.token_hex(12)) == 401

    await asyncio.gather(*(burst(100) for _ in range(20)))
    assert await status_of(http, gw, tokens.rw) == 200
    await conn.execute(
        "UPDATE credentials SET revoked_at = now() WHERE digest = $1", DIGEST_OF(tokens.rw)
    )
    await eventually(
        lambda: gw.verifier.stats.revocation_notifications >= 1, what="revocation pushed"
    )
    assert await status_of(http, gw, tokens.rw) == 401
    assert listener.backend_pid == pid
    assert await listener_sessions(conn, listener.application_name) == [pid]
    assert gw.verifier.stats.listener_connects == 1


async def test_self_check_failure_keeps_the_gateway_unready_and_the_cache_unused(
    start_instance, http, conn, tokens, db_url
):
    """BH-038 / FT-05: the listener sits where the pool's NOTIFY never arrives (another
    database, as behind PgBouncer in transaction mode). The self-check fails, so the gateway
    never becomes ready and never trusts its cache; requests are still verified (database)."""
    dbname = await conn.fetchval("SELECT current_database()")
    gw = await start_instance(
        ready=False,
        gateway={
            "listener_url": _on_other_database(db_url, dbname),
            "listener_heartbeat_timeout": 0.3,
        },
    )
    await eventually(
        lambda: gw.verifier.stats.listener_failures >= 2, what="self-check failed twice"
    )
    assert not gw.verifier.ready
    assert await status_of(http, gw, tokens.rw) == 200
    assert await status_of(http, gw, tokens.rw) == 200
    assert gw.verifier.stats.cache_hits == 0
    assert gw.verifier.stats.db_lookups == 2
    await conn.execute(
        "UPDATE credentials SET revoked_at = now() WHERE digest = $1", DIGEST_OF(tokens.rw)
    )
    assert await status_of(http, gw, tokens.rw) == 401
