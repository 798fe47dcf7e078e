"""The public leak-report endpoint (POST /tokens/revoke)."""

from __future__ import annotations

import pytest

from usetix import credential_store, credentials
from usetix.credentials import Kind


@pytest.mark.parametrize(
    "which", ["known", "scanner", "revoked", "unknown-prefixed", "unknown-legacy", "bad-shape"]
)
async def test_leak_report_answers_the_same_whatever_the_token(client, conn, tokens, which):
    value = {
        "known": tokens.rw,
        "scanner": tokens.scanner,
        "revoked": tokens.revoked,
        "unknown-prefixed": credentials.mint(Kind.API),
        "unknown-legacy": "legacy-token-value-0123456789",
        "bad-shape": "usx_nope",
    }[which]
    response = await client.post("/tokens/revoke", json={"token": value})
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert await response.json() == {
        "status": "received",
        "detail": "If this token was live, it is now revoked.",
    }
    assert await credential_store.lookup(conn, credentials.digest(value)) is None


async def test_leak_report_revokes_and_audits_without_the_token(client, conn, tokens):
    found = await credential_store.lookup(conn, credentials.digest(tokens.rw))
    await client.post("/tokens/revoke", json={"token": tokens.rw})
    audit = await conn.fetchrow(
        "SELECT actor, client_address FROM audit_log"
        " WHERE credential_id = $1 AND action = 'credential.revoke'",
        found.id,
    )
    assert audit["actor"] == "leaked-token report"
    assert audit["client_address"] == "127.0.0.1"
    dump = await conn.fetchval("SELECT string_agg(t::text, '') FROM audit_log t")
    assert tokens.rw not in dump
    # Other tokens are untouched.
    assert await credential_store.lookup(conn, credentials.digest(tokens.read)) is not None


@pytest.mark.parametrize("body", [b"nope", b"[]", b"{}", b'{"token": 1}'])
async def test_leak_report_needs_a_token_field(client, body):
    response = await client.post(
        "/tokens/revoke", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400


async def test_leak_reports_are_rate_limited(client, limiters, conn, tokens):
    limiters.leak_address.limit = 2
    for _ in range(2):
        assert (await client.post("/tokens/revoke", json={"token": "x" * 20})).status == 200
    limited = await client.post("/tokens/revoke", json={"token": tokens.rw})
    assert limited.status == 429 and int(limited.headers["Retry-After"]) > 0
    assert await credential_store.lookup(conn, credentials.digest(tokens.rw)) is not None


async def test_leak_report_needs_no_session_or_csrf(client, conn, tokens):
    response = await client.post(
        "/tokens/revoke",
        json={"token": tokens.read},
        headers={"Origin": "https://elsewhere.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status == 200
    assert await credential_store.lookup(conn, credentials.digest(tokens.read)) is None
