"""The admin UI in a real browser: Debian's headless Chromium driven by Playwright (never
`playwright install`; no browser downloads). Skipped, saying why, without /usr/bin/chromium."""

from __future__ import annotations

import os
import re
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from admin_helpers import Admin

from admin_ui.app import create_app
from usetix import credential_store, credentials

CHROMIUM = os.environ.get("USETIX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="playwright (pip, test extra) is not installed"
)
pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)",
)


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    async with playwright_api.async_playwright() as p:
        launched = await p.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def base_url(aiohttp_server, settings, limiters) -> str:
    server = await aiohttp_server(create_app(settings, limiters=limiters))
    return str(server.make_url("")).rstrip("/")


async def new_page(browser, *, javascript: bool = True, width: int = 1280):
    context = await browser.new_context(
        java_script_enabled=javascript, viewport={"width": width, "height": 900}
    )
    return await context.new_page()


async def log_in_with_keyboard(page, base_url: str, admin: Admin) -> None:
    await page.goto(f"{base_url}/settings/api-tokens")
    assert "/login" in page.url
    # Autofocus lands on the email field; the whole form works from the keyboard.
    await page.wait_for_function("document.activeElement && document.activeElement.id == 'email'")
    await page.keyboard.type(admin.email)
    await page.keyboard.press("Tab")
    await page.keyboard.type(admin.password)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base_url}/settings/api-tokens")


async def create_token(page, description: str, tier: str) -> None:
    await page.get_by_label("Description").fill(description)
    await page.locator(f'input[name="tier"][value="{tier}"]').check()
    await page.get_by_role("button", name="Create Token").click()
    await page.wait_for_selector("#token-value")


async def revoke_row(page, description: str) -> None:
    row = page.locator("tr", has_text=description)
    await row.get_by_role("link", name="Revoke").click()
    await page.get_by_role("button", name="Revoke").click()
    await page.wait_for_selector("text=Token revoked")


async def test_create_read_within_ten_seconds_then_gone_then_revoke(browser, base_url, admin, conn):
    page = await new_page(browser)
    await log_in_with_keyboard(page, base_url, admin)
    await create_token(page, "Browser sync", "read_write")
    token = await page.input_value("#token-value")
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
    except playwright_api.Error:
        pass  # Chromium may refuse to replay the uncached POST: that is the point.
    await page.wait_for_load_state()
    assert token not in await page.content()

    await page.goto(f"{base_url}/settings/api-tokens")
    await revoke_row(page, "Browser sync")
    assert await credential_store.lookup(conn, credentials.digest(token)) is None
    assert await page.locator("tr.revoked", has_text="Browser sync").count() == 1


async def test_back_within_the_ten_seconds_does_not_show_it_again(browser, base_url, admin):
    page = await new_page(browser)
    await log_in_with_keyboard(page, base_url, admin)
    await create_token(page, "Leave early", "read")
    token = await page.input_value("#token-value")
    await page.get_by_role("link", name="Back to API Tokens").click()
    await page.wait_for_selector("text=Leave early")
    try:
        await page.go_back()
    except playwright_api.Error:
        pass
    await page.wait_for_load_state()
    assert token not in await page.content()
    assert await page.locator("#token-value").count() == 0


async def test_without_javascript_reveal_leaves_and_revoke_still_confirms(
    browser, base_url, admin, conn
):
    page = await new_page(browser, javascript=False)
    await page.goto(f"{base_url}/login")
    await page.get_by_label("Email").fill(admin.email)
    await page.get_by_label("Password").fill(admin.password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(f"{base_url}/settings/api-tokens")
    await create_token(page, "No script", "read")
    token = await page.input_value("#token-value")
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
    await row.get_by_role("link", name="Revoke").click()
    await page.get_by_role("button", name="Revoke").click()
    await page.wait_for_selector("text=Device revoked")
    assert await credential_store.lookup(conn, credentials.digest(token)) is None

    await page.get_by_role("link", name="Audit log").click()
    audit = await page.inner_text("main")
    for what in ("Pairing code issued", "Scanner device paired", "Revoked"):
        assert what in audit
    assert token not in await page.content() and code not in await page.content()
