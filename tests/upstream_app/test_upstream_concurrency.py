"""Races a door and a box office really have: simultaneous sales at capacity, a ticket
scanned at two doors at once, and a database that cannot answer."""

from __future__ import annotations

import asyncio
from collections import Counter

from upstream_helpers import Api

from upstream_app.app import create_app
from usetix import db


async def test_concurrent_sales_never_pass_capacity(api, conn, cast):
    event = await api.new_event(cast.a_rw, capacity=3)
    target = f"/admin/events/{event['id']}/tickets"
    responses = await asyncio.gather(
        *(api.call("POST", target, cast.a_rw, body={"holder_name": f"n{i}"}) for i in range(10))
    )
    assert Counter(r.status for r in responses) == {201: 3, 409: 7}
    assert await conn.fetchval("SELECT count(*) FROM tickets") == 3


async def test_simultaneous_scans_admit_once(api, conn, cast):
    event = await api.new_event(cast.a_rw)
    ticket = await api.new_ticket(cast.a_rw, event["id"])
    responses = await asyncio.gather(
        *(api.call("POST", "/scanner/checkins", cast.a_scanner, body={"code": ticket["code"]})
          for _ in range(5))
    )
    assert Counter(r.status for r in responses) == {200: 1, 409: 4}
    assert await conn.fetchval("SELECT count(*) FROM checkins") == 1


async def test_no_free_connection_is_503(aiohttp_client, settings, cast):
    settings = settings.replace(
        database={"acquire_timeout": 0.2, "pool_min_size": 1, "pool_max_size": 1}
    )
    pool = await db.create_pool(settings.database.url, settings.database)
    try:
        client = await aiohttp_client(create_app(settings, pool=pool))
        async with pool.acquire():
            response = await Api(client, settings).call("GET", "/admin/events", cast.a_rw)
        assert response.status == 503
        assert response.headers["Retry-After"] == "1"
        assert await response.json() == {"error": "unavailable"}
    finally:
        await pool.close()
