"""Revoking a credential from a list page, shared by API tokens and scanner devices: a GET
confirmation page (works without JavaScript) whose form POSTs the revoke. The revoke itself is
POST-only (GET → 405) and CSRF-checked like every unsafe request."""

from __future__ import annotations

from aiohttp import web

from admin_ui.queries import find_credential
from admin_ui.responses import see_other
from admin_ui.views.common import client_address, credential_id, current_user, render
from usetix import credential_store
from usetix.credential_store import CredentialRow
from usetix.credentials import Kind
from usetix.service import POOL


async def _own_credential(request: web.Request, kind: Kind) -> CredentialRow:
    """The credential named in the path, of the caller's account and this kind, or 404."""
    user = current_user(request)
    row = await find_credential(
        request.app[POOL],
        account_id=user.account_id,
        credential_id=credential_id(request),
        kind=kind,
    )
    if row is None:
        raise web.HTTPNotFound()
    return row


async def confirm_page(request: web.Request, kind: Kind, list_path: str, noun: str) -> web.Response:
    row = await _own_credential(request, kind)
    return render(
        request,
        "confirm_revoke.html",
        {"row": row, "noun": noun, "action": f"{list_path}/{row.id}/revoke", "back": list_path},
    )


async def revoke(request: web.Request, kind: Kind, list_path: str) -> web.Response:
    row = await _own_credential(request, kind)
    user = current_user(request)
    async with request.app[POOL].acquire() as conn:
        await credential_store.revoke(
            conn,
            row.id,
            actor=user.email,
            account_id=user.account_id,
            client_address=client_address(request),
        )
    return see_other(f"{list_path}?revoked={row.id}")
