"""The admin UI in a real browser (Debian's headless Chromium via Playwright). Skipped,
saying why, when /usr/bin/chromium or playwright is missing."""

from __future__ import annotations

import re
import time

import aiohttp
import pytest
from admin_browser import create_token, log_in_with_keyboard, needs_chromium, new_page, revoke_row

from admin_ui.app import create_app
from usetix import credential_store, credentials

pytestmark = needs_chromium


@pytest.fixture
async def base_url(aiohttp_server, settings, limiters) -> str:
    server = await aiohttp_server(create_app(settings, limiters=limiters))
    return str(server.make_url("")).rstrip("/")


async def test_create_read_within_ten_seconds_then_gone_then_revoke(browser, base_url, admin, conn):
    page = await new_page(browser)
    await log_in_with_keyboard(page, base_url, admin)
    token = await create_token(page, "Browser sync", "read_write")
    shown_at = time.monotonic()
    assert re.fullmatch(r"usx_[0-9A-Za-z]{36}", token)
    assert await credential_store.lookup(conn, credentials.digest(token)) is not None
    assert int(await page.text_content("#countdown")) in range(8, 11)
    await page.get_by_role("button", name="Copy").click()
    await page.wait_for_selector("#copied", state="visible")

    # Gone at ten seconds: removed from the DOM, not merely hidden.
    await page.wait_for_selector("#token-value", state="detached", timeout=15_000)
    elapsed = time.monotonic() - shown_at
    assert 8.5 <= elapsed <= 11.5, elapsed
    assert token not in await page.content()
    assert await page.is_visible("#hidden-note")

    # Back to the list, then Back again: the value never comes back.
    await page.get_by_role("link", name="Back to API Tokens").click()
    await page.wait_for_url(f"{base_url}/settings/api-tokens")
    assert token not in await page.content()
    assert credentials.display_prefix(token) in await page.content()
    try:
        await page.go_back()
    except Exception:  # playwright's Error: Chromium may refuse to replay the uncached POST
        pass
    await page.wait_for_load_state()
    assert token not in await page.content()

    await page.goto(f"{base_url}/settings/api-tokens")
    await revoke_row(page, "Browser sync")
    assert await credential_store.lookup(conn, credentials.digest(token)) is None
    assert await page.locator("tr.revoked", has_text="Browser sync").count() == 1


async def test_back_within_the_ten_seconds_does_not_show_it_again(browser, base_url, admin):
    page = await new_page(browser)
    await log_in_with_keyboard(page, base_url, admin)
    token = await create_token(page, "Leave early", "read")
    await page.get_by_role("link", name="Back to API Tokens").click()
    await page.wait_for_selector("text=Leave early")
    try:
        await page.go_back()
    except Exception:  # playwright.async_api.Error: Chromium may refuse to replay a POST
        pass
    await page.wait_for_load_state()
    assert token not in await page.content()
    assert await page.locator("#token-value").count() == 0


async def test_reloading_the_reveal_page_creates_no_second_token(browser, base_url, admin, conn):
    page = await new_page(browser)
    await log_in_with_keyboard(page, base_url, admin)
    token = await create_token(page, "Reload me", "read")
    # Chromium re-POSTs the form on reload (headless: no "Confirm resubmission" prompt).
    response = await page.reload()
    assert response is not None and response.request.method == "POST"
    assert response.status == 409
    await page.wait_for_selector("#already-created")
    assert token not in await page.content()
    assert await page.locator("#token-value").count() == 0
    assert await conn.fetchval(
        "SELECT count(*) FROM credentials WHERE account_id = $1 AND description = 'Reload me'",
        admin.account_id,
    ) == 1
    await page.get_by_role("link", name="Back to API Tokens").click()
    await page.wait_for_url(f"{base_url}/settings/api-tokens")


async def test_without_javascript_reveal_leaves_and_revoke_still_confirms(
    browser, base_url, admin, conn
):
    page = await new_page(browser, javascript=False)
    await page.goto(f"{base_url}/login")
    await page.get_by_label("Email").fill(admin.email)
    await page.get_by_label("Password").fill(admin.password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(f"{base_url}/settings/api-tokens")
    token = await create_token(page, "No script", "read")
    shown_at = time.monotonic()
    # The noscript refresh leaves the page (for the list, same URL) after ten seconds.
    await page.wait_for_selector("#token-value", state="detached", timeout=15_000)
    assert 8.5 <= time.monotonic() - shown_at <= 12
    await page.wait_for_load_state()
    assert token not in await page.content()
    await revoke_row(page, "No script")
    assert await credential_store.lookup(conn, credentials.digest(token)) is None


async def test_pair_a_scanner_device_end_to_end(browser, base_url, admin, conn):
    page = await new_page(browser, width=390)  # a phone
    await log_in_with_keyboard(page, base_url, admin)
    await page.get_by_role("link", name="Scanner devices").click()
    await page.get_by_label("Device name").fill("Gate B")
    await page.get_by_role("button", name="Get a pairing code").click()
    code = (await page.text_content("#pairing-code")).strip()

    # The door app: plain JSON over HTTP, no cookies, no browser.
    async with aiohttp.ClientSession() as door:
        async with door.post(f"{base_url}/scanner/pair", json={"code": code}) as response:
            assert response.status == 200
            paired = await response.json()
        async with door.post(f"{base_url}/scanner/pair", json={"code": code}) as response:
            assert response.status == 400
    token = paired["token"]
    assert token.startswith("uss_")

    await page.goto(f"{base_url}/settings/scanner-devices")
    row = page.locator("tr", has_text="Gate B")
    assert credentials.display_prefix(token) in await row.inner_text()
    await revoke_row(page, "Gate B", done="Device revoked")
    assert await credential_store.lookup(conn, credentials.digest(token)) is None

    await page.get_by_role("link", name="Audit log").click()
    audit = await page.inner_text("main")
    for what in ("Pairing code issued", "Scanner device paired", "Revoked"):
        assert what in audit
    assert token not in await page.content() and code not in await page.content()
