"""Bodies are streamed, never buffered whole, and a client that goes away releases the
upstream connection (SPEC 4; BH-010, BH-011). Ordering, not timing: the upstream emits the
next event only after the client has received the previous one through the gateway, so a
buffering gateway would never deliver anything."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest
from gateway_wire import plain_session, request_bytes

STEP = 10  # seconds: a bound against hanging, never a performance threshold


@pytest.mark.parametrize(
    ("accept", "identity"),
    [
        ("application/json", True),
        # BH-046 decision: an event stream listed first ties with JSON and the earliest wins,
        # so this is the HTML path: no identity, still streamed.
        ("text/event-stream, application/json", False),
    ],
)
async def test_bh010_events_reach_the_client_before_the_stream_ends(
    gateway, recorder, tokens, accept, identity
):
    headers = {"Accept": accept, "Authorization": f"Bearer {tokens.read}"}
    async with plain_session() as http:
        async with asyncio.timeout(STEP):
            resp = await http.get(gateway.url + "/admin/gated?n=3", headers=headers)
        async with resp:
            # Headers are here although the upstream has not emitted a single event yet.
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "text/event-stream"
            assert "Content-Length" not in resp.headers
            for i in range(3):
                recorder.gate.put_nowait(None)
                async with asyncio.timeout(STEP):
                    event = await resp.content.readuntil(b"\n\n")
                assert event == f"data: {i}\n\n".encode()
            async with asyncio.timeout(STEP):
                assert await resp.content.read() == b""
    assert bool(recorder.last.values("X-Usetix-Account")) is identity


async def test_bh010_request_body_of_unknown_length_is_streamed_upstream(gateway, recorder,
                                                                         tokens):
    # Under the default per-route body limit (1 MiB on account routes): sizes are not the point.
    size = 512 * 1024

    async def body():
        chunk = b"x" * 65536
        for _ in range(size // len(chunk)):
            yield chunk

    async with plain_session() as http:
        async with http.post(gateway.url + "/admin/upload", data=body(), headers={
            "Accept": "application/json", "Authorization": f"Bearer {tokens.rw}",
        }) as resp:
            assert resp.status == 200
    assert len(recorder.last.body) == size


async def reset_after_two_events(port: int, token: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request_bytes("GET", "/admin/stream?n=100000&gap=0.02", [
        ("Accept", "application/json"), ("Authorization", f"Bearer {token}"),
    ]))
    async with asyncio.timeout(STEP):
        await reader.readuntil(b"data: 0\n\n")
        await reader.readuntil(b"data: 1\n\n")
    sock = writer.get_extra_info("socket")
    # Linger 0: close with a TCP RST, as a crashed client or a dropped phone would.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def test_bh011_client_resets_release_the_upstream_connection(start_gateway, recorder,
                                                                   tokens):
    gateway = await start_gateway(recorder.url, upstream_pool_size=2)
    rounds = 20
    for _ in range(rounds):
        await reset_after_two_events(gateway.port, tokens.read)
    # Every abandoned stream is closed towards the upstream (a bound, not a threshold).
    for _ in range(STEP * 20):
        if recorder.closed_streams >= rounds:
            break
        await asyncio.sleep(0.05)
    assert recorder.closed_streams == rounds
    # With a pool of 2, one leaked connection would make this wait forever.
    async with plain_session() as http, asyncio.timeout(STEP):
        async with http.get(gateway.url + "/admin/report.json", headers={
            "Accept": "application/json", "Authorization": f"Bearer {tokens.read}",
        }) as resp:
            assert resp.status == 200
