"""What reaches the upstream, sent as exact bytes through the real gateway (SPEC 4; BH-003,
BH-004, BH-012, BH-013, BH-020, BH-022, SEC-01..06)."""

from __future__ import annotations

import pytest
from gateway_wire import parse_responses, raw_exchange, request_bytes, status_lines

JSON = ("Accept", "application/json")
HTML = ("Accept", "text/html")


async def send(gateway, method, target, headers, body=b"", host="gw.test"):
    data = request_bytes(method, target, [*headers, ("Connection", "close")], body, host=host)
    [response] = parse_responses(await raw_exchange(gateway.port, data), [method])
    return response


def trusted(received) -> list[tuple[str, str]]:
    return [(k, v) for k, v in received.headers if k.lower().replace("_", "-").startswith(
        "x-usetix-")]


def bearer(token: str) -> tuple[str, str]:
    return ("Authorization", f"Bearer {token}")


async def test_bh003_sec04_hop_by_hop_request_headers_stay_here(gateway, recorder, tokens):
    response = await send(gateway, "GET", "/admin/items", [
        JSON, bearer(tokens.read),
        ("Connection", "keep-alive, X-Foo"),
        ("Keep-Alive", "timeout=5"),
        ("TE", "trailers"),
        ("Trailer", "X-Foo"),
        ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
        ("Proxy-Connection", "keep-alive"),
        ("X-Foo", "1"),
    ])
    assert response.status == 200
    got = recorder.last
    for name in ("Keep-Alive", "TE", "Trailer", "Proxy-Authorization", "Proxy-Connection",
                 "X-Foo", "Authorization"):
        assert got.values(name) == [], name
    # The gateway's own client may say how it manages its connection, nothing the client said.
    assert all("X-Foo" not in v and "timeout=5" not in v for v in got.values("Connection"))
    assert got.values("X-Usetix-Account") == [str(tokens.account_a)]


async def test_bh004_connection_nominated_headers_removed_before_injection(gateway, recorder,
                                                                           tokens):
    response = await send(gateway, "GET", "/admin/items", [
        JSON, bearer(tokens.read),
        ("Connection", "keep-alive, X-Hop-Test, X-Usetix-Account, X-Forwarded-For"),
        ("X-Hop-Test", "must-not-forward"),
    ])
    assert response.status == 200
    got = recorder.last
    assert got.values("X-Hop-Test") == []
    assert got.values("X-Usetix-Account") == [str(tokens.account_a)]
    assert got.values("X-Forwarded-For") == ["127.0.0.1"]


@pytest.mark.parametrize(
    "connection",
    ["X-Account-Id", "close, Authorization, X-Account-Id", "X-Usetix-Account, X-Usetix-Proof",
     "Host", "Content-Length"],
)
async def test_sec03_connection_cannot_remove_injected_or_defining_headers(
    gateway, recorder, tokens, connection
):
    response = await send(gateway, "POST", "/admin/items?x=1", [
        JSON, bearer(tokens.rw), ("Connection", connection), ("X-Account-Id", "B"),
        ("Content-Type", "application/json"),
    ], body=b'{"a": 1}')
    assert response.status == 200
    got = recorder.last
    assert got.values("Connection") == [] or "X-Account-Id" not in got.values("Connection")[0]
    assert got.values("X-Account-Id") == []
    assert got.values("X-Usetix-Account") == [str(tokens.account_a)]
    assert got.values("X-Usetix-Proof") != []
    assert got.values("Host") == ["gw.test"]
    assert got.values("Content-Length") == ["8"]
    assert got.values("Transfer-Encoding") == []
    assert got.body == b'{"a": 1}'


CLIENT_IDENTITY_HEADERS = [
    ("X-Usetix-Account", "B"),
    ("X-Forwarded-User", "b-user"),
    ("X-Forwarded-Email", "b@example.invalid"),
    ("X-Auth-Request-User", "b-user"),
    ("X-Auth-Request-Email", "b@example.invalid"),
    ("X-Remote-User", "b-user"),
    ("Remote-User", "b-user"),
    ("X-User-Id", "B"),
    # SEC-02 spellings and copies.
    ("x-usetix-account", "B"),
    ("X-USETIX-ACCOUNT", "B"),
    ("X_Usetix_Account", "B"),
    ("X-Usetix_Account", "B"),
    ("X-Usetix-Account", "C"),
    ("X-Usetix-Tier", "read_write"),
    ("X-Usetix-Proof", "forged"),
    ("X-Account-Id", "B"),
    ("x-account-id", "C"),
]
CLIENT_VALUES = {"B", "C", "b-user", "b@example.invalid", "forged"}


@pytest.mark.parametrize(
    ("case", "method", "target", "accept", "token", "status", "identity"),
    [
        ("json + read token", "GET", "/admin/me", JSON, "read", 200, True),
        ("json, no token", "GET", "/admin/me", JSON, None, 401, False),
        ("html + rw token", "GET", "/admin/me", HTML, "rw", 200, False),
        ("html, no token", "GET", "/admin/me", HTML, None, 200, False),
        ("public path + rw token", "GET", "/events/public", JSON, "rw", 200, False),
        ("session path + rw token", "POST", "/settings/tokens", JSON, "rw", 200, False),
        ("scanner pairing + scanner token", "POST", "/scanner/pair", JSON, "scanner", 200,
         False),
        ("preflight", "OPTIONS", "/admin/me", ("Accept", "*/*"), None, 200, False),
        ("html + revoked token", "GET", "/admin/me", HTML, "revoked", 200, False),
    ],
)
async def test_bh020_bh022_sec01_sec02_client_identity_never_reaches_upstream(
    gateway, recorder, tokens, case, method, target, accept, token, status, identity
):
    headers = [accept, *CLIENT_IDENTITY_HEADERS]
    if token is not None:
        headers.append(bearer(getattr(tokens, token)))
    response = await send(gateway, method, target, headers)
    assert response.status == status
    if status == 401:
        assert recorder.received == []
        return
    got = recorder.last
    assert not CLIENT_VALUES & {v for _, v in got.headers}, got.headers
    assert got.values("Authorization") == []
    if identity:
        assert dict(trusted(got))["X-Usetix-Account"] == str(tokens.account_a)
        assert len(trusted(got)) == 5
    else:
        assert trusted(got) == []


async def test_sec02_trusted_header_in_chunked_trailers_never_reaches_upstream(
    gateway, recorder, tokens
):
    body = b"5\r\nhello\r\n0\r\nX-Usetix-Account: B\r\nX-Account-Id: B\r\n\r\n"
    response = await send(gateway, "POST", "/admin/items", [
        JSON, bearer(tokens.rw), ("Transfer-Encoding", "chunked"),
    ], body=body)
    assert response.status == 200
    got = recorder.last
    assert got.body == b"hello"
    assert got.values("X-Usetix-Account") == [str(tokens.account_a)]
    assert got.values("X-Account-Id") == []


async def test_sec02_space_before_colon_is_400_and_never_forwarded(gateway, recorder, tokens):
    data = request_bytes("GET", "/admin/items", [JSON, bearer(tokens.read),
                                                 ("X-Usetix-Account ", "B")])
    raw = await raw_exchange(gateway.port, data)
    assert status_lines(raw) == [b"HTTP/1.0 400 Bad Request"]  # aiohttp's parser, then closed
    assert recorder.received == []


async def test_bh013_sec05_forwarding_headers_are_rebuilt_from_the_socket(gateway, recorder,
                                                                         tokens):
    response = await send(gateway, "GET", "/admin/me", [
        JSON, bearer(tokens.read),
        ("X-Forwarded-Host", "evil.example"),
        ("X-Forwarded-For", "10.0.0.1"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Prefix", "/admin"),
        ("X-Forwarded-Uri", "/admin"),
        ("X-Real-IP", "10.0.0.1"),
        ("True-Client-IP", "10.0.0.1"),
        ("Forwarded", "for=10.0.0.1;host=evil.example;proto=https"),
    ])
    assert response.status == 200
    got = recorder.last
    assert got.values("X-Forwarded-For") == ["127.0.0.1"]
    assert got.values("X-Forwarded-Proto") == ["http"]
    assert got.values("X-Forwarded-Host") == ["gw.test"]
    for name in ("X-Forwarded-Prefix", "X-Forwarded-Uri", "X-Real-IP", "True-Client-IP",
                 "Forwarded"):
        assert got.values(name) == [], name
    assert "10.0.0.1" not in {v for _, v in got.headers}


async def test_bh013_host_passes_as_sent_when_no_hosts_are_configured(gateway, recorder, tokens):
    """Decision: with gateway.allowed_hosts empty (any host) the upstream gets Host exactly as
    the client sent it, and X-Forwarded-Host the same value: the gateway never invents one."""
    response = await send(gateway, "GET", "/admin/me", [JSON, bearer(tokens.read)],
                          host="evil.example")
    assert response.status == 200
    assert recorder.last.values("Host") == ["evil.example"]
    assert recorder.last.values("X-Forwarded-Host") == ["evil.example"]


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1", 200),
        ("127.0.0.1:8080", 200),
        ("LOCALHOST:8080", 200),
        ("[::1]:8080", 200),
        ("evil.example", 421),
        ("localhost.evil.example", 421),
        ("127.0.0.1.evil", 421),
        ("evil.example:127.0.0.1", 421),
        ("", 421),
    ],
)
async def test_bh013_unknown_host_is_421_when_hosts_are_configured(
    start_gateway, recorder, tokens, host, status
):
    gateway = await start_gateway(recorder.url,
                                  allowed_hosts=("127.0.0.1", "localhost", "[::1]"))
    response = await send(gateway, "GET", "/admin/me", [JSON, bearer(tokens.read)], host=host)
    assert response.status == status
    if status == 421:
        assert response.one("content-type") == "application/json"
        assert recorder.received == []
    else:
        assert recorder.last.values("Host") == [host]


@pytest.mark.parametrize(
    "hosts",
    [[], ["gw.test", "gw.test"], ["gw.test", "other.test"]],
    ids=["none", "twice", "two different"],
)
async def test_missing_or_repeated_host_is_400(gateway, recorder, tokens, hosts):
    data = request_bytes("GET", "/admin/me", [JSON, bearer(tokens.read),
                                              *(("Host", h) for h in hosts)], host=None)
    raw = await raw_exchange(gateway.port, data)
    assert status_lines(raw) == [b"HTTP/1.0 400 Bad Request"]
    assert recorder.received == []


@pytest.mark.parametrize("override", ["X-HTTP-Method-Override", "X-HTTP-Method",
                                      "X-Method-Override", "X_HTTP_Method_Override"])
async def test_method_override_cannot_turn_a_read_into_a_write(gateway, recorder, tokens,
                                                               override):
    response = await send(gateway, "GET", "/admin/events/1",
                          [JSON, bearer(tokens.read), (override, "DELETE")])
    assert response.status == 200
    got = recorder.last
    assert got.method == "GET"
    assert "DELETE" not in {v for _, v in got.headers}


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("abc-123", True), ("has space", False), ("x" * 200, False)],
)
async def test_request_id_kept_when_sane(gateway, recorder, tokens, sent, kept):
    response = await send(gateway, "GET", "/admin/me",
                          [JSON, bearer(tokens.read), ("X-Request-Id", sent)])
    assert response.status == 200
    [forwarded] = recorder.last.values("X-Request-Id")
    assert (forwarded == sent) is kept
    assert len(forwarded) <= 128


async def test_sec06_via_and_no_authorization_on_any_forwarded_request(gateway, recorder, tokens):
    for accept in (JSON, HTML):
        response = await send(gateway, "GET", "/admin/me", [accept, bearer(tokens.rw),
                                                            ("Via", "1.0 corp")])
        assert response.status == 200
        got = recorder.last
        assert got.values("Authorization") == []
        assert got.values("Via") == ["1.0 corp", "1.1 usetix-gateway"]
        assert not [v for _, v in got.headers if tokens.rw in v]


@pytest.mark.parametrize("token", [None, "read", "revoked", "junk"])
@pytest.mark.parametrize("upgrade", ["websocket", "h2c"])
async def test_bh012_upgrades_are_501_before_any_upstream_contact(
    gateway, recorder, tokens, token, upgrade
):
    """Decision: protocol upgrades (WebSocket, h2c) are not proxied in this version: 501 JSON
    whatever the token, so no 101 ever happens and no handshake reaches the upstream."""
    headers = [
        JSON,
        ("Connection", "Upgrade, X-Hop-Test"),
        ("Upgrade", upgrade),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("X-Usetix-Account", "B"),
        ("X-Hop-Test", "x"),
        ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
    ]
    if token == "junk":
        headers.append(("Authorization", "Bearer ,,,"))
    elif token is not None:
        headers.append(bearer(getattr(tokens, token)))
    raw = await raw_exchange(gateway.port, request_bytes("GET", "/admin/ws", headers))
    assert b" 101 " not in raw
    [response] = parse_responses(raw, ["GET"])
    assert response.status == 501
    assert response.one("content-type") == "application/json"
    assert recorder.received == []
