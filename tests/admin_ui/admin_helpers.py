"""Helpers for the admin_ui tests (a uniquely named module: several test folders have a
conftest.py, so `from conftest import` would be ambiguous)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

PASSWORD = "correct horse battery staple"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
FORM_ID_FIELD = re.compile(r'name="form_id" value="([A-Za-z0-9_-]+)"')


@dataclass(frozen=True)
class Admin:
    user_id: int
    account_id: int
    email: str
    password: str


def csrf_from(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def login(client: TestClient, email: str, password: str) -> ClientResponse:
    page = await client.get("/login")
    token = csrf_from(await page.text())
    return await client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        allow_redirects=False,
    )


async def page_csrf(client: TestClient, path: str = "/settings/api-tokens") -> str:
    response = await client.get(path)
    assert response.status == 200
    return csrf_from(await response.text())


async def page_form(client: TestClient, path: str = "/settings/api-tokens") -> dict[str, str]:
    """The hidden fields of the page's create form (CSRF token and single-use form id), as a
    browser would submit them."""
    response = await client.get(path)
    assert response.status == 200
    html = await response.text()
    match = FORM_ID_FIELD.search(html)
    assert match, "no form_id field on the page"
    return {"csrf_token": csrf_from(html), "form_id": match.group(1)}
