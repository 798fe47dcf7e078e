"""Helpers for driving the upstream app as the gateway does: sign identity headers with
usetix.identity.sign over the exact method and target, and call the app with them; and for
its HTML pages, logging in and out through admin_ui's real forms as a browser does.
(A uniquely named module, not conftest: several test folders have a conftest.py.)"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from usetix.config import Settings
from usetix.identity import Identity, sign
from usetix.sessions import cookie_name

JSON = "application/json"
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def signed_headers(
    key: str | bytes,
    identity: Identity,
    method: str,
    target: str,
    *,
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, str]:
    """What the gateway adds to an authenticated request: identity, proof, request id."""
    request_id = request_id or uuid.uuid4().hex
    key = key.encode() if isinstance(key, str) else key
    headers = sign(key, identity, request_id=request_id, method=method, target=target, now=now)
    return {**headers, "X-Request-Id": request_id}


class Api:
    """A client that signs each request for `who` exactly as the gateway would."""

    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    async def call(
        self,
        method: str,
        target: str,
        who: Identity | None = None,
        *,
        body: Any = None,
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ClientResponse:
        sent = {"Accept": JSON}
        if who is not None:
            sent |= signed_headers(self.settings.secrets.identity_key, who, method, target)
        sent |= dict(headers or {})
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        if data is not None:
            sent.setdefault("Content-Type", JSON)
        return await self.client.request(
            method, target, data=data, headers=sent, allow_redirects=False
        )

    async def ok(self, method: str, target: str, who: Identity, body: Any = None,
                 status: int = 200) -> Any:
        """The JSON body of a call that must answer `status`."""
        response = await self.call(method, target, who, body=body)
        assert response.status == status, await response.text()
        return await response.json() if status != 204 else None

    async def new_event(self, who: Identity, **fields: Any) -> dict[str, Any]:
        body = {"name": "Launch party", "starts_at": "2030-05-01T20:00:00+02:00",
                "venue": "Hall 1", "capacity": 100} | fields
        return (await self.ok("POST", "/admin/events", who, body, 201))["event"]

    async def new_ticket(self, who: Identity, event_id: str, holder: str = "Ada") -> dict:
        target = f"/admin/events/{event_id}/tickets"
        return (await self.ok("POST", target, who, {"holder_name": holder}, 201))["ticket"]


async def _csrf(admin_ui: TestClient, path: str) -> str:
    page = await admin_ui.get(path)
    assert page.status == 200, path
    match = _CSRF_FIELD.search(await page.text())
    assert match, f"no CSRF field on {path}"
    return match.group(1)


async def log_in(admin_ui: TestClient, settings: Settings, email: str, password: str) -> str:
    """Log in through admin_ui's real form, as a browser does; the session cookie's value."""
    form = {"email": email, "password": password, "csrf_token": await _csrf(admin_ui, "/login")}
    response = await admin_ui.post("/login", data=form, allow_redirects=False)
    assert response.status == 303, await response.text()
    return response.cookies[cookie_name(settings.admin_ui.secure_cookies)].value


async def log_out(admin_ui: TestClient) -> None:
    """Press Log out in admin_ui (a POST with the session's CSRF token)."""
    token = await _csrf(admin_ui, "/settings/api-tokens")
    response = await admin_ui.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert response.status == 303, await response.text()
