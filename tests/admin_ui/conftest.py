"""Fixtures for admin_ui: an admin user of account A (tests/conftest.py's cast), the real app
on a test client, and a logged-in variant of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from admin_browser import launch
from admin_helpers import PASSWORD, Admin, login
from aiohttp.test_utils import TestClient

from admin_ui.app import create_app
from admin_ui.ratelimit import Limiters, default_limiters
from usetix import accounts
from usetix.config import Settings


@pytest.fixture
async def admin(conn: asyncpg.Connection, tokens) -> Admin:
    email = "ops@example.test"
    user_id = await accounts.create_user(
        conn, account_id=tokens.account_a, email=email, password=PASSWORD
    )
    return Admin(user_id=user_id, account_id=tokens.account_a, email=email, password=PASSWORD)


@pytest.fixture
def limiters() -> Limiters:
    """The app's limiters, so a test can read or tighten them."""
    return default_limiters()


MakeClient = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def make_client(aiohttp_client, settings: Settings, limiters: Limiters) -> MakeClient:
    async def make(settings_: Settings | None = None) -> TestClient:
        return await aiohttp_client(create_app(settings_ or settings, limiters=limiters))

    return make


@pytest.fixture
async def client(make_client: MakeClient) -> TestClient:
    return await make_client()


@pytest.fixture
async def logged_in(client: TestClient, admin: Admin) -> TestClient:
    response = await login(client, admin.email, admin.password)
    assert response.status == 303
    return client


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """A headless Chromium (tests using it are marked admin_browser.needs_chromium)."""
    async with launch() as launched:
        yield launched
