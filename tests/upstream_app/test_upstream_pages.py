"""The HTML side and the odd methods: landing, health, preflight, and the events pages that
show account data to a browser session only (a real login through admin_ui's form)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient
from upstream_helpers import log_in, log_out, signed_headers

from admin_ui.app import create_app as create_admin_ui
from usetix import accounts
from usetix.sessions import cookie_name

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
API_PATHS = [
    "/admin/account",
    "/admin/events",
    "/admin/events/evt_00000000000000000000",
    "/admin/events/evt_00000000000000000000/tickets",
    "/scanner/events/evt_00000000000000000000/tickets",
    "/scanner/checkins",
]


async def test_landing_is_public(client):
    response = await client.get("/", headers=BROWSER)
    assert response.status == 200
    html = await response.text()
    assert 'href="/login"' in html and 'href="/admin/events"' in html


@pytest.mark.parametrize(("path", "status"), [("/", 200), ("/no-such-page", 404)])
async def test_answers_name_no_python_or_aiohttp_version(client, path, status):
    # Behind the gateway this header passes through to the client as it is.
    response = await client.get(path, headers=BROWSER)
    assert response.status == status
    assert response.headers.getall("Server") == ["usetix"]


async def test_healthz(client):
    response = await client.get("/healthz")
    assert (response.status, await response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("path", API_PATHS)
async def test_preflight_allows_nothing_cross_origin(client, path):
    response = await client.options(path, headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization", "Accept": "*/*",
    })
    assert response.status == 204
    assert "OPTIONS" in response.headers["Allow"].split(", ")
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]


async def _forged(settings, cast, path: str) -> dict[str, dict[str, str]]:
    good = signed_headers(settings.secrets.identity_key, cast.a_rw, "GET", path)
    return {
        "nothing": {},
        "bearer token": {"Authorization": "Bearer usx_whatever"},
        "identity without proof": {k: v for k, v in good.items() if k != "X-Usetix-Proof"},
        "bad proof": good | {"X-Usetix-Proof": "f" * 64},
        "proof for another path": signed_headers(
            settings.secrets.identity_key, cast.a_rw, "GET", "/admin/account"
        ),
        "underscore spelling": {k.replace("-", "_"): v for k, v in good.items()}
        | {"X-Usetix-Proof": "f" * 64},
    }


@pytest.mark.parametrize("page", ["/admin/events", "/admin/events/{event}"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_no_session_redirects_to_login_without_data(
    api, client, settings, cast, page, method
):
    event = await api.new_event(cast.a_rw, name="Secret soirée", venue="Back room")
    path = page.format(event=event["id"])
    for case, headers in (await _forged(settings, cast, path)).items():
        response = await client.request(
            method, path + "?utm=1", headers=BROWSER | headers, allow_redirects=False
        )
        assert response.status == 302, case
        assert response.headers["Location"] == f"/login?next={path}", case
        body = await response.text()
        assert "Secret" not in body and event["id"] not in body.replace(path, ""), case


@dataclass(frozen=True)
class Login:
    """A real admin_ui login of an admin of account A: the cookie a browser would send to
    upstream_app, and the admin_ui client holding the session (to log out)."""

    email: str
    user_id: int
    cookie: dict[str, str]
    admin_ui: TestClient


@pytest.fixture
async def logged_in_as_a(aiohttp_client, settings, conn, tokens) -> Login:
    email, password = "ada@example.test", "correct horse battery staple"
    user_id = await accounts.create_user(
        conn, account_id=tokens.account_a, email=email, password=password
    )
    admin_ui = await aiohttp_client(create_admin_ui(settings))
    session_id = await log_in(admin_ui, settings, email, password)
    cookie = {"Cookie": f"{cookie_name(settings.admin_ui.secure_cookies)}={session_id}"}
    return Login(email=email, user_id=user_id, cookie=cookie, admin_ui=admin_ui)


async def test_session_sees_its_own_events(api, client, cast, logged_in_as_a):
    mine = await api.new_event(cast.a_rw, name="<script>alert(1)</script>")
    await api.new_ticket(cast.a_rw, mine["id"], "Ada & <b>Grace</b>")
    theirs = await api.new_event(cast.b_rw, name="B only")

    response = await client.get("/admin/events", headers=BROWSER | logged_in_as_a.cookie)
    assert response.status == 200
    assert response.content_type == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    html = await response.text()
    assert logged_in_as_a.email in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert mine["id"] in html and theirs["id"] not in html and "B only" not in html

    detail = await client.get(
        f"/admin/events/{mine['id']}", headers=BROWSER | logged_in_as_a.cookie
    )
    assert detail.status == 200
    assert "Ada &amp; &lt;b&gt;Grace&lt;/b&gt;" in await detail.text()


async def test_session_gets_not_found_page_for_foreign_event(api, client, cast, logged_in_as_a):
    theirs = await api.new_event(cast.b_rw, name="B only")
    answers = []
    for event_id in (theirs["id"], "evt_" + "Z" * 20):
        response = await client.get(
            f"/admin/events/{event_id}", headers=BROWSER | logged_in_as_a.cookie
        )
        headers = sorted((k, v) for k, v in response.headers.items() if k != "Date")
        answers.append((response.status, await response.read(), headers))
    assert answers[0] == answers[1]
    assert answers[0][0] == 404 and b"B only" not in answers[0][1]


async def test_verified_identity_gets_json_even_with_a_session(api, cast, logged_in_as_a):
    await api.new_event(cast.a_rw)
    response = await api.call("GET", "/admin/events", cast.a_rw, headers=logged_in_as_a.cookie)
    assert response.content_type == "application/json"


async def test_logout_ends_the_session_here_too(api, client, conn, cast, logged_in_as_a):
    await api.new_event(cast.a_rw, name="Members night")
    before = await client.get("/admin/events", headers=BROWSER | logged_in_as_a.cookie)
    assert before.status == 200 and "Members night" in await before.text()

    await log_out(logged_in_as_a.admin_ui)
    rows = "SELECT count(*) FROM admin_sessions WHERE user_id = $1"
    assert await conn.fetchval(rows, logged_in_as_a.user_id) == 0

    # The same cookie, replayed: upstream_app sends the browser to log in, with no data.
    after = await client.get(
        "/admin/events", headers=BROWSER | logged_in_as_a.cookie, allow_redirects=False
    )
    assert after.status == 302
    assert after.headers["Location"] == "/login?next=/admin/events"
    assert "Members night" not in await after.text()
