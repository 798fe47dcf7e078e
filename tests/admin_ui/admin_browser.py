"""Browser helpers: Debian's headless Chromium driven by Playwright for Python (launched with
the distribution's executable; never `playwright install`, no browser downloads)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from admin_helpers import Admin

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

needs_chromium = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)",
)


@asynccontextmanager
async def launch() -> AsyncIterator[Any]:
    playwright_api = pytest.importorskip(
        "playwright.async_api", reason="playwright (pip, test extra) is not installed"
    )
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: Any, *, javascript: bool = True, width: int = 1280) -> Any:
    context = await browser.new_context(
        java_script_enabled=javascript, viewport={"width": width, "height": 900}
    )
    return await context.new_page()


async def log_in_with_keyboard(page: Any, base_url: str, admin: Admin) -> None:
    await page.goto(f"{base_url}/settings/api-tokens")
    assert "/login" in page.url
    # Autofocus lands on the email field; the whole form works from the keyboard.
    await page.wait_for_function("document.activeElement && document.activeElement.id == 'email'")
    await page.keyboard.type(admin.email)
    await page.keyboard.press("Tab")
    await page.keyboard.type(admin.password)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base_url}/settings/api-tokens")


async def create_token(page: Any, description: str, tier: str) -> str:
    """Fill and submit the create form; returns the revealed value."""
    await page.get_by_label("Description").fill(description)
    await page.locator(f'input[name="tier"][value="{tier}"]').check()
    await page.get_by_role("button", name="Create Token").click()
    await page.wait_for_selector("#token-value")
    return await page.input_value("#token-value")


async def revoke_row(page: Any, description: str, done: str = "Token revoked") -> None:
    """Revoke from a list row through the confirmation page."""
    row = page.locator("tr", has_text=description)
    await row.get_by_role("link", name="Revoke").click()
    await page.get_by_role("button", name="Revoke").click()
    await page.wait_for_selector(f"text={done}")
