"""Each page: reachable only with a session, with the security headers; the audit page; the
shared browser session (browser_user) as upstream_app uses it; demo seeding."""

from __future__ import annotations

import asyncpg
import pytest
from admin_helpers import login, page_csrf, page_form
from aiohttp import web

from admin_ui.seed import DEMO_EMAIL, seed_demo
from usetix import accounts, credential_store, credentials
from usetix.passwords import verify_password
from usetix.service import POOL, SETTINGS
from usetix.sessions import browser_user

PAGES = ["/settings/api-tokens", "/settings/scanner-devices", "/settings/audit-log"]


@pytest.mark.parametrize("path", PAGES)
async def test_pages_need_a_session(client, path):
    response = await client.get(path, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == f"/login?next={path}"


@pytest.mark.parametrize("path", [*PAGES, "/login"])
async def test_pages_carry_the_security_headers(logged_in, path):
    response = await logged_in.get(path, allow_redirects=False)
    assert response.status in (200, 303)
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers.getall("Server") == ["usetix"]  # no Python or aiohttp version


async def test_even_aiohttps_own_404_names_no_version(client):
    response = await client.get("/no-such-page")
    assert response.status == 404
    assert response.headers.getall("Server") == ["usetix"]


@pytest.mark.parametrize("path", PAGES)
async def test_pages_render_for_a_logged_in_admin(logged_in, admin, path):
    response = await logged_in.get(path)
    assert response.status == 200
    body = await response.text()
    assert admin.email in body and 'name="viewport"' in body
    assert 'action="/logout"' in body


@pytest.mark.parametrize("path", ["/", "/settings"])
async def test_home_goes_to_api_tokens(logged_in, path):
    response = await logged_in.get(path, allow_redirects=False)
    assert response.headers["Location"] == "/settings/api-tokens"


@pytest.mark.parametrize("asset", ["app.css", "reveal.js"])
async def test_static_assets_need_no_session(client, asset):
    response = await client.get(f"/settings/static/{asset}")
    assert response.status == 200


async def test_audit_log_page_lists_actions_of_this_account_only(logged_in, admin, conn, tokens):
    created = await logged_in.post(
        "/settings/api-tokens",
        data={"description": "Shown in audit", "tier": "read", **await page_form(logged_in)},
    )
    raw = next(w for w in (await created.text()).split('"') if w.startswith("usx_"))
    await conn.execute(
        "INSERT INTO audit_log (account_id, actor, action) VALUES ($1, 'someone-else', 'x')",
        tokens.account_b,
    )
    body = await (await logged_in.get("/settings/audit-log")).text()
    assert "Shown in audit" in body and admin.email in body and "127.0.0.1" in body
    assert credentials.display_prefix(raw) in body
    assert raw not in body
    assert "someone-else" not in body


async def test_browser_user_is_shared_with_other_apps(aiohttp_client, logged_in, admin, settings):
    """What upstream_app does: a separate app reading the admin session cookie."""
    pool = await asyncpg.create_pool(settings.database.url, min_size=1, max_size=2)

    async def whoami(request: web.Request) -> web.Response:
        user = await browser_user(request, request.app[POOL])
        return web.json_response(None if user is None else [user.user_id, user.account_id])

    other = web.Application()
    other[POOL] = pool
    other[SETTINGS] = settings
    other.router.add_get("/whoami", whoami)
    other_client = await aiohttp_client(other)
    try:
        cookie = logged_in.session.cookie_jar.filter_cookies(logged_in.make_url("/"))
        headers = {"Cookie": "; ".join(f"{k}={v.value}" for k, v in cookie.items())}
        seen = await (await other_client.get("/whoami", headers=headers)).json()
        assert seen == [admin.user_id, admin.account_id]
        assert await (await other_client.get("/whoami")).json() is None
        # A bearer token is not a browser session.
        bearer = {"Authorization": "Bearer usx_whatever", "Accept": "text/html"}
        assert await (await other_client.get("/whoami", headers=bearer)).json() is None
        # After logout the same cookie means nothing to the other app either.
        await logged_in.post("/logout", data={"csrf_token": await page_csrf(logged_in)})
        assert await (await other_client.get("/whoami", headers=headers)).json() is None
    finally:
        await pool.close()


async def test_seed_demo_only_on_an_empty_database(conn):
    seeded = await seed_demo(conn)
    assert seeded is not None
    email, password = seeded
    assert email == DEMO_EMAIL and len(password) >= 12
    user = await accounts.user_by_email(conn, email)
    assert await verify_password(user.password_hash, password)
    assert await seed_demo(conn) is None


async def test_seed_demo_login_works(client, conn):
    email, password = await seed_demo(conn)
    assert (await login(client, email, password)).status == 303


async def test_seed_demo_leaves_existing_data_alone(conn, tokens):
    assert await seed_demo(conn) is None
    assert await conn.fetchval("SELECT count(*) FROM users") == 0
    assert await credential_store.list_for_account(conn, tokens.account_a)
