"""The whole 401 matrix of SPEC 2.3-2.6 through the real gateway and a recording upstream:
route class x JSON/HTML x token kind/tier x method. For every cell the client sees the right
status, challenge, Cache-Control and body; the upstream is contacted only when the request
is allowed, never with Authorization, and with a verifiable identity only on authenticated
JSON account/scanner requests (BH-020, BH-025..031, BH-048, BI-01..06, BI-10, BI-11, SEC-06)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pytest
from gateway_wire import parse_responses, plain_session, raw_exchange
from multidict import CIMultiDict

from gateway.negotiation import is_json_request
from usetix import credential_store, credentials
from usetix.credentials import Kind
from usetix.identity import verify

ROUTES = {
    "account": "/admin/events?limit=5",
    "scanner": "/scanner/events/7/tickets",
    "public": "/scanner/pair",
    "session": "/settings/tokens",
}
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ACCEPTS = {"json": "application/json", "html": "text/html"}

# Token kinds: how the Authorization header is built from the tokens fixture.
TOKEN_KINDS = (
    "none", "basic", "junk", "checksum", "unknown", "revoked", "rw", "read", "b", "scanner",
)
CHALLENGE = 'Bearer realm="usetix"'
INVALID = CHALLENGE + ', error="invalid_token"'
SCOPE = CHALLENGE + ', error="insufficient_scope", scope="read+write"'


@dataclass(frozen=True)
class Refused:
    reason: str
    challenge: str


@dataclass(frozen=True)
class Forwarded:
    as_token: str | None  # the token kind whose identity the upstream must see, or None


def expected(route_class: str, accept: str, token_kind: str, method: str) -> Refused | Forwarded:
    """SPEC 2.3-2.5, one rule per line, in the order the SPEC gives them."""
    if route_class not in ("account", "scanner") or accept != "json":
        return Forwarded(None)
    if token_kind == "none":
        return Refused("missing_token", CHALLENGE)
    if token_kind == "basic":
        return Refused("malformed_token", CHALLENGE)  # no bearer credentials presented
    if token_kind in ("junk", "checksum"):
        return Refused("malformed_token", INVALID)
    if token_kind in ("unknown", "revoked"):
        return Refused("invalid_token", INVALID)
    if token_kind == "scanner" and route_class == "account":
        return Refused("invalid_token", INVALID)
    if token_kind == "read" and method not in ("GET", "HEAD"):
        return Refused("insufficient_scope", SCOPE)
    return Forwarded(token_kind)


def authorization(tokens, token_kind: str) -> str | None:
    good = {"rw": tokens.rw, "read": tokens.read, "b": tokens.b, "scanner": tokens.scanner,
            "revoked": tokens.revoked}
    if token_kind in good:
        return f"Bearer {good[token_kind]}"
    return {
        "none": None,
        "basic": "Basic dXNlcjpwYXNz",
        "junk": "Bearer not,a;token",
        "checksum": f"Bearer {tokens.rw[:-1]}{'A' if tokens.rw[-1] != 'A' else 'B'}",
        "unknown": f"Bearer {credentials.mint(Kind.API)}",
    }[token_kind]


async def observe(gateway, recorder, tokens, conn, route_class, token_kind):
    """What a client and the upstream saw for every accept x method of one row."""
    header = authorization(tokens, token_kind)
    target = ROUTES[route_class]
    key = gateway.settings.secrets.identity_key.encode()
    seen: dict[tuple[str, str], object] = {}
    async with plain_session() as http:
        for accept_name, accept in ACCEPTS.items():
            for method in METHODS:
                sent = {"Accept": accept, "X-Usetix-Account": "999", "X-Account-Id": "999"}
                if header is not None:
                    sent["Authorization"] = header
                before = len(recorder.received)
                async with http.request(method, gateway.url + target, headers=sent,
                                        allow_redirects=False) as resp:
                    body = await resp.read()
                    status, headers = resp.status, resp.headers
                arrived = recorder.received[before:]
                if status == 401:
                    assert arrived == [], "a refused request reached the upstream"
                    assert headers["Cache-Control"] == "no-store"
                    assert headers["Content-Type"] == "application/json"
                    reason = None
                    if method != "HEAD":
                        reason = _json(body)
                        assert set(reason) == {"error", "reason"}
                        assert reason["error"] == "unauthorized"
                    seen[(accept_name, method)] = Refused(
                        reason["reason"] if reason else "(head)", headers["WWW-Authenticate"]
                    )
                    continue
                assert status == 200, (method, status, body)
                assert len(arrived) == 1
                got = arrived[0]
                assert (got.method, got.target) == (method, target)
                assert got.values("Authorization") == []
                assert got.values("X-Account-Id") == []
                upstream_headers = CIMultiDict(got.headers)
                identity = verify(key, upstream_headers, method=method, target=target,
                                  max_age=30)
                trusted = [k for k, _ in got.headers if k.lower().startswith("x-usetix-")]
                if identity is None:
                    assert trusted == [], "identity headers without a valid proof"
                    seen[(accept_name, method)] = Forwarded(None)
                    continue
                assert len(trusted) == len(set(trusted)) == 5
                seen[(accept_name, method)] = Forwarded(
                    await _kind_of(conn, tokens, identity.credential_id)
                )
                assert got.values("X-Usetix-Account") == [str(identity.account_id)]
    return seen


def _json(body: bytes) -> dict:
    return json.loads(body)


async def _kind_of(conn, tokens, credential_id: int) -> str:
    for name in ("rw", "read", "b", "scanner"):
        found = await credential_store.lookup(conn, credentials.digest(getattr(tokens, name)))
        if found is not None and found.id == credential_id:
            return name
    raise AssertionError(f"identity of an unexpected credential {credential_id}")


@pytest.mark.parametrize("token_kind", TOKEN_KINDS)
@pytest.mark.parametrize("route_class", list(ROUTES))
async def test_matrix(gateway, recorder, tokens, conn, route_class, token_kind):
    seen = await observe(gateway, recorder, tokens, conn, route_class, token_kind)
    want = {}
    for accept in ACCEPTS:
        for method in METHODS:
            cell = expected(route_class, accept, token_kind, method)
            if isinstance(cell, Refused) and method == "HEAD":
                cell = Refused("(head)", cell.challenge)  # same 401, no body to read
            want[(accept, method)] = cell
    assert seen == want


async def test_identity_names_the_right_account_tier_and_credential(gateway, recorder, tokens,
                                                                    conn):
    key = gateway.settings.secrets.identity_key.encode()
    async with plain_session() as http:
        for name, account, tier, kind in (
            ("rw", tokens.account_a, "read_write", "api"),
            ("read", tokens.account_a, "read", "api"),
            ("b", tokens.account_b, "read_write", "api"),
            ("scanner", tokens.account_a, "read_write", "scanner"),
        ):
            token = getattr(tokens, name)
            async with http.get(gateway.url + "/scanner/x", headers={
                "Accept": "application/json", "Authorization": f"Bearer {token}",
            }) as resp:
                assert resp.status == 200
            got = recorder.last
            identity = verify(key, CIMultiDict(got.headers), method="GET", target="/scanner/x",
                              max_age=30)
            assert identity is not None
            row = await credential_store.lookup(conn, credentials.digest(token))
            assert (identity.account_id, identity.tier, identity.credential_kind,
                    identity.credential_id) == (account, tier, kind, row.id)
            # SEC-06: the token itself never leaves the gateway, in any header.
            assert not [v for _, v in got.headers if token in v]
            assert got.values("Via") == ["1.1 usetix-gateway"]


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        # BH-025 / BI-03: the scheme is case-insensitive, the token is not.
        ("authorization: bearer {t}", True),
        ("Authorization: BEARER {t}", True),
        ("Authorization: BeArEr {t}", True),
        ("Authorization: Bearer  {t}", True),
        ("Authorization:    Bearer {t}   ", True),
        ("Authorization: Bearer {T}", False),
        # BH-026 / BI-02: tab, extra words, missing separator, inner space.
        ("Authorization: Bearer\t{t}", False),
        ("Authorization: Bearer {t} extra", False),
        ("Authorization: Bearer{t}", False),
        ("Authorization: Bearer {t5} {trest}", False),
        # BH-027: empty and scheme-only.
        ("Authorization: Bearer ", False),
        ("Authorization: Bearer", False),
        ("Authorization: ", False),
        ('Authorization: Bearer ""', False),
        ("Authorization: Basic dXNlcjpwYXNz", False),
        # BH-029 / BI-06: never first or last wins.
        ("Authorization: Bearer {t}\r\nAuthorization: Bearer {rw}", False),
        ("Authorization: Bearer {rw}\r\nAuthorization: Bearer {t}", False),
        ("Authorization: Bearer {t}, Bearer {rw}", False),
        ("Authorization: Bearer {rw}\r\nAuthorization: Bearer {b}", False),
        ("Authorization: Bearer {revoked}\r\nAuthorization: Bearer {rw}", False),
        ("Authorization: Bearer {t}\r\nAuthorization: Bearer {t}", False),
    ],
)
async def test_authorization_spellings_on_the_wire(gateway, recorder, tokens, header, accepted):
    t = tokens.read
    flipped = t[:4] + t[4:].swapcase()
    line = header.format(t=t, T=flipped, t5=t[:5], trest=t[5:], rw=tokens.rw, b=tokens.b,
                         revoked=tokens.revoked)
    data = (f"GET /admin/events HTTP/1.1\r\nHost: gw.test\r\nAccept: application/json\r\n"
            f"{line}\r\nConnection: close\r\n\r\n").encode()
    [response] = parse_responses(await raw_exchange(gateway.port, data), ["GET"])
    if accepted:
        assert response.status == 200
        assert recorder.last.values("X-Usetix-Account") == [str(tokens.account_a)]
        assert recorder.last.values("X-Usetix-Tier") == ["read"]
        return
    assert response.status == 401
    assert response.one("www-authenticate").startswith(CHALLENGE)
    assert recorder.received == []


@pytest.mark.parametrize(
    "accept",
    [
        # BI-10: bearer not honoured (HTML path) ...
        [], ["*/*"], ["text/html"], ["application/json;q=0"], ["application/*"],
        ["*/*;q=0.8"], [""], ["text/plain"], ["text/event-stream"],
        ["text/html, application/json"], ["text/html", "application/json"],
        ["text/html,application/xhtml+xml,application/xml;q=0.9,application/json;q=0.8,*/*;q=0.7"],
        ["application/jsonp"], ["application/json-seq"], ["text/html, NotjsonNoWay"],
        ["application/json;q=0, text/html"], ["text/html, application/json; q=0"],
        # ... and honoured (JSON path).
        ["Application/JSON"], ["application/json; charset=utf-8"],
        ["application/json", "text/html"], ["application/json, text/javascript, */*; q=0.01"],
        ["text/html;q=0.5, application/json;q=0.9"], ["application/json;q=0.9, text/html;q=0.9"],
        ["application/problem+json"],
    ],
    ids=repr,
)
@pytest.mark.parametrize("token_kind", ["read", "revoked"])
async def test_accept_decides_whether_bearer_fires(gateway, recorder, tokens, accept, token_kind):
    """BH-043/045/046/047, BI-10: the gateway's classification, seen from outside. On the HTML
    path the token is ignored and nothing about it (nor any identity) reaches the upstream;
    the upstream gets the Accept lines exactly as sent (a missing one stays missing)."""
    token = getattr(tokens, token_kind)
    sent = CIMultiDict([("Accept", a) for a in accept])
    sent["Authorization"] = f"Bearer {token}"
    async with plain_session() as http:
        async with http.get(gateway.url + "/admin/events", headers=sent) as resp:
            status = resp.status
    if is_json_request(accept):
        if token_kind == "revoked":
            assert status == 401
            assert recorder.received == []
            return
        assert status == 200
        assert recorder.last.values("X-Usetix-Account") == [str(tokens.account_a)]
    else:
        assert status == 200
        assert [k for k, _ in recorder.last.headers if k.lower().startswith("x-usetix")] == []
    assert recorder.last.values("Authorization") == []
    assert recorder.last.values("Accept") == accept


def test_the_accept_table_covers_both_classes():
    # is_json_request is tested row by row in test_negotiation; here it only sorts the rows.
    assert is_json_request(["application/json"]) and not is_json_request(["*/*"])


@pytest.mark.parametrize("header", ["Bearer ", "Bearer", "", 'Bearer ""', "Bearer \t"])
async def test_bh027_empty_tokens_cannot_match_a_seeded_empty_row(gateway, recorder, tokens,
                                                                  conn, header):
    """Rows whose digest is that of an empty (or quoted-empty) value exist, yet no empty or
    scheme-only header ever reaches the store as '' and matches them."""
    for value in ("", '""', " "):
        await conn.execute(
            "INSERT INTO credentials (account_id, kind, tier, digest, display_prefix,"
            " description) VALUES ($1, 'api', 'read_write', $2, '', 'empty')"
            " ON CONFLICT DO NOTHING",
            tokens.account_b, hashlib.sha256(value.encode()).digest(),
        )
    data = (f"GET /admin/events HTTP/1.1\r\nHost: gw.test\r\nAccept: application/json\r\n"
            f"Authorization: {header}\r\nConnection: close\r\n\r\n").encode()
    [response] = parse_responses(await raw_exchange(gateway.port, data), ["GET"])
    assert response.status == 401
    assert response.one("www-authenticate").startswith(CHALLENGE)
    assert recorder.received == []
