"""What every view needs: the caller, its address, and rendering with the shared context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from admin_ui.keys import CSRF_TOKEN, TRUSTED_PROXIES, USED_FORM_IDS, USER
from admin_ui.once import well_formed
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


# A create form that came without a usable form_id: a page from before form ids, or a script.
STALE_FORM = "This form was out of date. Check it and submit it again."


def fresh_form_id(posted: dict[str, str]) -> str | None:
    """The posted form_id if well formed (claim it before creating anything), else None."""
    form_id = posted.get("form_id", "")
    return form_id if well_formed(form_id) else None


def claim_form(request: web.Request, form_id: str) -> bool:
    """False when this form was submitted before (a reload or resubmission of its POST)."""
    return request.app[USED_FORM_IDS].claim(form_id)


def release_form(request: web.Request, form_id: str) -> None:
    request.app[USED_FORM_IDS].release(form_id)


def already_created(
    request: web.Request, *, what: str, advice: str, back_path: str, back_label: str
) -> web.Response:
    """The answer to a replayed create form: nothing new is created and the secret, shown
    once by the first answer, is not shown again (409: the form was already used)."""
    return render(
        request,
        "already_created.html",
        {"what": what, "advice": advice, "back_path": back_path, "back_label": back_label},
        status=409,
    )
