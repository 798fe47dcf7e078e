"""End to end through the real gateway, in the browser: one login for the whole dashboard,
a token created in the UI works with the documented curl request, and after Revoke in the UI
the next request gets 401. Also the public pairing and leak endpoints behind the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from admin_browser import create_token, needs_chromium, new_page, revoke_row
from admin_helpers import csrf_from, login, page_form
from aiohttp.test_utils import TestServer

from admin_ui.app import create_app as create_admin_ui
from usetix.config import Settings

gateway_app = pytest.importorskip("gateway.app", reason="the gateway is not built yet")
upstream_app = pytest.importorskip("upstream_app.app", reason="upstream_app is not built yet")


@dataclass(frozen=True)
class Stack:
    url: str


@pytest.fixture
async def stack(settings: Settings, limiters) -> AsyncIterator[Stack]:
    """upstream_app, admin_ui and the gateway in front of both, on loopback ports."""
    servers: list[TestServer] = []

    async def start(app) -> str:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    try:
        app_url = await start(upstream_app.create_app(settings))
        admin_url = await start(create_admin_ui(settings, limiters=limiters))
        routed = settings.replace(upstreams={"app": app_url, "admin": admin_url})
        yield Stack(url=await start(gateway_app.create_app(routed)))
    finally:
        for server in reversed(servers):
            await server.close()


async def curl(url: str, token: str, method: str = "GET") -> tuple[int, dict, dict]:
    """What the documentation's curl example sends: bearer token, Accept: application/json."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    async with aiohttp.ClientSession() as client:
        async with client.request(method, url, headers=headers, allow_redirects=False) as r:
            return r.status, dict(r.headers), await r.json()


@needs_chromium
async def test_token_from_the_ui_works_through_the_gateway_until_revoked(browser, stack, admin):
    page = await new_page(browser)
    # One login for the whole dashboard: upstream_app's HTML page sends us to log in and
    # shows the account's events afterwards.
    await page.goto(f"{stack.url}/admin/events")
    assert "/login" in page.url
    await page.get_by_label("Email").fill(admin.email)
    await page.get_by_label("Password").fill(admin.password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(f"{stack.url}/admin/events")

    await page.goto(f"{stack.url}/settings/api-tokens")
    token = await create_token(page, "Through the gateway", "read_write")

    status, _, body = await curl(f"{stack.url}/admin/events", token)
    assert status == 200 and "events" in body
    status, _, body = await curl(f"{stack.url}/admin/account", token)
    assert status == 200 and body["account"]["id"] == str(admin.account_id)
    # The token is never an admin credential, even through the gateway.
    status, _, _ = await curl(f"{stack.url}/settings/api-tokens", token)
    assert status in (401, 403)

    await page.goto(f"{stack.url}/settings/api-tokens")
    await revoke_row(page, "Through the gateway")
    status, headers, body = await curl(f"{stack.url}/admin/events", token)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert body["reason"] == "invalid_token"


async def test_pairing_and_leak_report_through_the_gateway(stack, admin, make_client):
    # The admin part straight on admin_ui is covered elsewhere; here only the public side
    # matters, so the code is made on a direct client of the same database.
    direct = await make_client()
    await login(direct, admin.email, admin.password)
    fields = await page_form(direct, "/settings/scanner-devices")
    page = await direct.post(
        "/settings/scanner-devices/pair", data={"name": "Gateway door", **fields}
    )
    code = (await page.text()).split('id="pairing-code">')[1].split("<")[0]

    async with aiohttp.ClientSession() as door:
        async with door.post(f"{stack.url}/scanner/pair", json={"code": code}) as response:
            assert response.status == 200
            device_token = (await response.json())["token"]
        # A scanner device token is not an account API credential...
        status, _, body = await curl(f"{stack.url}/admin/events", device_token)
        assert status == 401 and body["reason"] == "invalid_token"
        # ...and anyone holding it can kill it through the public leak endpoint.
        async with door.post(f"{stack.url}/tokens/revoke", json={"token": device_token}) as r:
            assert r.status == 200
    status, _, body = await curl(f"{stack.url}/scanner/events/1/tickets", device_token)
    assert status == 401 and body["reason"] == "invalid_token"


async def test_log_out_from_an_events_page_through_the_gateway(stack, admin):
    """upstream_app's header has a plain link to /logout: following it asks, the button logs
    out, and the events page then sends the browser to log in."""
    html_page = {"Accept": "text/html"}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(f"{stack.url}/login") as form:
            token = csrf_from(await form.text())
        login_form = {"email": admin.email, "password": admin.password, "csrf_token": token}
        async with browser.post(f"{stack.url}/login", data=login_form) as logged_in:
            assert logged_in.status == 200
        async with browser.get(f"{stack.url}/admin/events", headers=html_page) as events:
            assert events.status == 200
            assert '<a href="/logout">Log out</a>' in await events.text()

        async with browser.get(f"{stack.url}/logout", headers=html_page) as confirm:
            assert confirm.status == 200
            question = await confirm.text()
        assert "Log out of Usetix?" in question
        async with browser.get(f"{stack.url}/admin/events", headers=html_page) as still:
            assert still.status == 200 and still.url.path == "/admin/events"

        async with browser.post(
            f"{stack.url}/logout", data={"csrf_token": csrf_from(question)}
        ) as done:
            assert done.status == 200 and done.url.path == "/login"
        async with browser.get(
            f"{stack.url}/admin/events", headers=html_page, allow_redirects=False
        ) as after:
            assert after.status == 302
            assert after.headers["Location"].startswith("/login")
