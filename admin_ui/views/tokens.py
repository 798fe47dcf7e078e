"""Settings → API Tokens: list, create (the value shown once), revoke with confirmation.

The created token exists only in the body of the POST response that reveals it: it is never
redirected to, put in a URL, kept in the session, or logged. No rotate-in-place: a row offers
"create a replacement", which only prefills the form."""

from __future__ import annotations

from aiohttp import web

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
from usetix.credentials import Kind, Tier
from usetix.service import POOL

routes = web.RouteTableDef()

LIST_PATH = "/settings/api-tokens"
MAX_DESCRIPTION = 200
# How long the reveal page shows the value (the documentation promises ten seconds).
REVEAL_SECONDS = 10


def parse_token_form(form: dict[str, str]) -> tuple[str, Tier | None, dict[str, str]]:
    """(description, tier, errors by field) from the create form."""
    description = form.get("description", "").strip()
    errors = {}
    if not description:
        errors["description"] = "Give the token a description you will recognise later."
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = f"At most {MAX_DESCRIPTION} characters."
    try:
        tier: Tier | None = Tier(form.get("tier", ""))
    except ValueError:
        tier = None
        errors["tier"] = "Pick Read or Read + Write."
    return description, tier, errors


async def _list_page(
    request: web.Request,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    user = current_user(request)
    rows = await credential_store.list_for_account(
        request.app[POOL], user.account_id, kind=Kind.API
    )
    if form is None:
        form = {"description": "", "tier": Tier.READ.value}
        replacing = request.query.get("replace", "")
        old = next((r for r in rows if replacing.isdigit() and r.id == int(replacing)), None)
        if old is not None:
            form = {"description": old.description, "tier": old.tier.value}
    return render(
        request,
        "api_tokens.html",
        {
            "rows": rows,
            "form": form,
            "errors": errors or {},
            # Every rendering gets its own: a replay of one submission is told apart from a
            # second, deliberate Create Token.
            "form_id": new_form_id(),
            "revoked": request.query.get("revoked", ""),
        },
        status=status,
    )


@routes.get(LIST_PATH)
async def list_tokens(request: web.Request) -> web.Response:
    return await _list_page(request)


@routes.post(LIST_PATH)
async def create_token(request: web.Request) -> web.Response:
    posted = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    description, tier, errors = parse_token_form(posted)
    form_id = fresh_form_id(posted)
    if form_id is None:
        errors["form"] = STALE_FORM
    if errors or tier is None or form_id is None:
        return await _list_page(request, form=posted, errors=errors, status=422)
    if not claim_form(request, form_id):
        return already_created(
            request,
            what="token",
            advice="If you did not copy it, revoke it and create a new one.",
            back_path=LIST_PATH,
            back_label="API Tokens",
        )
    user = current_user(request)
    try:
        async with request.app[POOL].acquire() as conn:
            row, token = await credential_store.create(
                conn,
                account_id=user.account_id,
                kind=Kind.API,
                tier=tier,
                description=description,
                actor=user.email,
                created_by=user.user_id,
                client_address=client_address(request),
            )
    except BaseException:
        # Nothing was created: the same form may be submitted again.
        release_form(request, form_id)
        raise
    # Rendered straight from the POST (never a redirect): reload cannot bring it back.
    return render(
        request,
        "token_created.html",
        {"row": row, "token": token, "seconds": REVEAL_SECONDS},
        headers=SECRET_PAGE_HEADERS,
    )


@routes.get(LIST_PATH + "/{id}/confirm-revoke")
async def confirm_revoke(request: web.Request) -> web.Response:
    return await revocation.confirm_page(request, Kind.API, LIST_PATH, "token")


@routes.post(LIST_PATH + "/{id}/revoke")
async def revoke_token(request: web.Request) -> web.Response:
    return await revocation.revoke(request, Kind.API, LIST_PATH)
