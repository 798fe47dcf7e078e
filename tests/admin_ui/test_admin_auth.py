"""Login, logout and sessions (SEC-17), CSRF and cross-site refusal (SEC-16), rate limits."""

from __future__ import annotations

import secrets

import pytest
from admin_helpers import PASSWORD, csrf_from, login, page_csrf, page_form

from admin_ui.ratelimit import RateLimiter
from admin_ui.views.auth import LOGIN_FAILED, TOO_MANY, safe_next
from usetix.sessions import PLAIN_COOKIE_NAME, SECURE_COOKIE_NAME, session_digest


def session_id_of(client) -> str | None:
    """The session id the client would send next."""
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/")).get(PLAIN_COOKIE_NAME)
    return cookie.value if cookie else None


def plant(client, session_id: str) -> None:
    client.session.cookie_jar.update_cookies(
        {PLAIN_COOKIE_NAME: session_id}, response_url=client.make_url("/")
    )


async def test_login_sets_a_fresh_server_side_session(client, admin, conn):
    response = await login(client, admin.email, admin.password)
    assert response.status == 303
    assert response.headers["Location"] == "/settings/api-tokens"
    session_id = session_id_of(client)
    assert session_id
    row = await conn.fetchrow(
        "SELECT user_id, data::text AS data FROM admin_sessions WHERE id_digest = $1",
        session_digest(session_id),
    )
    assert row["user_id"] == admin.user_id
    assert session_id not in row["data"]
    page = await client.get("/settings/api-tokens")
    assert page.status == 200
    assert admin.email in await page.text()


@pytest.mark.parametrize(
    ("secure", "name", "must_have"),
    [
        (True, SECURE_COOKIE_NAME, ["Secure", "HttpOnly", "SameSite=Lax", "Max-Age=", "Path=/"]),
        (False, PLAIN_COOKIE_NAME, ["HttpOnly", "SameSite=Lax", "Max-Age=", "Path=/"]),
    ],
)
async def test_session_cookie_attributes(make_client, settings, admin, secure, name, must_have):
    client = await make_client(settings.replace(admin_ui={"secure_cookies": secure}))
    page = await client.get("/login")
    nonce_cookie = page.cookies  # the login form's nonce; a Secure one is not sent back on http
    token = csrf_from(await page.text())
    headers = {}
    if secure:
        headers["Cookie"] = "; ".join(f"{k}={v.value}" for k, v in nonce_cookie.items())
    response = await client.post(
        "/login",
        data={"email": admin.email, "password": admin.password, "csrf_token": token},
        headers=headers,
        allow_redirects=False,
    )
    assert response.status == 303
    [set_cookie] = [h for h in response.headers.getall("Set-Cookie") if h.startswith(name + "=")]
    for attribute in must_have:
        assert attribute in set_cookie
    assert "Domain" not in set_cookie
    if not secure:
        assert "Secure" not in set_cookie


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("ops@example.test", "wrong password"),
        ("nobody@example.test", PASSWORD),
        ("OPS@example.test", ""),
        ("", ""),
    ],
)
async def test_bad_login_gets_one_generic_message(client, admin, email, password):
    response = await login(client, email, password)
    assert response.status == 401
    body = await response.text()
    assert LOGIN_FAILED in body
    assert session_id_of(client) is None


async def test_email_is_case_insensitive(client, admin):
    response = await login(client, admin.email.upper(), admin.password)
    assert response.status == 303


async def test_login_gives_a_new_session_id_even_to_a_planted_one(client, admin, conn):
    planted = secrets.token_urlsafe(32)
    plant(client, planted)
    await login(client, admin.email, admin.password)
    first = session_id_of(client)
    assert first and first != planted
    assert not await conn.fetchval(
        "SELECT count(*) FROM admin_sessions WHERE id_digest = $1", session_digest(planted)
    )


async def test_login_over_a_live_session_replaces_it(make_client, admin, conn):
    """A browser that still holds a live session and logs in (e.g. a second tab's form) gets a
    new id, and the old one dies."""
    client = await make_client()
    form = await client.get("/login")
    token = csrf_from(await form.text())
    await login(client, admin.email, admin.password)
    first = session_id_of(client)
    response = await client.post(
        "/login",
        data={"email": admin.email, "password": admin.password, "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303
    second = session_id_of(client)
    assert second and second != first
    assert not await conn.fetchval(
        "SELECT count(*) FROM admin_sessions WHERE id_digest = $1", session_digest(first)
    )


async def test_anonymous_visits_store_no_session(client, conn):
    for _ in range(3):
        assert (await client.get("/login")).status == 200
    assert await conn.fetchval("SELECT count(*) FROM admin_sessions") == 0


async def test_logout_then_replaying_the_old_cookie_is_refused(logged_in, conn):
    old = session_id_of(logged_in)
    token = await page_csrf(logged_in)
    response = await logged_in.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login"
    assert await conn.fetchval("SELECT count(*) FROM admin_sessions") == 0
    # A copy of the old cookie, replayed by whoever kept it.
    plant(logged_in, old)
    replay = await logged_in.get("/settings/api-tokens", allow_redirects=False)
    assert replay.status == 303
    assert replay.headers["Location"].startswith("/login")


async def test_expired_session_is_refused(logged_in, conn):
    await conn.execute("UPDATE admin_sessions SET expires_at = now() - interval '1 second'")
    response = await logged_in.get("/settings/api-tokens", allow_redirects=False)
    assert response.status == 303


async def test_unsafe_actions_refuse_get(logged_in):
    response = await logged_in.get("/settings/api-tokens/1/revoke", allow_redirects=False)
    assert response.status == 405


async def sessions_of(conn, admin) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM admin_sessions WHERE user_id = $1", admin.user_id
    )


async def test_get_logout_asks_and_only_the_form_logs_out(logged_in, conn, admin):
    # upstream_app's header links to GET /logout: it gets a question, not a logout (a GET can
    # be a prefetch, a crawler, or an <img> on another site).
    page = await logged_in.get("/logout", allow_redirects=False)
    assert page.status == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = await page.text()
    assert "Log out of Usetix?" in html
    assert '<form method="post" action="/logout"' in html
    assert await sessions_of(conn, admin) == 1
    assert (await logged_in.get("/settings/api-tokens", allow_redirects=False)).status == 200

    response = await logged_in.post(
        "/logout", data={"csrf_token": csrf_from(html)}, allow_redirects=False
    )
    assert response.status == 303
    assert response.headers["Location"] == "/login"
    assert await sessions_of(conn, admin) == 0
    assert (await logged_in.get("/settings/api-tokens", allow_redirects=False)).status == 303


async def test_get_logout_without_a_session_goes_to_login(client):
    response = await client.get("/logout", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/login"


@pytest.mark.parametrize(
    ("headers", "use_token"),
    [
        ({"Origin": "https://evil.example"}, True),
        ({"Origin": "null"}, True),
        ({"Origin": "null", "Sec-Fetch-Site": "same-site"}, True),
        ({"Sec-Fetch-Site": "cross-site"}, True),
        ({"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, True),
        ({}, False),
        ({"X-CSRF-Token": "0" * 64}, False),
    ],
    ids=[
        "origin",
        "null-origin",
        "null-origin-same-site",
        "sec-fetch-site",
        "both",
        "no-token",
        "wrong-token",
    ],
)
async def test_cross_site_or_tokenless_writes_are_refused(logged_in, conn, headers, use_token):
    before = await conn.fetchval("SELECT count(*) FROM credentials")
    data = {"description": "forged", "tier": "read_write"}
    if use_token:
        data["csrf_token"] = await page_csrf(logged_in)
    response = await logged_in.post(
        "/settings/api-tokens", data=data, headers=headers, allow_redirects=False
    )
    assert response.status == 403
    assert await conn.fetchval("SELECT count(*) FROM credentials") == before
    # Logout is guarded the same way: the session survives a forged logout.
    forged = await logged_in.post("/logout", data=data, headers=headers, allow_redirects=False)
    assert forged.status == 403
    assert (await logged_in.get("/settings/api-tokens")).status == 200


@pytest.mark.parametrize("origin", ["self", "null"])
async def test_same_origin_write_is_accepted(logged_in, origin):
    """`Origin: null` is what browsers send from a no-referrer page's own form."""
    fields = await page_form(logged_in)
    host = f"{logged_in.server.host}:{logged_in.server.port}"
    response = await logged_in.post(
        "/settings/api-tokens",
        data={"description": "ok", "tier": "read", **fields},
        headers={
            "Origin": f"http://{host}" if origin == "self" else "null",
            "Sec-Fetch-Site": "same-origin",
        },
    )
    assert response.status == 200


async def test_csrf_token_of_another_session_is_refused(make_client, admin, conn):
    first, second = await make_client(), await make_client()
    await login(first, admin.email, admin.password)
    await login(second, admin.email, admin.password)
    stolen = await page_csrf(first)
    response = await second.post(
        "/settings/api-tokens",
        data={"description": "x", "tier": "read", "csrf_token": stolen},
        allow_redirects=False,
    )
    assert response.status == 403


@pytest.mark.parametrize("bad", [None, "", "0" * 64])
async def test_login_form_needs_its_csrf_token(client, admin, bad):
    await client.get("/login")
    data = {"email": admin.email, "password": admin.password}
    if bad is not None:
        data["csrf_token"] = bad
    response = await client.post("/login", data=data, allow_redirects=False)
    assert response.status == 403
    assert session_id_of(client) is None


async def test_login_is_limited_per_account(client, admin, limiters):
    for _ in range(limiters.login_account.limit):
        assert (await login(client, admin.email, "wrong")).status == 401
    # Even the right password is refused until the window ends.
    response = await login(client, admin.email, admin.password)
    assert response.status == 429
    assert TOO_MANY in await response.text()
    assert int(response.headers["Retry-After"]) > 0


async def test_login_is_limited_per_address(client, admin, limiters):
    limiters.login_address.limit = 3
    for n in range(3):
        assert (await login(client, f"user{n}@example.test", "x")).status == 401
    assert (await login(client, admin.email, admin.password)).status == 429


async def test_success_clears_the_account_counter(client, admin, limiters):
    for _ in range(limiters.login_account.limit - 1):
        await login(client, admin.email, "wrong")
    assert (await login(client, admin.email, admin.password)).status == 303
    assert not limiters.login_account.blocked(admin.email)


async def test_login_redirects_to_a_local_next(client, admin):
    page = await client.get("/login?next=/admin/events")
    body = await page.text()
    assert 'value="/admin/events"' in body
    response = await client.post(
        "/login",
        data={
            "email": admin.email,
            "password": admin.password,
            "next": "/admin/events",
            "csrf_token": csrf_from(body),
        },
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/admin/events"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/admin/events", "/admin/events"),
        ("/settings/scanner-devices?x=1", "/settings/scanner-devices?x=1"),
        ("//evil.example/", "/settings/api-tokens"),
        ("/\\evil.example", "/settings/api-tokens"),
        ("https://evil.example/", "/settings/api-tokens"),
        ("/\tevil", "/settings/api-tokens"),
        ("", "/settings/api-tokens"),
        (None, "/settings/api-tokens"),
    ],
)
def test_safe_next(value, expected):
    assert safe_next(value) == expected


def test_rate_limiter_windows():
    now = [0.0]
    limiter = RateLimiter(limit=2, window=10, clock=lambda: now[0])
    assert limiter.hit("k") and limiter.hit("k")
    assert limiter.blocked("k") and not limiter.hit("k")
    assert not limiter.blocked("other")
    assert limiter.retry_after("k") == 11
    now[0] = 10.0
    assert not limiter.blocked("k") and limiter.hit("k")


def test_rate_limiter_memory_is_bounded():
    limiter = RateLimiter(limit=1, window=10, max_keys=3, clock=lambda: 0.0)
    for key in "abcd":
        limiter.hit(key)
    assert not limiter.blocked("a") and limiter.blocked("d")
