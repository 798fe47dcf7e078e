"""Settings → Scanner devices and the public pairing exchange (POST /scanner/pair)."""

from __future__ import annotations

import re

import pytest
from admin_helpers import page_csrf, page_form

from admin_ui import pairing
from usetix import credential_store, credentials
from usetix.credentials import Kind, Tier

CODE = re.compile(r'id="pairing-code">([0-9A-Z]{4}-[0-9A-Z]{8})<')


async def start_pairing(client, name: str = "North door 1") -> str:
    fields = await page_form(client, "/settings/scanner-devices")
    response = await client.post("/settings/scanner-devices/pair", data={"name": name, **fields})
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    return CODE.search(await response.text()).group(1)


async def exchange(client, code, **headers):
    return await client.post("/scanner/pair", json={"code": code}, headers=headers)


async def test_pairing_end_to_end(logged_in, admin, conn):
    code = await start_pairing(logged_in)
    stored = await conn.fetchval("SELECT string_agg(t::text, '') FROM pairing_codes t")
    assert code not in stored and code.replace("-", "") not in stored

    response = await exchange(logged_in, code)
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.json()
    token = body["token"]
    assert token.startswith("uss_") and credentials.has_valid_shape(token)
    assert body["credential"]["kind"] == "scanner"
    assert body["credential"]["description"] == "North door 1"
    found = await credential_store.lookup(conn, credentials.digest(token))
    assert found.kind is Kind.SCANNER and found.tier is Tier.READ_WRITE
    assert found.account_id == admin.account_id

    # Single use.
    again = await exchange(logged_in, code)
    assert again.status == 400 and await again.json() == {"error": "invalid_code"}

    page = await (await logged_in.get("/settings/scanner-devices")).text()
    assert "North door 1" in page and credentials.display_prefix(token) in page
    actions = [r["action"] for r in await conn.fetch("SELECT action FROM audit_log ORDER BY id")]
    assert actions[-3:] == ["pairing_code.create", "credential.create", "scanner.pair"]
    dump = await conn.fetchval("SELECT string_agg(t::text, '') FROM audit_log t")
    assert token not in dump and code not in dump


@pytest.mark.parametrize("spelling", ["lower", "spaces", "no-dash"])
async def test_code_spellings_a_person_might_type(logged_in, spelling):
    code = await start_pairing(logged_in)
    typed = {
        "lower": code.lower(),
        "spaces": f"  {code.replace('-', ' ')} ",
        "no-dash": code.replace("-", ""),
    }[spelling]
    assert (await exchange(logged_in, typed)).status == 200


async def test_expired_code_is_refused(logged_in, conn):
    code = await start_pairing(logged_in)
    await conn.execute("UPDATE pairing_codes SET expires_at = now() - interval '1 second'")
    assert (await exchange(logged_in, code)).status == 400
    assert await conn.fetchval("SELECT count(*) FROM credentials WHERE kind = 'scanner'") == 1


async def test_code_lifetime_follows_settings(make_client, settings, admin, conn):
    from admin_helpers import login

    client = await make_client(settings.replace(admin_ui={"pairing_code_ttl": 120}))
    await login(client, admin.email, admin.password)
    await start_pairing(client)
    seconds = await conn.fetchval(
        "SELECT extract(epoch FROM expires_at - created_at)::int FROM pairing_codes"
    )
    assert seconds == 120


async def test_wrong_guesses_burn_the_code(logged_in, conn):
    code = await start_pairing(logged_in)
    selector = code[:4]
    wrong = selector + "-" + ("0" * 8 if code[5:] != "0" * 8 else "1" * 8)
    for _ in range(pairing.MAX_FAILED_ATTEMPTS):
        assert (await exchange(logged_in, wrong)).status == 400
    # Now even the right code is dead.
    assert (await exchange(logged_in, code)).status == 400
    assert (
        await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'pairing_code.burned'")
        == 1
    )


async def test_failures_are_limited_per_address(logged_in, limiters):
    limiters.pair_address.limit = 3
    code = await start_pairing(logged_in)
    for _ in range(3):
        assert (await exchange(logged_in, "ZZZZ-ZZZZZZZZ")).status == 400
    limited = await exchange(logged_in, code)
    assert limited.status == 429
    assert int(limited.headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"code": 5}',
        b"{}",
        b'{"code": ""}',
        b'{"code": "' + b"A" * 500 + b'"}',
    ],
)
async def test_malformed_pairing_requests_get_the_generic_answer(client, body):
    response = await client.post(
        "/scanner/pair", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert await response.json() == {"error": "invalid_code"}


@pytest.mark.parametrize("path", ["/scanner/pair", "/tokens/revoke"])
async def test_public_endpoints_are_post_only(client, path):
    assert (await client.get(path)).status == 405


async def test_pair_form_needs_a_name(logged_in, conn):
    token = await page_csrf(logged_in, "/settings/scanner-devices")
    response = await logged_in.post(
        "/settings/scanner-devices/pair", data={"name": " ", "csrf_token": token}
    )
    assert response.status == 422
    assert await conn.fetchval("SELECT count(*) FROM pairing_codes") == 0


async def test_revoke_a_device(logged_in, conn, tokens):
    device = await credential_store.lookup(conn, credentials.digest(tokens.scanner))
    confirm = await logged_in.get(f"/settings/scanner-devices/{device.id}/confirm-revoke")
    assert confirm.status == 200
    token = await page_csrf(logged_in, "/settings/scanner-devices")
    response = await logged_in.post(
        f"/settings/scanner-devices/{device.id}/revoke",
        data={"csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303
    assert await credential_store.lookup(conn, credentials.digest(tokens.scanner)) is None
    # An API token cannot be revoked through the devices page.
    rw = await credential_store.lookup(conn, credentials.digest(tokens.rw))
    wrong_kind = await logged_in.post(
        f"/settings/scanner-devices/{rw.id}/revoke", data={"csrf_token": token}
    )
    assert wrong_kind.status == 404


def test_pairing_code_format():
    selector, code = pairing.generate()
    assert code.startswith(selector + "-") and len(code) == 13
    assert pairing.normalise(code) == code.replace("-", "")
    assert pairing.normalise(code.lower().replace("0", "o")) == pairing.normalise(code)
    assert pairing.digest(code) == pairing.digest(code.lower())
    for junk in ("", "ABCD", "ABCD-EFGH-JKMU", "U" * 12, None):
        assert pairing.normalise(junk) is None


async def test_a_replayed_pair_form_makes_no_second_code(logged_in, admin, conn):
    form = {"name": "Reloaded door", **await page_form(logged_in, "/settings/scanner-devices")}
    first = await logged_in.post("/settings/scanner-devices/pair", data=form)
    code = CODE.search(await first.text()).group(1)

    again = await logged_in.post("/settings/scanner-devices/pair", data=form)
    body = await again.text()
    assert again.status == 409
    assert again.headers["Cache-Control"] == "no-store"
    assert "pairing code was created then" in body and "cannot be shown again" in body
    assert 'href="/settings/scanner-devices"' in body
    assert CODE.search(body) is None and code not in body
    assert await conn.fetchval(
        "SELECT count(*) FROM pairing_codes WHERE account_id = $1", admin.account_id
    ) == 1
    # The code the first answer showed still works.
    assert (await exchange(logged_in, code)).status == 200
