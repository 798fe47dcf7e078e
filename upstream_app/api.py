"""The JSON API handlers (SPEC section 8). Each one: who is asking, parse, one query call,
shape the answer. Errors are raised and answered by errors.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from aiohttp import web
from aiohttp.typedefs import Handler

from upstream_app import queries, shapes, validation
from upstream_app.context import connection, settings_of
from upstream_app.errors import Conflict, NotFound, json_response
from upstream_app.trust import Area, Denied, authorize, identity_of
from usetix.identity import Identity

ApiHandler = Callable[[web.Request, Identity], Awaitable[web.StreamResponse]]


def endpoint(
    area: Area, *, page: Handler | None = None
) -> Callable[[ApiHandler], Handler]:
    """Wrap a handler so it runs only for an identity allowed in `area`.

    With `page`, a request without a verified identity is a browser request (the gateway
    asserts identities on JSON requests only) and gets the HTML page, which checks the
    browser session itself."""

    def wrap(handler: ApiHandler) -> Handler:
        @wraps(handler)
        async def run(request: web.Request) -> web.StreamResponse:
            identity = identity_of(request, settings_of(request))
            if identity is None and page is not None:
                return await page(request)
            return await handler(request, authorize(identity, area, request.method))

        return run

    return wrap


async def _body(request: web.Request) -> dict:
    return validation.parse_body(await request.read())


def _event_id(request: web.Request) -> str:
    return request.match_info["event_id"]


async def account(request: web.Request, identity: Identity) -> web.StreamResponse:
    async with connection(request) as conn:
        name = await queries.account_name(conn, account_id=identity.account_id)
    if name is None:
        # A proof for an account that has since been deleted: it names nobody.
        raise Denied(401, "unauthorized")
    return json_response(shapes.account(identity, name))


async def list_events(request: web.Request, identity: Identity) -> web.StreamResponse:
    async with connection(request) as conn:
        events = await queries.list_events(conn, account_id=identity.account_id)
    return json_response({"events": [shapes.event(e) for e in events]})


async def create_event(request: web.Request, identity: Identity) -> web.StreamResponse:
    data = validation.event_create(await _body(request))
    async with connection(request) as conn:
        event = await queries.create_event(
            conn,
            account_id=identity.account_id,
            name=data.name,
            starts_at=data.starts_at,
            venue=data.venue,
            capacity=data.capacity,
        )
    return json_response({"event": shapes.event(event)}, status=201)


async def get_event(request: web.Request, identity: Identity) -> web.StreamResponse:
    async with connection(request) as conn:
        event = await queries.get_event(
            conn, account_id=identity.account_id, event_id=_event_id(request)
        )
    if event is None:
        raise NotFound
    return json_response({"event": shapes.event(event)})


async def update_event(request: web.Request, identity: Identity) -> web.StreamResponse:
    changes = validation.event_changes(await _body(request))
    async with connection(request) as conn:
        try:
            event = await queries.update_event(
                conn, account_id=identity.account_id, event_id=_event_id(request),
                changes=changes,
            )
        except queries.BelowIssued as exc:
            raise validation.Invalid(
                {"capacity": f"must not be below the {exc.issued} tickets already issued"}
            ) from None
    if event is None:
        raise NotFound
    return json_response({"event": shapes.event(event)})


async def delete_event(request: web.Request, identity: Identity) -> web.StreamResponse:
    async with connection(request) as conn:
        deleted = await queries.delete_event(
            conn, account_id=identity.account_id, event_id=_event_id(request)
        )
    if not deleted:
        raise NotFound
    return web.Response(status=204, headers={"Cache-Control": "no-store"})


async def list_tickets(request: web.Request, identity: Identity) -> web.StreamResponse:
    async with connection(request) as conn:
        tickets = await queries.list_tickets(
            conn, account_id=identity.account_id, event_id=_event_id(request)
        )
    if tickets is None:
        raise NotFound
    return json_response({"tickets": [shapes.ticket(t) for t in tickets]})


async def create_ticket(request: web.Request, identity: Identity) -> web.StreamResponse:
    holder_name = validation.ticket_create(await _body(request))
    async with connection(request) as conn:
        try:
            ticket = await queries.create_ticket(
                conn, account_id=identity.account_id, event_id=_event_id(request),
                holder_name=holder_name,
            )
        except queries.SoldOut:
            raise Conflict("sold_out") from None
    if ticket is None:
        raise NotFound
    return json_response({"ticket": shapes.ticket(ticket)}, status=201)


async def check_in(request: web.Request, identity: Identity) -> web.StreamResponse:
    code = validation.checkin_code(await _body(request))
    async with connection(request) as conn:
        try:
            checkin = await queries.check_in(conn, identity=identity, code=code)
        except queries.AlreadyCheckedIn as exc:
            # The first check-in tells door staff when and by which device it was used.
            raise Conflict("already_checked_in", checkin=shapes.checkin(exc.checkin)) from None
    if checkin is None:
        raise NotFound
    return json_response({"checkin": shapes.checkin(checkin)})
