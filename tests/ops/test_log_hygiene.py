"""Logs: one JSON line per request, and no token, Authorization value or query string in any
log line or parser-error answer (BI-07, BI-08, BI-09, SEC-20)."""

from __future__ import annotations

import json
import logging
import secrets

import aiohttp
import pytest
from ops_wire import body_of, port_of, raw, status_of

from gateway.logs import ACCESS_LOGGER, request_line
from usetix.credentials import Kind, mint

JSON = {"Accept": "application/json"}


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == ACCESS_LOGGER]


@pytest.mark.parametrize(
    ("head", "status"),
    [
        # BI-09: the parser's message quotes the offending line, token included.
        (b"Authorization: Bearer SECRET\x00READ\r\n", 400),
        (b"Authorization: Bearer SECRET\rREAD\r\n", 400),
        (b"Authorization: Bearer SECRET\x7fREAD\r\n", 400),
        # BI-08: over max_field_size the parser quotes the first bytes of the value.
        (b"Authorization: Bearer SECRET" + b"A" * 9000 + b"\r\n", 431),
        (b"Authorization: Bearer SECRET\r\n" + b"X-Pad: 1\r\n" * 150, 431),
        # MH-01: conflicting framing, token in the same head.
        (b"Authorization: Bearer SECRET\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n",
         400),
        (b"Authorization : Bearer SECRET\r\n", 400),
    ],
    ids=["nul", "bare-cr", "del", "long-value", "many-headers", "cl-te", "space-before-colon"],
)
async def test_parser_errors_answer_generic_json_and_log_no_token(
    serve, upstream, caplog, head, status
):
    caplog.set_level(logging.DEBUG)
    token = mint(Kind.API)
    running = await serve(upstream.url)
    request = b"GET /admin/x?access_token=" + token.encode() + b" HTTP/1.1\r\nHost: t\r\n"
    response, closed = await raw(
        port_of(running.public_url), request + head.replace(b"SECRET", token.encode()) + b"\r\n"
    )
    assert status_of(response) == status
    assert json.loads(body_of(response))["error"] in (
        "bad_request",
        "request_header_fields_too_large",
    )
    assert closed
    assert token.encode() not in response
    assert token not in caplog.text
    assert upstream.received == []
    [line] = access_lines(caplog)
    assert line["event"] == "refused" and line["status"] == status


async def test_request_line_has_ids_classes_durations_and_no_secrets(
    serve, upstream, tokens, caplog
):
    caplog.set_level(logging.INFO)
    running = await serve(upstream.url)
    async with aiohttp.ClientSession() as http:
        async with http.get(
            running.public_url + f"/admin/events?access_token={tokens.rw}&q=private",
            headers={**JSON, "Authorization": f"Bearer {tokens.rw}", "X-Request-Id": "req-1"},
        ) as response:
            assert response.status == 200
    [line] = access_lines(caplog)
    assert line["request_id"] == "req-1"
    assert line["route_class"] == "account"
    assert line["outcome"] == "ok"
    assert line["status"] == 200
    assert line["account_id"] == tokens.account_a
    assert isinstance(line["credential_id"], int)
    assert line["client"] == "127.0.0.1"
    assert line["upstream"] == "app"
    assert "path" not in line  # a client can put a token in the path too
    assert line["duration_ms"] >= line["upstream_ms"] >= 0
    assert tokens.rw not in caplog.text and "private" not in caplog.text
    # aiohttp's own access log (it logs the query string) is off.
    assert not [r for r in caplog.records if r.name == "aiohttp.access"]


async def test_no_issued_token_appears_in_any_log_or_metric(serve, upstream, tokens, caplog):
    """SEC-20: many requests with every kind of token in every place a client can put one;
    then every captured log line and the whole /metrics output are searched for each."""
    caplog.set_level(logging.DEBUG)
    running = await serve(upstream.url)
    unknown = [mint(Kind.API) for _ in range(20)] + [secrets.token_urlsafe(24) for _ in range(20)]
    issued = [tokens.rw, tokens.read, tokens.b, tokens.scanner, tokens.revoked, *unknown]
    port = port_of(running.public_url)
    async with aiohttp.ClientSession() as http:
        for token in issued:
            for method, path in (("GET", "/admin/events"), ("POST", "/admin/events"),
                                 ("GET", "/scanner/x"), ("GET", "/public"),
                                 ("GET", f"/admin/{token}"), ("DELETE", "/settings/x")):
                for accept in ("application/json", "text/html"):
                    async with http.request(
                        method,
                        running.public_url + f"{path}?access_token={token}",
                        headers={"Accept": accept, "Authorization": f"Bearer {token}"},
                        data=f"access_token={token}" if method == "POST" else None,
                    ) as response:
                        await response.read()
            # Malformed on the wire: the parser's own error path.
            await raw(port, b"GET / HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer "
                      + token.encode() + b"\x00\r\n\r\n", quiet=0.5)
        async with http.get(running.ops_url + "/metrics") as response:
            exposition = await response.text()
    logged = caplog.text
    assert len(access_lines(caplog)) >= len(issued) * 12
    leaked = [t for t in issued if t in logged or t in exposition]
    assert leaked == []
    assert "access_token" not in logged


def test_request_line_is_one_json_line():
    line = request_line(
        request_id="r", method="GET\n", route_class="public", upstream="app", outcome="public",
        status=200, duration=0.0012, upstream_duration=None, upstream_error=None,
        account_id=None, credential_id=None, credential_kind=None, client="10.0.0.1",
    )
    assert "\n" not in line
    assert json.loads(line)["method"] == "other"
