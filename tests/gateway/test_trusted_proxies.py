"""A load balancer in front of the gateway (gateway.trusted_proxies): the client it names is
the client the upstream hears of (one X-Forwarded-For address) and the one the request log
records; from any other peer, and by default from every peer, a client's X-Forwarded-For is
dropped and the socket peer is the client.

The balancer is played by a client whose connections leave from 127.0.0.2; 127.0.0.3 is a
client that connects directly. The gateway listens on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiohttp
import pytest

from gateway.logs import ACCESS_LOGGER

BALANCER = "127.0.0.2"
DIRECT = "127.0.0.3"


@asynccontextmanager
async def client_from(address: str) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(local_addr=(address, 0), force_close=True)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        yield session


async def forwarded_for(gateway, recorder, source: str, *values: str, **extra: str) -> list[str]:
    """What X-Forwarded-For the upstream got for a request from `source` carrying `values`."""
    headers = [("X-Forwarded-For", value) for value in values]
    headers += list(extra.items())
    async with client_from(source) as http:
        async with http.get(gateway.url + "/admin/events", headers=headers) as response:
            assert response.status == 200
    return recorder.last.values("X-Forwarded-For")


CASES = {
    # name: (trusted_proxies, source, X-Forwarded-For lines, what the upstream gets)
    "from the balancer: the client it names": (
        (BALANCER,), BALANCER, ["198.51.100.7"], "198.51.100.7"),
    "from the balancer: the address the client typed is not believed": (
        (BALANCER,), BALANCER, ["6.6.6.6, 198.51.100.7"], "198.51.100.7"),
    "two balancer tiers: the inner one is skipped": (
        (BALANCER, "10.1.0.0/16"), BALANCER, ["198.51.100.7, 10.1.2.3"], "198.51.100.7"),
    "from the balancer, junk: the balancer": ((BALANCER,), BALANCER, ["junk"], BALANCER),
    "from the balancer, no header: the balancer": ((BALANCER,), BALANCER, [], BALANCER),
    "a direct client is not the balancer": ((BALANCER,), DIRECT, ["198.51.100.7"], DIRECT),
    "default, nobody trusted: the peer": ((), BALANCER, ["198.51.100.7"], BALANCER),
}


@pytest.mark.parametrize("case", CASES)
async def test_the_upstream_gets_exactly_one_address(start_gateway, recorder, case):
    trusted, source, values, expected = CASES[case]
    gateway = await start_gateway(recorder.url, trusted_proxies=trusted)
    assert await forwarded_for(gateway, recorder, source, *values) == [expected]


async def test_a_balancer_behind_a_balancer_on_separate_lines(start_gateway, recorder):
    gateway = await start_gateway(recorder.url, trusted_proxies=(BALANCER, "10.1.0.0/16"))
    got = await forwarded_for(gateway, recorder, BALANCER, "198.51.100.7", "10.1.2.3")
    assert got == ["198.51.100.7"]


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == ACCESS_LOGGER]


@pytest.mark.parametrize(
    ("ask", "status"),
    [
        (lambda tokens: {"Authorization": f"Bearer {tokens.rw}"}, 200),
        (lambda tokens: {"Authorization": "Bearer usx_unknown"}, 401),
    ],
    ids=["allowed", "refused"],
)
async def test_the_request_log_records_the_resolved_client(
    start_gateway, recorder, tokens, caplog, ask: Callable[..., dict[str, str]], status: int
):
    # A refused token is where an operator most needs the real client (token probing).
    caplog.set_level(logging.INFO)
    gateway = await start_gateway(recorder.url, trusted_proxies=(BALANCER,))
    headers = {"Accept": "application/json", "X-Forwarded-For": "198.51.100.7", **ask(tokens)}
    async with client_from(BALANCER) as http:
        async with http.get(gateway.url + "/admin/events", headers=headers) as response:
            assert response.status == status
    [line] = access_lines(caplog)
    assert line["client"] == "198.51.100.7"
