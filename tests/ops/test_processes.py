"""The real `usetix gateway` process: graceful drain on SIGTERM with streams in flight (FT-13),
a second SIGTERM (FT-14), and one process per core with one scrape for all (SPEC 7)."""

from __future__ import annotations

import asyncio
import json
import signal

import aiohttp
import pytest
from ops_wire import port_of, wait_ready
from prometheus_client.parser import text_string_to_metric_families


async def read_stream(http: aiohttp.ClientSession, url: str, started: asyncio.Event) -> bytes:
    async with http.get(url) as response:
        assert response.status == 200
        body = b""
        async for chunk in response.content.iter_any():
            body += chunk
            started.set()
        return body


async def test_sigterm_drains_streams_closes_idle_and_refuses_new(spawn_gateway, upstream):
    gateway = await spawn_gateway(upstream.url, shutdown_grace=15.0)
    async with aiohttp.ClientSession() as http:
        await wait_ready(http, gateway.ops_url)
        starts = [asyncio.Event() for _ in range(5)]
        streams = [
            asyncio.create_task(
                read_stream(http, gateway.public_url + "/live/stream?n=10&gap=0.3", started)
            )
            for started in starts
        ]
        for started in starts:
            await asyncio.wait_for(started.wait(), 5)
        # An idle keep-alive connection, after one answered request.
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gateway.public_url))
        writer.write(b"GET /public HTTP/1.1\r\nHost: t\r\n\r\n")
        await writer.drain()
        first = await asyncio.wait_for(reader.readuntil(b'"bytes": 0}'), 5)
        assert first.startswith(b"HTTP/1.1 200")

        gateway.signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        async with http.get(gateway.ops_url + "/readyz") as response:
            assert response.status == 503
            assert (await response.json())["checks"]["draining"] is True
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port_of(gateway.public_url))
        assert await asyncio.wait_for(reader.read(), 2) == b""  # idle keep-alive closed
        writer.close()

        bodies = await asyncio.gather(*streams)
    assert all(body.count(b"data: ") == 10 for body in bodies)
    assert await asyncio.to_thread(gateway.wait, 20) == 0
    if gateway.pump is not None:
        gateway.pump.join(5)
    logged = [json.loads(line) for line in gateway.lines if '"event":"request"' in line]
    streamed = [line for line in logged if line["status"] == 200 and line["duration_ms"] > 2500]
    assert len(streamed) == 5  # the drained streams were logged, flushed at exit


async def test_stragglers_are_cut_after_the_grace_period(spawn_gateway, upstream):
    gateway = await spawn_gateway(upstream.url, shutdown_grace=1.0)
    async with aiohttp.ClientSession() as http:
        await wait_ready(http, gateway.ops_url)
        started = asyncio.Event()
        stream = asyncio.create_task(
            read_stream(http, gateway.public_url + "/live/stream?n=40&gap=0.2", started)
        )
        await asyncio.wait_for(started.wait(), 5)
        gateway.signal(signal.SIGTERM)
        # Cut, and never in a way that looks complete (no final chunk).
        with pytest.raises(aiohttp.ClientPayloadError):
            await stream
    assert await asyncio.to_thread(gateway.wait, 10) == 0


async def test_a_second_sigterm_exits_at_once(spawn_gateway, upstream):
    gateway = await spawn_gateway(upstream.url, shutdown_grace=60.0)
    async with aiohttp.ClientSession() as http:
        await wait_ready(http, gateway.ops_url)
        started = asyncio.Event()
        stream = asyncio.create_task(
            read_stream(http, gateway.public_url + "/live/stream?n=100&gap=0.2", started)
        )
        await asyncio.wait_for(started.wait(), 5)
        gateway.signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        gateway.signal(signal.SIGTERM)
        assert await asyncio.to_thread(gateway.wait, 3) == 143
        with pytest.raises(aiohttp.ClientPayloadError):
            await stream


async def test_workers_share_the_port_and_one_scrape_shows_them_all(spawn_gateway, upstream):
    gateway = await spawn_gateway(upstream.url, "--workers", "2")
    connector = aiohttp.TCPConnector(force_close=True)  # a new connection per request
    async with aiohttp.ClientSession(connector=connector) as http:
        await wait_ready(http, gateway.ops_url)
        for _ in range(60):
            async with http.get(gateway.public_url + "/public") as response:
                assert response.status == 200
        async with http.get(gateway.ops_url + "/metrics") as response:
            text = await response.text()
    served = {}
    workers_seen = set()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if "worker" in sample.labels:
                workers_seen.add(sample.labels["worker"])
            if sample.name == "gateway_requests_total" and sample.labels["outcome"] == "public":
                served[sample.labels["worker"]] = served.get(sample.labels["worker"], 0) + (
                    sample.value
                )
    assert workers_seen >= {"0", "1"}
    assert sum(served.values()) == 60
    assert all(value > 0 for value in served.values()) and len(served) == 2
    gateway.signal(signal.SIGTERM)
    assert await asyncio.to_thread(gateway.wait, 30) == 0
    pids = {json.loads(line)["pid"] for line in gateway.lines if '"listening"' in line}
    assert len(pids) == 3  # the supervisor and two workers
