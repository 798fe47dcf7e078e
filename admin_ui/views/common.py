"""What every view needs: the caller, its address, and rendering with the shared context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from admin_ui.keys import CSRF_TOKEN, TRUSTED_PROXIES, USER
from usetix import client_address as addresses
from usetix.credentials import Tier
from usetix.sessions import BrowserUser

TIER_LABELS = {Tier.READ: "Read", Tier.READ_WRITE: "Read + Write"}


def client_address(request: web.Request) -> str:
    """The client's address for the audit log and per-address limits: the gateway's
    X-Forwarded-For when the peer is a trusted proxy, else the peer (admin_ui/README.md)."""
    return addresses.client_address(
        request.remote,
        request.headers.getall("X-Forwarded-For", []),
        request.config_dict[TRUSTED_PROXIES],
    )


def current_user(request: web.Request) -> BrowserUser:
    return request[USER]


def render(
    request: web.Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    base = {
        "user": request.get(USER),
        "csrf_token": request.get(CSRF_TOKEN, ""),
        "tier_labels": TIER_LABELS,
        "path": request.path,
    }
    response = aiohttp_jinja2.render_template(
        template, request, {**base, **(context or {})}, status=status
    )
    response.headers.update(headers or {})
    return response


def credential_id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None
