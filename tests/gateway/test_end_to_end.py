"""The documented curl flow, end to end: the real gateway in front of the real upstream_app,
on real Postgres (seed/api-tokens-doc.txt, SPEC 2 and 8; BI-11, BI-15, SEC-09, BH-032)."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from aiohttp.test_utils import TestServer
from gateway_wire import parse_responses, plain_session, request_bytes

from upstream_app.app import create_app as create_upstream_app
from usetix import credential_store, credentials

JSON = {"Accept": "application/json"}


@pytest.fixture
async def upstream_app(settings):
    server = TestServer(create_upstream_app(settings), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def edge(start_gateway, upstream_app):
    return await start_gateway(str(upstream_app.make_url("")).rstrip("/"))


def auth(token: str, **extra: str) -> dict[str, str]:
    return {**JSON, "Authorization": f"Bearer {token}", **extra}


async def new_event(http, edge, token: str, name: str) -> dict:
    body = {"name": name, "starts_at": "2030-05-01T20:00:00+02:00", "venue": "Hall 1",
            "capacity": 100}
    async with http.post(edge.url + "/admin/events", json=body, headers=auth(token)) as resp:
        assert resp.status == 201, await resp.text()
        return (await resp.json())["event"]


async def test_read_token_lists_its_accounts_events_and_nothing_else(edge, tokens):
    async with plain_session() as http:
        mine = await new_event(http, edge, tokens.rw, "A's launch")
        await new_event(http, edge, tokens.b, "B's secret gala")
        # The documented curl: Bearer + Accept: application/json.
        async with http.get(edge.url + "/admin/events", headers=auth(tokens.read)) as resp:
            assert resp.status == 200
            events = (await resp.json())["events"]
        async with http.get(edge.url + "/admin/account", headers=auth(tokens.read)) as resp:
            account = await resp.json()
    assert [e["id"] for e in events] == [mine["id"]]
    assert account["account"] == {"id": str(tokens.account_a), "name": "A"}
    assert account["credential"]["tier"] == "read"


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE", "PUT"])
async def test_read_token_write_is_401_insufficient_scope(edge, tokens, method):
    async with plain_session() as http:
        event = await new_event(http, edge, tokens.rw, "Keep me")
        async with http.request(method, edge.url + f"/admin/events/{event['id']}",
                                json={"name": "changed"}, headers=auth(tokens.read)) as resp:
            assert resp.status == 401
            assert resp.headers["WWW-Authenticate"] == (
                'Bearer realm="usetix", error="insufficient_scope", scope="read+write"'
            )
            assert await resp.json() == {"error": "unauthorized", "reason": "insufficient_scope"}
        async with http.get(edge.url + f"/admin/events/{event['id']}",
                            headers=auth(tokens.read)) as resp:
            assert (await resp.json())["event"]["name"] == "Keep me"


@pytest.mark.parametrize("accept", [None, "text/html", "*/*",
                                    "text/html,application/xhtml+xml,*/*;q=0.8"])
async def test_token_without_json_accept_authenticates_nothing(edge, tokens, accept):
    async with plain_session() as http:
        await new_event(http, edge, tokens.rw, "Private party")
        headers = {"Authorization": f"Bearer {tokens.rw}",
                   "X-Usetix-Account": str(tokens.account_a)}
        if accept:
            headers["Accept"] = accept
        async with http.get(edge.url + "/admin/events", headers=headers,
                            allow_redirects=False) as resp:
            # upstream_app answers as for an anonymous browser: off to the login page.
            assert resp.status == 302
            assert resp.headers["Location"].startswith("/login")
            assert b"Private party" not in await resp.read()


async def test_another_accounts_event_is_404_exactly_like_a_missing_one(edge, tokens):
    async with plain_session() as http:
        theirs = await new_event(http, edge, tokens.b, "B only")
        missing = "evt_" + "".join(secrets.choice(credentials.BASE62) for _ in range(20))
        answers = []
        for event_id in (theirs["id"], missing):
            async with http.get(edge.url + f"/admin/events/{event_id}",
                                headers=auth(tokens.rw)) as resp:
                answers.append((resp.status, [(k, v) for k, v in resp.headers.items()
                                              if k != "Date"], await resp.read()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 404
    assert answers[0][2] == b'{"error": "not_found"}'


async def test_scanner_token_is_refused_on_admin_and_works_on_scanner(edge, tokens):
    async with plain_session() as http:
        event = await new_event(http, edge, tokens.rw, "Door test")
        async with http.get(edge.url + "/admin/events", headers=auth(tokens.scanner)) as resp:
            assert resp.status == 401
            assert resp.headers["WWW-Authenticate"] == (
                'Bearer realm="usetix", error="invalid_token"'
            )
            assert await resp.json() == {"error": "unauthorized", "reason": "invalid_token"}
        async with http.post(edge.url + f"/admin/events/{event['id']}/tickets",
                             json={"holder_name": "Ada"}, headers=auth(tokens.rw)) as resp:
            ticket = (await resp.json())["ticket"]
        target = f"/scanner/events/{event['id']}/tickets"
        async with http.get(edge.url + target, headers=auth(tokens.scanner)) as resp:
            assert resp.status == 200
        statuses = []
        for _ in range(2):
            async with http.post(edge.url + "/scanner/checkins", json={"code": ticket["code"]},
                                 headers=auth(tokens.scanner)) as resp:
                statuses.append(resp.status)
    assert statuses == [200, 409]


async def test_revocation_is_immediate_on_fresh_and_reused_connections(edge, tokens, conn):
    """SEC-09: the next request after the revoke commits gets 401, on a keep-alive connection
    that already carried a good request and on a new one."""
    request = request_bytes("GET", "/admin/events", list(auth(tokens.rw).items()))
    reader, writer = await asyncio.open_connection("127.0.0.1", edge.port)
    try:
        writer.write(request)
        first = await reader.readuntil(b"\r\n\r\n")
        assert first.startswith(b"HTTP/1.1 200")
        length = int(next(line.split(b":")[1] for line in first.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        await reader.readexactly(length)

        row = await credential_store.lookup(conn, credentials.digest(tokens.rw))
        assert await credential_store.revoke(conn, row.id, actor="test")

        writer.write(request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        reused = await reader.read()
    finally:
        writer.close()
    [response] = parse_responses(reused, ["GET"])
    assert response.status == 401
    assert response.one("www-authenticate") == 'Bearer realm="usetix", error="invalid_token"'
    async with plain_session() as http:
        async with http.get(edge.url + "/admin/events", headers=auth(tokens.rw)) as resp:
            assert resp.status == 401
            assert await resp.json() == {"error": "unauthorized", "reason": "invalid_token"}


@pytest.mark.parametrize("authorization", [None, "read"])
async def test_bh032_cors_preflight_is_answered_by_the_upstream_without_identity(
    edge, tokens, authorization
):
    headers = {
        "Origin": "https://app.example.test",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
        "Accept": "*/*",
    }
    if authorization:
        headers["Authorization"] = f"Bearer {tokens.read}"
    async with plain_session() as http:
        async with http.options(edge.url + "/admin/events", headers=headers) as resp:
            assert resp.status == 204
            assert "OPTIONS" in resp.headers["Allow"]
            # No Access-Control-Allow-*: tokens never belong in browser code.
            assert not [k for k in resp.headers if k.lower().startswith("access-control")]
