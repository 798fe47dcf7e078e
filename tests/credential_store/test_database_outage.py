"""Postgres stopped and started again under a running gateway (a server of the test's own):
fail closed while it is down, recover without a restart (BH-039, FT-01, FT-02, FT-03)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from credpath import call, eventually, status_of
from tcp_gate import TcpGate
from throwaway_pg import ThrowawayPostgres

from usetix import credentials
from usetix.service import POOL


@pytest.fixture(scope="module")
def throwaway() -> Iterator[ThrowawayPostgres]:
    with tempfile.TemporaryDirectory(prefix="usetix-outage-") as folder:
        server = ThrowawayPostgres(Path(folder))
        server.init()
        server.start()
        try:
            yield server
        finally:
            server.stop("immediate")


@pytest.fixture(scope="module")
def server_url(throwaway: ThrowawayPostgres) -> str:
    """Overrides the suite's server for this module: these tests stop and start it."""
    return throwaway.url


@pytest.fixture
async def gate(db_url: str) -> TcpGate:
    gate = TcpGate(db_url)
    await gate.start()
    yield gate
    await gate.close()


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_postgres_restart_fails_closed_then_recovers(
    throwaway, start_instance, http, upstream, tokens, db_url, gate, mode
):
    gw = await start_instance(
        database={"acquire_timeout": 1.0, "command_timeout": 2.0},
        gateway={"listener_url": gate.url, "listener_reconnect_max_delay": 0.5},
    )
    assert await status_of(http, gw, tokens.rw) == 200  # cached, trusted
    forwarded = len(upstream.received)

    throwaway.stop(mode)
    await eventually(lambda: not gw.verifier.ready, what="listener loss noticed")
    for token in (tokens.b, tokens.rw, tokens.revoked):  # uncached, cached, revoked
        status, headers, body = await call(http, gw, token)
        assert status == 503, token
        assert headers["Retry-After"]
        assert "WWW-Authenticate" not in headers
        assert body["error"] == "unavailable"
    assert len(upstream.received) == forwarded  # nothing unverified was forwarded
    html = await call(http, gw, None, headers={"Accept": "text/html"})
    assert html[0] == 200  # the HTML path needs no database

    gate.refusing = True  # hold the listener off after the restart
    throwaway.start()
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            "UPDATE credentials SET revoked_at = now() WHERE digest = $1",
            credentials.digest(tokens.rw),
        )
        # Listener still down: no push reaches the gateway, but the cache is not trusted.
        await eventually(
            lambda: status_of(http, gw, tokens.read), what="pool back", within=10.0
        )
        assert await status_of(http, gw, tokens.read) == 200
        assert await status_of(http, gw, tokens.rw) == 401
        assert not gw.verifier.ready

        gate.refusing = False
        await gw.wait_ready()
        assert await status_of(http, gw, tokens.rw) == 401
        for token in (tokens.read, tokens.b):
            assert await status_of(http, gw, token) == 200
        listener = gw.verifier.listener
        assert listener is not None
        sessions = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            listener.application_name,
        )
        assert sessions == 1
        pool = gw.app[POOL]
        assert pool.get_size() <= gw.settings.database.pool_max_size
        assert gw.verifier.stats.listener_reconnects >= 1
    finally:
        await conn.close()
