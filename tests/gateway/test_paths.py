"""Request targets through the real gateway (SPEC 2.1 and 2.8; BH-014, BH-015, BI-14, MH-06,
BI-07): the path that is authorised is the path the upstream receives, byte for byte, or the
request is refused before any upstream contact."""

from __future__ import annotations

import json

import pytest
from gateway_wire import exchange, parse_responses, raw_exchange, request_bytes, status_lines

JSON = ("Accept", "application/json")


async def get(gateway, target: bytes | str, token: str, method: str = "GET"):
    data = request_bytes(method, target, [JSON, ("Authorization", f"Bearer {token}"),
                                          ("Connection", "close")])
    return await raw_exchange(gateway.port, data)


@pytest.mark.parametrize(
    "target",
    [
        "/admin/files/x%3Fadmin=1",
        "/admin/files/x%23frag",
        "/admin/files/hassio%255Fauth",
        "/admin/files/caf%C3%A9",
        "/admin/files/caf%c3%a9?q=%C3%A9&r=%2F&s=%2e%2e",
        "/admin/events?b=2&a=1&b=3&empty=&=x",
        "/admin/events/",
        "/admin/a;b=c",
    ],
)
async def test_bh014_target_reaches_upstream_byte_for_byte(gateway, recorder, tokens, target):
    [response] = parse_responses(await get(gateway, target, tokens.read), ["GET"])
    assert response.status == 200
    assert recorder.last.target == target
    assert recorder.last.values("X-Usetix-Account") == [str(tokens.account_a)]


@pytest.mark.parametrize(
    "target",
    [
        # BH-015 / BI-14: every spelling that could leave the scanner scope.
        "/scanner/../admin/users",
        "/scanner/%2e%2e/admin/users",
        "/scanner/%2E%2E%2Fadmin/users",
        "/scanner/./../admin/users",
        "/./admin/users",
        "//admin/users",
        "//scanner/",
        "/scanner/..;/admin/users",
        "/scanner%2F..%2Fadmin",
        "/scanner\\..\\admin",
        "/scanner/%5c..%5cadmin",
        # BH-014: malformed escape and encoded slash.
        "/admin/files/%ZZ",
        "/admin/files/a%2Fb",
        "/admin/files/%00",
        # MH-06: not origin-form (the gateway never connects to the named host).
        "http://evil.example/admin/users",
        "http://127.0.0.1:1/admin/users",
    ],
)
async def test_bh015_ambiguous_targets_are_400_before_the_upstream(gateway, recorder, tokens,
                                                                   target):
    raw = await get(gateway, target, tokens.scanner)
    [response] = parse_responses(raw, ["GET"])
    assert response.status == 400
    assert response.one("content-type") == "application/json"
    assert response.values("connection") == ["close"]
    assert recorder.received == []


@pytest.mark.parametrize(
    ("target", "token", "status", "identity"),
    [
        # Case and trailing-slash decisions: the route table is case-sensitive like the
        # upstream routers, so /SCANNER is not the scanner route: public, no identity.
        ("/SCANNER/report", "scanner", 200, False),
        ("/Scanner/", "scanner", 200, False),
        ("/scanner", "scanner", 200, True),
        ("/scanner/", "scanner", 200, True),
        ("/scanner/report", "scanner", 200, True),
        # /scanner/pair is public (the door app has no token yet).
        ("/scanner/pair", "scanner", 200, False),
        # BI-14: a scanner token on an account route is not an account credential.
        ("/admin/users", "scanner", 401, False),
        ("/administrator", "scanner", 200, False),
        # Account tokens are accepted on scanner routes.
        ("/scanner/report", "rw", 200, True),
    ],
)
async def test_bi14_scanner_scope(gateway, recorder, tokens, target, token, status, identity):
    [response] = parse_responses(await get(gateway, target, getattr(tokens, token)), ["GET"])
    assert response.status == status
    if status != 200:
        assert recorder.received == []
        return
    got = recorder.last
    assert got.target == target
    assert bool(got.values("X-Usetix-Account")) is identity
    if token == "scanner":
        # Whatever was forwarded with a scanner identity is a scanner path, byte for byte.
        assert not identity or got.target.startswith("/scanner")


async def test_absolute_form_never_contacts_the_named_host(gateway, recorder, tokens):
    # The recorder itself named as the absolute-form host: still refused, still untouched.
    raw = await get(gateway, recorder.url + "/admin/users", tokens.read)
    assert status_lines(raw)[0].startswith(b"HTTP/1.1 400")
    assert recorder.received == []


NON_ORIGIN_FORMS = [
    b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\nConnection: close\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n",
]


@pytest.mark.parametrize("data", NON_ORIGIN_FORMS, ids=["authority-form", "asterisk-form"])
async def test_non_origin_forms_never_reach_the_upstream(gateway, recorder, data):
    raw = await raw_exchange(gateway.port, data)
    assert status_lines(raw)[0].split(b" ")[1] in (b"400", b"404")
    assert recorder.received == []


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(NON_ORIGIN_FORMS[0], id="authority-form"),
        pytest.param(NON_ORIGIN_FORMS[1], id="asterisk-form"),
    ],
)
async def test_non_origin_forms_are_the_gateways_400(gateway, recorder, data):
    [response] = parse_responses(await raw_exchange(gateway.port, data), ["GET"])
    assert response.status == 400
    assert response.one("content-type") == "application/json"
    assert json.loads(response.body)["error"] == "bad_request"
    assert recorder.received == []


async def test_connect_is_refused_and_the_connection_closed(gateway, recorder):
    # No Connection: close, and a request behind it on the same connection: the gateway's
    # 400 closes the connection, so nothing after a CONNECT is read as a tunnel or a request.
    data = (b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n"
            + request_bytes("GET", "/admin/events", [JSON]))
    got = await exchange(gateway.port, data)
    assert got.statuses == [400]
    assert got.closed
    assert recorder.received == []


async def test_uri_of_100kb_is_refused(gateway, recorder, tokens):
    raw = await get(gateway, "/admin/" + "a" * 100_000, tokens.read)
    assert status_lines(raw)[0].split(b" ")[1] in (b"400", b"414")
    assert recorder.received == []


@pytest.mark.parametrize(
    ("target", "body", "content_type"),
    [
        ("/admin/events?access_token={t}", b"", None),
        ("/admin/events", b"access_token={t}", "application/x-www-form-urlencoded"),
    ],
    ids=["query", "form body"],
)
async def test_bi07_token_outside_the_header_authenticates_nothing(
    gateway, recorder, tokens, target, body, content_type
):
    headers = [JSON, ("Connection", "close")]
    if content_type:
        headers.append(("Content-Type", content_type))
    method = "POST" if body else "GET"
    data = request_bytes(method, target.format(t=tokens.rw), headers,
                         body.replace(b"{t}", tokens.rw.encode()))
    [response] = parse_responses(await raw_exchange(gateway.port, data), [method])
    assert response.status == 401
    assert response.one("www-authenticate") == 'Bearer realm="usetix"'
    assert recorder.received == []


async def test_bi07_header_plus_query_token_authenticates_by_the_header_only(gateway, recorder,
                                                                            tokens):
    """Decision: a query parameter named access_token is the upstream's business (it is
    forwarded untouched); the header alone decides who the caller is."""
    target = f"/admin/events?access_token={tokens.b}"
    [response] = parse_responses(await get(gateway, target, tokens.read), ["GET"])
    assert response.status == 200
    assert recorder.last.values("X-Usetix-Account") == [str(tokens.account_a)]
