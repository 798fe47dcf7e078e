"""Settings → API Tokens: list, create (value once, SEC-18), replacement, revoke; and bearer
tokens never acting as admin credentials."""

from __future__ import annotations

import re

import pytest
from admin_helpers import page_csrf, page_form

from usetix import credential_store, credentials
from usetix.credentials import Kind

TOKEN = re.compile(r"usx_[0-9A-Za-z]{36}")


async def create(client, description: str = "Mailchimp sync", tier: str = "read_write"):
    return await client.post(
        "/settings/api-tokens",
        data={"description": description, "tier": tier, **await page_form(client)},
        allow_redirects=False,
    )


async def test_list_shows_the_accounts_tokens_never_their_values(logged_in, tokens, conn):
    response = await logged_in.get("/settings/api-tokens")
    body = await response.text()
    for mine in (tokens.rw, tokens.read):
        assert credentials.display_prefix(mine) in body
        assert mine not in body
    # Another account's token and scanner devices are not on this page.
    assert credentials.display_prefix(tokens.b) not in body
    assert credentials.display_prefix(tokens.scanner) not in body
    assert "Read + Write" in body and ">Read<" in body
    assert body.count("confirm-revoke") == 2  # the revoked token has no Revoke link


async def test_create_reveals_the_value_once_with_safe_headers(logged_in, admin, conn):
    response = await create(logged_in)
    assert response.status == 200
    body = await response.text()
    [token] = set(TOKEN.findall(body))
    assert "Location" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert all(token not in h for h in response.headers.getall("Set-Cookie", []))
    assert 'data-seconds="10"' in body and "reveal.js" in body

    found = await credential_store.lookup(conn, credentials.digest(token))
    assert found is not None and found.account_id == admin.account_id
    assert found.kind is Kind.API and found.tier.value == "read_write"

    # Nowhere else: not on the list, not in any table, not on a reload of the list.
    listing = await (await logged_in.get("/settings/api-tokens")).text()
    assert token not in listing and credentials.display_prefix(token) in listing
    for table in ("credentials", "audit_log", "admin_sessions"):
        dump = await conn.fetchval(f"SELECT coalesce(string_agg(t::text, ''), '') FROM {table} t")
        assert token not in dump, table


async def test_create_is_audited(logged_in, admin, conn):
    body = await (await create(logged_in, "Audit me", "read")).text()
    [token] = set(TOKEN.findall(body))
    found = await credential_store.lookup(conn, credentials.digest(token))
    audit = await conn.fetchrow(
        "SELECT actor, action, client_address, detail::text AS detail FROM audit_log"
        " WHERE credential_id = $1",
        found.id,
    )
    assert audit["action"] == "credential.create"
    assert audit["actor"] == admin.email
    assert audit["client_address"] == "127.0.0.1"
    assert "Audit me" in audit["detail"]


@pytest.mark.parametrize(
    ("description", "tier"),
    [("", "read"), ("  ", "read_write"), ("x" * 201, "read"), ("ok", "admin"), ("ok", "")],
)
async def test_create_rejects_a_bad_form(logged_in, conn, description, tier):
    before = await conn.fetchval("SELECT count(*) FROM credentials")
    response = await create(logged_in, description, tier)
    assert response.status == 422
    assert not TOKEN.search(await response.text())
    assert await conn.fetchval("SELECT count(*) FROM credentials") == before


async def test_description_is_escaped(logged_in):
    await create(logged_in, "<script>alert(1)</script>")
    body = await (await logged_in.get("/settings/api-tokens")).text()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


async def test_replacement_prefills_description_and_tier(logged_in, conn, tokens):
    read_id = (await credential_store.lookup(conn, credentials.digest(tokens.read))).id
    await conn.execute(
        "UPDATE credentials SET description = 'Dashboard sync' WHERE id = $1", read_id
    )
    body = await (await logged_in.get(f"/settings/api-tokens?replace={read_id}")).text()
    assert 'value="Dashboard sync"' in body
    assert re.search(r'value="read" checked', body)
    # Nothing is created or rotated by looking at the form.
    assert await credential_store.lookup(conn, credentials.digest(tokens.read)) is not None


async def test_revoke_with_confirmation(logged_in, admin, conn, tokens):
    rw = await credential_store.lookup(conn, credentials.digest(tokens.rw))
    confirm = await logged_in.get(f"/settings/api-tokens/{rw.id}/confirm-revoke")
    assert confirm.status == 200
    body = await confirm.text()
    assert f'action="/settings/api-tokens/{rw.id}/revoke"' in body
    # Looking at the confirmation changes nothing.
    assert await credential_store.lookup(conn, credentials.digest(tokens.rw)) is not None

    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', body).group(1)
    response = await logged_in.post(
        f"/settings/api-tokens/{rw.id}/revoke", data={"csrf_token": token}, allow_redirects=False
    )
    assert response.status == 303
    assert response.headers["Location"] == f"/settings/api-tokens?revoked={rw.id}"
    assert await credential_store.lookup(conn, credentials.digest(tokens.rw)) is None
    audit = await conn.fetchrow(
        "SELECT actor, client_address FROM audit_log"
        " WHERE credential_id = $1 AND action = 'credential.revoke'",
        rw.id,
    )
    assert audit["actor"] == admin.email and audit["client_address"] == "127.0.0.1"


@pytest.mark.parametrize("whose", ["b", "scanner", "missing", "junk"])
async def test_revoke_reaches_only_own_api_tokens(logged_in, conn, tokens, whose):
    ids = {
        "b": (await credential_store.lookup(conn, credentials.digest(tokens.b))).id,
        "scanner": (await credential_store.lookup(conn, credentials.digest(tokens.scanner))).id,
        "missing": 999999,
        "junk": "abc",
    }
    token = await page_csrf(logged_in)
    for path in ("confirm-revoke", "revoke"):
        method = logged_in.get if path == "confirm-revoke" else logged_in.post
        response = await method(
            f"/settings/api-tokens/{ids[whose]}/{path}", data={"csrf_token": token}
        )
        assert response.status == 404
    for live in (tokens.b, tokens.scanner):
        assert await credential_store.lookup(conn, credentials.digest(live)) is not None


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("GET", "/settings/api-tokens", None),
        ("GET", "/settings/scanner-devices", None),
        ("GET", "/settings/audit-log", None),
        ("POST", "/settings/api-tokens", {"description": "bearer-made", "tier": "read_write"}),
        ("POST", "/settings/api-tokens/{rw_id}/revoke", {}),
        ("POST", "/settings/scanner-devices/pair", {"name": "bearer door"}),
    ],
)
@pytest.mark.parametrize("accept", ["application/json", "text/html"])
async def test_bearer_tokens_are_never_admin_credentials(
    client, conn, tokens, method, path, data, accept
):
    rw_id = (await credential_store.lookup(conn, credentials.digest(tokens.rw))).id
    before = await conn.fetchval("SELECT count(*) FROM credentials WHERE revoked_at IS NULL")
    response = await client.request(
        method,
        path.format(rw_id=rw_id),
        json=data,
        headers={"Authorization": f"Bearer {tokens.rw}", "Accept": accept},
        allow_redirects=False,
    )
    if accept == "application/json":
        assert response.status in (401, 403)
        assert "error" in await response.json()
    else:
        assert response.status in (303, 403)
        if response.status == 303:
            assert response.headers["Location"].startswith("/login")
    assert tokens.rw not in await response.text()
    assert (
        await conn.fetchval("SELECT count(*) FROM credentials WHERE revoked_at IS NULL") == before
    )
    assert await conn.fetchval("SELECT count(*) FROM pairing_codes") == 0


async def test_a_replayed_create_form_makes_no_second_token(logged_in, admin, conn):
    """A reload of the reveal page re-POSTs the same form (same CSRF token, same form_id)."""
    fields = await page_form(logged_in)
    form = {"description": "Reloaded", "tier": "read", **fields}
    first = await logged_in.post("/settings/api-tokens", data=form)
    [token] = set(TOKEN.findall(await first.text()))

    again = await logged_in.post("/settings/api-tokens", data=form)
    body = await again.text()
    assert again.status == 409
    assert again.headers["Cache-Control"] == "no-store"
    assert "already submitted" in body and "cannot be shown again" in body
    assert 'href="/settings/api-tokens"' in body
    assert TOKEN.search(body) is None and token not in body
    assert await conn.fetchval(
        "SELECT count(*) FROM credentials WHERE account_id = $1 AND description = 'Reloaded'",
        admin.account_id,
    ) == 1

    # A fresh form (the list page again) creates a second one on purpose.
    fresh = {"description": "Reloaded", "tier": "read", **await page_form(logged_in)}
    assert fresh["form_id"] != fields["form_id"]
    assert TOKEN.search(await (await logged_in.post("/settings/api-tokens", data=fresh)).text())


@pytest.mark.parametrize("form_id", [None, "", "short", "x" * 65, "not valid!" * 3])
async def test_a_create_form_without_a_usable_form_id_creates_nothing(logged_in, conn, form_id):
    fields = await page_form(logged_in)
    form = {"description": "Stale tab", "tier": "read", "csrf_token": fields["csrf_token"]}
    if form_id is not None:
        form["form_id"] = form_id
    before = await conn.fetchval("SELECT count(*) FROM credentials")
    response = await logged_in.post("/settings/api-tokens", data=form)
    body = await response.text()
    assert response.status == 422
    assert "out of date" in body and 'value="Stale tab"' in body
    assert 'name="form_id" value="' in body  # a new one: submitting again works
    assert await conn.fetchval("SELECT count(*) FROM credentials") == before
