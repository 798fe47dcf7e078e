"""What the upstream sees and what the client gets back (SPEC 4; BH-003, BH-004, BH-006,
BH-013, BH-020, BH-022, SEC-01..06). Pure: header lists in, header lists out."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.headers import (
    client_response_headers,
    connection_tokens,
    request_id_from,
    upstream_request_headers,
)

IDENTITY = {
    "X-Usetix-Account": "1",
    "X-Usetix-Credential": "api:2",
    "X-Usetix-Tier": "read",
    "X-Usetix-Timestamp": "1700000000",
    "X-Usetix-Proof": "f" * 64,
}


def rewrite(
    pairs: list[tuple[str, str]], identity: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    client = CIMultiDictProxy(CIMultiDict([("Host", "gw.test"), *pairs]))
    out = upstream_request_headers(
        client, peer="192.0.2.7", scheme="http", via="usetix-gateway",
        request_id="rid-1", identity=identity,
    )
    return list(out.items())


def names(headers: list[tuple[str, str]]) -> list[str]:
    return [k.lower() for k, _ in headers]


def values(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [v for k, v in headers if k.lower() == name.lower()]


GATEWAY_OWN = ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "via", "x-request-id"]

STRIPPED = [
    # BH-003 / SEC-04: hop-by-hop.
    ("Connection", "keep-alive"),
    ("Keep-Alive", "timeout=5"),
    ("TE", "trailers"),
    ("Trailer", "X-Foo"),
    ("Transfer-Encoding", "chunked"),
    ("Upgrade", "h2c"),
    ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
    ("Proxy-Connection", "keep-alive"),
    ("Proxy-Authenticate", "Basic"),
    # SEC-06 / BH-048: the credential never goes upstream.
    ("Authorization", "Bearer usx_whatever"),
    ("authorization", "Basic dXNlcjpw"),
    # Expect is answered by the gateway itself (BH-009).
    ("Expect", "100-continue"),
    # SEC-05 / BH-013: forwarding metadata is rebuilt, never trusted.
    ("Forwarded", "for=10.0.0.1;host=evil.example;proto=https"),
    ("X-Forwarded-For", "10.0.0.1"),
    ("X-Forwarded-Host", "evil.example"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Prefix", "/admin"),
    ("X-Forwarded-Uri", "/admin"),
    ("X-Forwarded-Port", "443"),
    ("X_Forwarded_For", "10.0.0.1"),
    ("X-Real-IP", "10.0.0.1"),
    ("X_Real_IP", "10.0.0.1"),
    ("True-Client-IP", "10.0.0.1"),
    ("X-Client-IP", "10.0.0.1"),
    # BH-020: identity-like headers other upstreams trust.
    ("X-Forwarded-User", "b-user"),
    ("X-Forwarded-Email", "b@example.invalid"),
    ("X-Auth-Request-User", "b-user"),
    ("X-Auth-Request-Email", "b@example.invalid"),
    ("X-Remote-User", "b-user"),
    ("Remote-User", "b-user"),
    ("Remote_User", "b-user"),
    ("X-User-Id", "B"),
    ("X-Account-Id", "B"),
    # SEC-02: the trusted family in every spelling.
    ("X-Usetix-Account", "B"),
    ("x-usetix-account", "B"),
    ("X-USETIX-ACCOUNT", "B"),
    ("X_Usetix_Account", "B"),
    ("X-Usetix_Account", "B"),
    ("x_usetix-proof", "forged"),
    ("X-Usetix-Anything-New", "x"),
    # Method overrides would let a read token's GET act as a write.
    ("X-HTTP-Method-Override", "DELETE"),
    ("X-HTTP-Method", "DELETE"),
    ("X-Method-Override", "DELETE"),
    ("X_HTTP_Method_Override", "DELETE"),
]


@pytest.mark.parametrize(("name", "value"), STRIPPED)
@pytest.mark.parametrize("authenticated", [False, True], ids=["anonymous", "identity"])
def test_client_header_never_reaches_upstream(name: str, value: str, authenticated: bool) -> None:
    out = rewrite([(name, value), (name, value)], IDENTITY if authenticated else None)
    own = {*GATEWAY_OWN, *(k.lower() for k in IDENTITY)} if authenticated else set(GATEWAY_OWN)
    assert name.lower() not in names(out) or name.lower() in own
    assert value not in [v for k, v in out], out


@pytest.mark.parametrize(
    "connection",
    [
        "keep-alive, X-Hop-Test",
        "X-Hop-Test",
        "x-hop-test",
        "close,X-Hop-Test",
        "  X-Hop-Test  ,",
        "X_Hop_Test",
    ],
)
def test_headers_named_in_connection_are_removed(connection: str) -> None:
    out = rewrite([("Connection", connection), ("X-Hop-Test", "must-not-forward"),
                   ("X-Other", "kept")])
    assert values(out, "X-Hop-Test") == []
    assert values(out, "Connection") == []
    assert values(out, "X-Other") == ["kept"]


def test_connection_over_several_lines_is_one_list() -> None:
    out = rewrite([("Connection", "X-A"), ("Connection", "X-B"), ("X-A", "1"), ("X-B", "2"),
                   ("X-C", "3")])
    assert names(out).count("x-a") == names(out).count("x-b") == 0
    assert values(out, "X-C") == ["3"]


def test_bh004_connection_cannot_delete_the_gateways_headers() -> None:
    out = rewrite(
        [
            ("Connection", "keep-alive, X-Hop-Test, X-Usetix-Account, X-Forwarded-For, Via,"
                           " X-Request-Id"),
            ("X-Hop-Test", "must-not-forward"),
            ("X-Usetix-Account", "B"),
        ],
        IDENTITY,
    )
    assert values(out, "X-Hop-Test") == []
    assert values(out, "X-Usetix-Account") == ["1"]
    assert values(out, "X-Forwarded-For") == ["192.0.2.7"]
    assert values(out, "Via") == ["1.1 usetix-gateway"]
    assert values(out, "X-Request-Id") == ["rid-1"]


@pytest.mark.parametrize("nominated", ["Host", "Content-Length"])
def test_connection_cannot_remove_what_defines_the_message(nominated: str) -> None:
    # SPEC 4: Host as the client sent it, body byte for byte (same framing). A Connection
    # option naming them is ignored rather than letting the client re-target or re-frame.
    out = rewrite([("Connection", nominated), ("Content-Length", "7")])
    assert values(out, "Host") == ["gw.test"]
    assert values(out, "Content-Length") == ["7"]


def test_sec01_bh022_exactly_one_trusted_header_with_the_gateways_value() -> None:
    out = rewrite(
        [("X-Usetix-Account", "B"), ("X-Usetix-Account", "B"), ("x-account-id", "C"),
         ("X_Usetix_Account", "D"), ("X-Usetix-Proof", "forged")],
        IDENTITY,
    )
    for name, value in IDENTITY.items():
        assert values(out, name) == [value]
    assert not {"B", "C", "D", "forged"} & {v for _, v in out}


def test_identity_is_added_last() -> None:
    out = rewrite([("Accept", "application/json")], IDENTITY)
    assert names(out)[-len(IDENTITY):] == [k.lower() for k in IDENTITY]


def test_no_identity_means_no_trusted_header() -> None:
    out = rewrite([("X-Usetix-Account", "B"), ("Accept", "text/html")], None)
    assert not [k for k in names(out) if k.startswith("x-usetix")]


def test_forwarding_headers_are_the_gateways_own() -> None:
    out = rewrite([("X-Forwarded-For", "10.0.0.1"), ("X-Forwarded-For", "10.0.0.2"),
                   ("X-Forwarded-Host", "evil"), ("X-Forwarded-Proto", "https")])
    assert values(out, "X-Forwarded-For") == ["192.0.2.7"]
    assert values(out, "X-Forwarded-Proto") == ["http"]
    assert values(out, "X-Forwarded-Host") == ["gw.test"]
    assert values(out, "Host") == ["gw.test"]


def test_via_is_appended_to_the_clients() -> None:
    out = rewrite([("Via", "1.0 corp-proxy")])
    assert values(out, "Via") == ["1.0 corp-proxy", "1.1 usetix-gateway"]


def test_end_to_end_headers_keep_count_order_and_bytes() -> None:
    sent = [
        ("Accept", "text/html"),
        ("Accept", "application/json"),
        ("Cookie", "a=1"),
        ("Cookie", "b=2"),
        ("X-Custom", "  spaced  value "),
        ("Content-Type", "application/json; charset=utf-8"),
        ("Content-Length", "12"),
        ("Origin", "https://app.example.test"),
        ("User-Agent", "curl/8"),
        ("Accept-Encoding", "gzip, deflate"),
        ("If-None-Match", '"r1"'),
    ]
    out = rewrite(sent)
    kept = [(k, v) for k, v in out if k.lower() not in GATEWAY_OWN and k.lower() != "host"]
    assert kept == sent


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ([], False),
        (["abc-123"], True),
        (["0f8fad5b-d9cb-469f-a165-70867728950e"], True),
        (["a.b:c_d-e"], True),
        (["x" * 128], True),
        (["x" * 129], False),
        ([""], False),
        (["has space"], False),
        (["new\nline"], False),
        (["quote\""], False),
        (["café"], False),
        (["abc", "def"], False),  # two: neither can be trusted
    ],
)
def test_request_id(sent: list[str], kept: bool) -> None:
    client = CIMultiDictProxy(CIMultiDict([("X-Request-Id", v) for v in sent]))
    got = request_id_from(client, lambda: "generated")
    assert got == (sent[0] if kept else "generated")


def test_client_request_id_is_replaced_not_duplicated() -> None:
    out = rewrite([("X-Request-Id", "client-1"), ("x_request_id", "client-2")])
    assert values(out, "X-Request-Id") == ["rid-1"]


def test_connection_tokens() -> None:
    client = CIMultiDictProxy(CIMultiDict([("Connection", "Keep-Alive, X_Foo,, "),
                                           ("connection", "Upgrade")]))
    assert connection_tokens(client) == {"keep-alive", "x-foo", "upgrade"}


RESPONSE = [
    ("Content-Type", "text/html"),
    ("Set-Cookie", "a=1; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT"),
    ("Connection", "keep-alive, X-Internal"),
    ("Keep-Alive", "timeout=5"),
    ("Transfer-Encoding", "chunked"),
    ("X-Internal", "secret"),
    ("Set-Cookie", "b=2; Path=/"),
    ("Link", '</a>; rel="next"'),
    ("Proxy-Authenticate", "Basic"),
    ("Upgrade", "h2c"),
    ("Trailer", "X-T"),
    ("Link", '</b>; rel="prev"'),
    ("Vary", "Accept"),
    ("Vary", "Accept-Encoding"),
    ("Content-Encoding", "gzip"),
    ("Content-Length", "123"),
]


def test_bh006_response_headers_drop_hop_by_hop_and_keep_repeats() -> None:
    nominated = frozenset({"keep-alive", "x-internal"})
    kept = list(client_response_headers(RESPONSE, nominated).items())
    assert kept == [
        ("Content-Type", "text/html"),
        ("Set-Cookie", "a=1; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT"),
        ("Set-Cookie", "b=2; Path=/"),
        ("Link", '</a>; rel="next"'),
        ("Link", '</b>; rel="prev"'),
        ("Vary", "Accept"),
        ("Vary", "Accept-Encoding"),
        ("Content-Encoding", "gzip"),
        ("Content-Length", "123"),
        # The upstream sent no Server: ours, not aiohttp's version string (last, appended).
        ("Server", "usetix"),
    ]
