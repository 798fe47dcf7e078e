"""Limits and deadlines: header read deadline (LD-04), head size (BI-08, MH-08), body limits
enforced while streaming (LD-07), body idle deadline (LD-05), start-up checks (SEC-21)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os

import aiohttp
import pytest
from ops_wire import body_of, cli_env, port_of, raw, run_cli, status_of

from gateway.preflight import StartupRefused, check_runtime

JSON = {"Accept": "application/json"}


def head(target: str, *lines: str) -> bytes:
    text = f"POST {target} HTTP/1.1\r\nHost: t\r\n" + "".join(f"{line}\r\n" for line in lines)
    return (text + "\r\n").encode()


async def test_a_slow_head_gets_408_and_is_closed_at_the_deadline(serve, upstream):
    running = await serve(upstream.url, header_read_timeout=0.5)
    port = port_of(running.public_url)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /public HTTP/1.1\r\nHost: t\r\nX-Slow: ")
    await writer.drain()
    started = asyncio.get_running_loop().time()
    answer = await asyncio.wait_for(reader.read(), 5)
    waited = asyncio.get_running_loop().time() - started
    writer.close()
    assert status_of(answer) == 408
    assert json.loads(body_of(answer)) == {
        "error": "request_timeout",
        "detail": "the request head took too long",
    }
    assert 0.3 < waited < 3
    assert upstream.received == []


async def test_a_silent_connection_is_closed_at_the_deadline(serve, upstream):
    running = await serve(upstream.url, header_read_timeout=0.5)
    answer, closed = await raw(port_of(running.public_url), b"", quiet=3)
    assert (answer, closed) == (b"", True)


async def test_the_deadline_does_not_touch_a_client_that_keeps_its_connection(serve, upstream):
    running = await serve(upstream.url, header_read_timeout=0.5)
    async with aiohttp.ClientSession() as http:
        for _ in range(3):
            async with http.get(running.public_url + "/public") as response:
                assert response.status == 200
            await asyncio.sleep(0.3)  # idle keep-alive is not a slow head


@pytest.mark.parametrize(
    "extra",
    [
        [f"X-Big: {'a' * 9000}"],
        [f"X-{i}: 1" for i in range(129)],
        [f"X-{i}: 1" for i in range(10_000)],
    ],
    ids=["9k-field", "129-fields", "10000-fields"],
)
async def test_oversized_heads_get_431(serve, upstream, extra):
    running = await serve(upstream.url)
    answer, closed = await raw(port_of(running.public_url), head("/public", *extra))
    assert status_of(answer) == 431
    assert closed
    assert upstream.received == []


@pytest.mark.parametrize("length", [9000, 100_000], ids=["9k-in-one-read", "100k"])
async def test_an_over_long_request_line_gets_414_not_431(serve, upstream, length):
    # 431 names header fields; a target over gateway.max_header_line is 414 URI Too Long,
    # also when the whole head (request line and headers) arrives in one read.
    running = await serve(upstream.url)
    data = head("/public/" + "a" * length, "X-After: 1")
    answer, closed = await raw(port_of(running.public_url), data)
    assert status_of(answer) == 414
    assert json.loads(body_of(answer)) == {"error": "uri_too_long"}
    assert closed
    assert upstream.received == []


async def test_declared_body_over_the_limit_is_413_before_the_upstream(serve, upstream, tokens):
    running = await serve(upstream.url, max_body_account=1000)
    answer, closed = await raw(
        port_of(running.public_url),
        head("/admin/x", "Accept: application/json", f"Authorization: Bearer {tokens.rw}",
             "Content-Length: 100000") + b"x" * 2000,
        quiet=5,  # the server lingers a moment for the unread body, then closes
    )
    assert status_of(answer) == 413
    assert json.loads(body_of(answer))["error"] == "payload_too_large"
    assert closed
    assert upstream.received == []


async def test_expect_continue_over_the_limit_is_413_without_100_continue(
    serve, upstream, tokens
):
    running = await serve(upstream.url, max_body_account=1000)
    answer, _ = await raw(
        port_of(running.public_url),
        head("/admin/x", "Accept: application/json", f"Authorization: Bearer {tokens.rw}",
             "Content-Length: 100000000", "Expect: 100-continue"),
    )
    assert b"100 Continue" not in answer
    assert status_of(answer) == 413
    assert upstream.received == []


async def test_streamed_body_over_the_limit_is_413_and_the_upload_is_aborted(
    serve, upstream, tokens
):
    running = await serve(upstream.url, max_body_account=100_000)
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(running.public_url))
    writer.write(head("/admin/x", "Accept: application/json",
                      f"Authorization: Bearer {tokens.rw}", "Transfer-Encoding: chunked"))
    chunk = b"%x\r\n%s\r\n" % (10_000, b"y" * 10_000)
    try:
        for _ in range(50):  # 500 kB offered, 100 kB allowed
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert status_of(answer) == 413
    await asyncio.sleep(0.2)
    assert upstream.received == []  # never a complete request with a partial body


async def test_body_under_the_limit_arrives_byte_identical(serve, upstream, tokens):
    running = await serve(upstream.url, max_body_account=950_000)
    body = os.urandom(900_000)  # the test upstream itself takes up to 1 MiB

    async def chunks():
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    async with aiohttp.ClientSession() as http:
        for data in (io.BytesIO(body), chunks()):
            async with http.post(
                running.public_url + "/admin/upload",
                data=data,
                headers={**JSON, "Authorization": f"Bearer {tokens.rw}"},
            ) as response:
                assert response.status == 200
    digest = hashlib.sha256(body).hexdigest()
    assert [r[2] for r in upstream.received] == [digest, digest]


async def test_a_stalled_body_gets_408_and_the_upstream_sees_nothing(serve, upstream, tokens):
    running = await serve(upstream.url, body_idle_timeout=0.5)
    answer, closed = await raw(
        port_of(running.public_url),
        head("/admin/x", "Accept: application/json", f"Authorization: Bearer {tokens.rw}",
             "Content-Length: 1000") + b"z" * 10,
        quiet=4,
    )
    assert status_of(answer) == 408
    assert closed
    await asyncio.sleep(0.2)
    assert upstream.received == []


def test_runtime_checks_refuse_old_aiohttp_python_parser_and_dev_mode():
    check_runtime()  # this environment is fine
    with pytest.raises(StartupRefused, match=r"older than 3\.14\.4"):
        check_runtime(aiohttp_version="3.14.3")
    with pytest.raises(StartupRefused, match="C HTTP parser"):
        check_runtime(parser_module="aiohttp.http_parser")
    with pytest.raises(StartupRefused, match="dev mode"):
        check_runtime(dev_mode=True)


def test_the_gateway_refuses_to_start_with_the_pure_python_parser(settings):
    result = run_cli(
        "gateway", "--port", "0", "--ops-port", "0", "--workers", "1",
        env=cli_env(settings, AIOHTTP_NO_EXTENSIONS="1"),
    )
    assert result.returncode != 0
    assert "C HTTP parser" in result.stderr
