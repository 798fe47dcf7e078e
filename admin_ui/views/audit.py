"""Settings → Audit log: who created, revoked or paired which credential, when, from where."""

from __future__ import annotations

from aiohttp import web

from admin_ui.queries import list_audit
from admin_ui.views.common import current_user, render
from usetix.service import POOL

routes = web.RouteTableDef()

ACTION_LABELS = {
    "credential.create": "Created",
    "credential.revoke": "Revoked",
    "pairing_code.create": "Pairing code issued",
    "pairing_code.burned": "Pairing code burned (too many wrong attempts)",
    "scanner.pair": "Scanner device paired",
}


@routes.get("/settings/audit-log")
async def audit_log(request: web.Request) -> web.Response:
    entries = await list_audit(request.app[POOL], current_user(request).account_id)
    return render(request, "audit_log.html", {"entries": entries, "labels": ACTION_LABELS})
