"""Settings → Scanner devices: pair (a short-lived single-use code, shown once), list with
last use, revoke with confirmation. The code is exchanged at POST /scanner/pair (public.py)."""

from __future__ import annotations

from aiohttp import web

from admin_ui import queries
from admin_ui.once import new_form_id
from admin_ui.responses import SECRET_PAGE_HEADERS
from admin_ui.views import revocation
from admin_ui.views.common import (
    STALE_FORM,
    already_created,
    claim_form,
    client_address,
    current_user,
    fresh_form_id,
    release_form,
    render,
)
from usetix import credential_store
from usetix.credentials import Kind
from usetix.service import POOL, SETTINGS

routes = web.RouteTableDef()

LIST_PATH = "/settings/scanner-devices"
MAX_NAME = 200


async def _list_page(
    request: web.Request, *, name: str = "", error: str | None = None, status: int = 200
) -> web.Response:
    user = current_user(request)
    pool = request.app[POOL]
    return render(
        request,
        "scanner_devices.html",
        {
            "rows": await credential_store.list_for_account(
                pool, user.account_id, kind=Kind.SCANNER
            ),
            "pending": await queries.list_pending_pairings(pool, user.account_id),
            "name": name,
            "error": error,
            # One per rendering: a reload of the code page must not make another code.
            "form_id": new_form_id(),
            "revoked": request.query.get("revoked", ""),
        },
        status=status,
    )


@routes.get(LIST_PATH)
async def list_devices(request: web.Request) -> web.Response:
    return await _list_page(request)


@routes.post(LIST_PATH + "/pair")
async def start_pairing(request: web.Request) -> web.Response:
    posted = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    name = posted.get("name", "").strip()
    if not name or len(name) > MAX_NAME:
        return await _list_page(
            request,
            name=name[:MAX_NAME],
            status=422,
            error=f"Name the device (1 to {MAX_NAME} characters), e.g. “North door 1”.",
        )
    form_id = fresh_form_id(posted)
    if form_id is None:
        return await _list_page(request, name=name, status=422, error=STALE_FORM)
    if not claim_form(request, form_id):
        return already_created(
            request,
            what="pairing code",
            advice="An unused code expires by itself; get a new one if you need it.",
            back_path=LIST_PATH,
            back_label="Scanner devices",
        )
    user = current_user(request)
    ttl = request.app[SETTINGS].admin_ui.pairing_code_ttl
    try:
        async with request.app[POOL].acquire() as conn:
            code, expires_at = await queries.create_pairing_code(
                conn,
                account_id=user.account_id,
                user_id=user.user_id,
                actor=user.email,
                description=name,
                ttl_seconds=ttl,
                client_address=client_address(request),
            )
    except BaseException:
        # Nothing was created: the same form may be submitted again.
        release_form(request, form_id)
        raise
    # Like a token, the code lives only in this response: the database keeps its digest.
    return render(
        request,
        "pairing_code.html",
        {
            "code": code,
            "name": name,
            "expires_at": expires_at,
            "minutes": max(1, ttl // 60),
            "pair_url": f"{request.scheme}://{request.host}/scanner/pair",
        },
        headers=SECRET_PAGE_HEADERS,
    )


@routes.get(LIST_PATH + "/{id}/confirm-revoke")
async def confirm_revoke(request: web.Request) -> web.Response:
    return await revocation.confirm_page(request, Kind.SCANNER, LIST_PATH, "scanner device")


@routes.post(LIST_PATH + "/{id}/revoke")
async def revoke_device(request: web.Request) -> web.Response:
    return await revocation.revoke(request, Kind.SCANNER, LIST_PATH)
