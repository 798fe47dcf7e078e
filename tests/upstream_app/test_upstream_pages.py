"""The HTML side and the odd methods: landing, health, preflight, and the events pages that
show account data to a browser session only."""

from __future__ import annotations

import pytest
from upstream_helpers import signed_headers

from usetix import sessions
from usetix.sessions import BrowserUser

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


@pytest.fixture
def logged_in_as_a(monkeypatch, tokens):
    """A browser session for account A. usetix.sessions is a stub until the admin UI lands;
    this stands in for its answer (swap for a real login once sessions exist)."""
    user = BrowserUser(user_id=1, account_id=tokens.account_a, email="ada@example.com")

    async def browser_user(request, pool):
        return user if request.cookies.get("session") == "a" else None

    monkeypatch.setattr(sessions, "browser_user", browser_user)
    return {"Cookie": "session=a"}


async def test_session_sees_its_own_events(api, client, cast, logged_in_as_a):
    mine = await api.new_event(cast.a_rw, name="<script>alert(1)</script>")
    await api.new_ticket(cast.a_rw, mine["id"], "Ada & <b>Grace</b>")
    theirs = await api.new_event(cast.b_rw, name="B only")

    response = await client.get("/admin/events", headers=BROWSER | logged_in_as_a)
    assert response.status == 200
    assert response.content_type == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    html = await response.text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert mine["id"] in html and theirs["id"] not in html and "B only" not in html

    detail = await client.get(f"/admin/events/{mine['id']}", headers=BROWSER | logged_in_as_a)
    assert detail.status == 200
    assert "Ada &amp; &lt;b&gt;Grace&lt;/b&gt;" in await detail.text()


async def test_session_gets_not_found_page_for_foreign_event(api, client, cast, logged_in_as_a):
    theirs = await api.new_event(cast.b_rw, name="B only")
    answers = []
    for event_id in (theirs["id"], "evt_" + "Z" * 20):
        response = await client.get(f"/admin/events/{event_id}", headers=BROWSER | logged_in_as_a)
        headers = sorted((k, v) for k, v in response.headers.items() if k != "Date")
        answers.append((response.status, await response.read(), headers))
    assert answers[0] == answers[1]
    assert answers[0][0] == 404 and b"B only" not in answers[0][1]


async def test_verified_identity_gets_json_even_with_a_session(api, cast, logged_in_as_a):
    await api.new_event(cast.a_rw)
    response = await api.call("GET", "/admin/events", cast.a_rw, headers=logged_in_as_a)
    assert response.content_type == "application/json"
