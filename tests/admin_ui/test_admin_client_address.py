"""The client address admin_ui records and limits by, through the real gateway and directly.

Clients connect from other loopback addresses (127.0.0.2, 127.0.0.3) so the gateway's
address (127.0.0.1, trusted by default) and each client's differ on one host. Behind the
gateway the audit log names the client, not the gateway, and per-address limits count each
client on its own; an X-Forwarded-For typed by a client is never believed, whether it goes
through the gateway (which replaces it) or straight to admin_ui (from an untrusted peer)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
import pytest
from admin_helpers import csrf_from
from aiohttp.test_utils import TestServer

from admin_ui.app import create_app as create_admin_ui
from admin_ui.ratelimit import Limiters
from usetix import credential_store, credentials
from usetix.config import Settings

gateway_app = pytest.importorskip("gateway.app", reason="the gateway is not built yet")

SPOOFED = "203.0.113.9"


@dataclass(frozen=True)
class Urls:
    gateway: str
    admin_ui: str


@pytest.fixture
async def urls(settings: Settings, limiters: Limiters) -> AsyncIterator[Urls]:
    """admin_ui and the gateway in front of it, both on 127.0.0.1 (default settings)."""
    servers: list[TestServer] = []

    async def start(app) -> str:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    try:
        admin_url = await start(create_admin_ui(settings, limiters=limiters))
        # Only admin_ui's routes are used here; the events app's upstream is never contacted.
        routed = settings.replace(upstreams={"app": "http://127.0.0.1:9", "admin": admin_url})
        yield Urls(gateway=await start(gateway_app.create_app(routed)), admin_ui=admin_url)
    finally:
        for server in reversed(servers):
            await server.close()


@asynccontextmanager
async def client_from(address: str) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client whose connections leave from `address` (cookies kept, IP host)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=jar) as session:
        yield session


async def report_leak(url: str, token: str, headers: dict[str, str] | None = None) -> None:
    async with client_from("127.0.0.2") as client:
        async with client.post(f"{url}/tokens/revoke", json={"token": token}, headers=headers) as r:
            assert r.status == 200


async def log_in(
    client: aiohttp.ClientSession,
    url: str,
    email: str,
    password: str,
    headers: dict[str, str] | None = None,
) -> int:
    async with client.get(f"{url}/login") as page:
        token = csrf_from(await page.text())
    form = {"email": email, "password": password, "csrf_token": token}
    async with client.post(
        f"{url}/login", data=form, headers=headers, allow_redirects=False
    ) as response:
        return response.status


async def recorded_address(conn, token: str) -> str:
    found = await conn.fetchval(
        "SELECT a.client_address FROM audit_log a JOIN credentials c ON c.id = a.credential_id"
        " WHERE c.digest = $1 AND a.action = 'credential.revoke'",
        credentials.digest(token),
    )
    assert found is not None, "the revoke was not audited"
    return found


async def test_audit_log_shows_the_client_behind_the_gateway(urls, conn, tokens, admin):
    await report_leak(urls.gateway, tokens.rw)
    assert await credential_store.lookup(conn, credentials.digest(tokens.rw)) is None
    assert await recorded_address(conn, tokens.rw) == "127.0.0.2"

    # What the admin sees on Settings → Audit log, also through the gateway.
    async with client_from("127.0.0.3") as browser:
        assert await log_in(browser, urls.gateway, admin.email, admin.password) == 303
        async with browser.get(f"{urls.gateway}/settings/audit-log") as page:
            assert page.status == 200
            html = await page.text()
    row = html.split('data-action="credential.revoke"')[1].split("</tr>")[0]
    assert "leaked-token report" in row and "<td>127.0.0.2</td>" in row


@pytest.mark.parametrize("route", ["gateway", "admin_ui"])
async def test_a_client_forwarded_for_is_never_believed(urls, conn, tokens, route):
    url = getattr(urls, route)
    await report_leak(url, tokens.rw, headers={"X-Forwarded-For": SPOOFED})
    await report_leak(url, tokens.read, headers={"X-Forwarded-For": f"{SPOOFED}, 127.0.0.1"})
    assert await recorded_address(conn, tokens.rw) == "127.0.0.2"
    assert await recorded_address(conn, tokens.read) == "127.0.0.2"


@pytest.mark.parametrize("route", ["gateway", "admin_ui"])
async def test_per_address_login_limit_counts_each_client(urls, limiters, admin, route):
    limiters.login_address.limit = 2
    url = getattr(urls, route)
    async with client_from("127.0.0.2") as attacker, client_from("127.0.0.3") as admin_browser:
        # Different emails, so only the per-address limit can stop the third attempt; a new
        # forged X-Forwarded-For each time must not reset it.
        statuses = [
            await log_in(attacker, url, f"guess{n}@example.test", "wrong",
                         headers={"X-Forwarded-For": f"198.51.100.{n}"})
            for n in range(3)
        ]
        assert statuses == [401, 401, 429]
        # Another client (behind the same gateway) is not locked out by the first one.
        assert await log_in(admin_browser, url, admin.email, admin.password) == 303
