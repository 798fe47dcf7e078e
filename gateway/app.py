"""The gateway application: route -> negotiate -> parse -> verify -> decide -> rewrite
headers -> forward -> stream back. Each step is a plain function; this module strings them
together and owns the resources (database pool, upstream connection pool)."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import asyncpg
from aiohttp import web

from gateway import limits, ops, policy, proxy, responses
from gateway.bearer import parse_authorization
from gateway.client import client_of
from gateway.credential_services import running_verifier
from gateway.headers import request_id_from, upstream_request_headers
from gateway.negotiation import is_json_request
from gateway.observe import TRACE, note_refusal
from gateway.outcomes import AuthFailure, BadRequest, StoreUnavailable
from gateway.routing import MatchedRoute, RouteTable, parse_target
from gateway.server import CLAIMED_VERSION
from gateway.upstream_client import UpstreamPool
from gateway.verifier import CredentialVerifier
from usetix import db
from usetix.client_address import parse_networks
from usetix.config import ConfigError, Settings
from usetix.credentials import Credential
from usetix.identity import Identity, sign
from usetix.service import POOL

HTTP = web.AppKey("http", UpstreamPool)


@dataclass(frozen=True, slots=True)
class Forward:
    """A request the gateway has decided to forward, and as whom."""

    route: MatchedRoute
    target: str
    credential: Credential | None
    outcome: str


class Gateway:
    """The per-request decision and forwarding, holding what every request needs."""

    def __init__(self, settings: Settings) -> None:
        if not settings.secrets.identity_key:
            raise ConfigError(
                "secrets.identity_key is required (USETIX_SECRETS_IDENTITY_KEY): "
                "it proves identity headers to the upstream"
            )
        gw = settings.gateway
        self.settings = settings
        self.routes = RouteTable(gw.routes, dict(settings.upstreams))
        self.identity_key = settings.secrets.identity_key.encode()
        self.allowed_hosts = frozenset(h.lower() for h in gw.allowed_hosts)
        self.max_token_length = gw.max_token_length
        self.via = gw.via_name
        self.trusted_proxies = parse_networks(gw.trusted_proxies)
        self.body_limits = limits.body_limits(gw)
        self.body_idle_timeout = gw.body_idle_timeout
        self.verifier: CredentialVerifier | None = None
        self.http: UpstreamPool | None = None

    async def decide(self, request: web.Request) -> Forward:
        """Raises BadRequest, AuthFailure or StoreUnavailable when the request may not pass."""
        # First, so that refused requests are logged with the client too.
        client = client_of(request, self.trusted_proxies)
        headers = request.headers
        if "Upgrade" in headers:
            raise BadRequest(501, "not_implemented", "protocol upgrades are not supported")
        if not request.method.isupper():
            raise BadRequest(400, "bad_request", "methods are case-sensitive")
        if CLAIMED_VERSION in request:
            raise BadRequest(505, "http_version_not_supported", "only HTTP/1.0 and 1.1")
        target = parse_target(request.raw_path)
        self._check_host(headers.getall("Host", ()))
        route = self.routes.match(target.path)
        if route is None:
            raise BadRequest(404, "not_found", "no route for this path")
        if (trace := request.get(TRACE)) is not None:
            trace.route_class, trace.upstream = route.route_class, route.upstream_name
        if route.route_class not in policy.BEARER_ROUTE_CLASSES:
            return Forward(route, target.target, None, "public")
        if not is_json_request(headers.getall("Accept", ())):
            # Bearer auth fires only on JSON requests; the token authenticates nothing here.
            return Forward(route, target.target, None, "not_json")
        token = parse_authorization(headers.getall("Authorization", ()), self.max_token_length)
        assert self.verifier is not None
        credential = await self.verifier.verify(token)
        policy.decide(route.route_class, credential, request.method)
        self.verifier.record_use(credential, client, headers.get("User-Agent"))
        return Forward(route, target.target, credential, "ok")

    async def admit(self, request: web.Request) -> Forward:
        """The decision, then the declared body size: a too-large body is refused before the
        upstream is contacted (and before 100 Continue invites it)."""
        forward = await self.decide(request)
        limits.check_declared_length(
            request.headers, self.body_limits[forward.route.route_class]
        )
        return forward

    def _check_host(self, hosts: list[str]) -> None:
        if len(hosts) != 1:
            raise BadRequest(400, "bad_request", "exactly one Host header is required")
        if not self.allowed_hosts:
            return
        host = hosts[0].lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name not in self.allowed_hosts:
            raise BadRequest(421, "misdirected_request", "this host is not served here")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        forward = request.get(FORWARD)
        if forward is None:
            try:
                forward = await self.admit(request)
            except (AuthFailure, BadRequest, StoreUnavailable) as failure:
                return self.refuse(request, failure)
        return await self.forward(request, forward)

    async def expect(self, request: web.Request) -> web.StreamResponse | None:
        """Expect: 100-continue is answered only after the decision, so a refused request
        gets its final answer and its body is never invited."""
        if request.headers.get("Expect", "").lower() != "100-continue":
            return self.refuse(
                request, BadRequest(417, "expectation_failed", "only 100-continue is supported")
            )
        try:
            request[FORWARD] = await self.admit(request)
        except (AuthFailure, BadRequest, StoreUnavailable) as failure:
            return self.refuse(request, failure)
        if request.version >= aiohttp.HttpVersion11:
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return None

    def refuse(
        self, request: web.Request, failure: AuthFailure | BadRequest | StoreUnavailable
    ) -> web.Response:
        note_refusal(request, failure)
        if isinstance(failure, AuthFailure):
            response = responses.unauthorized(failure)
        elif isinstance(failure, BadRequest):
            response = responses.refused(failure)
        else:
            response = responses.unavailable()
        if request.body_exists and not request.content.is_eof():
            # An unread body would be parsed as the next request: close instead.
            response.force_close()
        return response

    async def forward(self, request: web.Request, forward: Forward) -> web.StreamResponse:
        identity = None
        request_id = request_id_from(request.headers, _new_request_id)
        if (trace := request.get(TRACE)) is not None:
            trace.outcome, trace.credential = forward.outcome, forward.credential
            trace.request_id = request_id
        if forward.credential is not None:
            credential = forward.credential
            identity = sign(
                self.identity_key,
                Identity(
                    account_id=credential.account_id,
                    credential_kind=credential.kind.value,
                    credential_id=credential.id,
                    tier=credential.tier.value,
                ),
                request_id=request_id,
                method=request.method,
                target=forward.target,
            )
        headers = upstream_request_headers(
            request.headers,
            peer=client_of(request, self.trusted_proxies),
            scheme=request.scheme,
            via=self.via,
            request_id=request_id,
            identity=identity,
        )
        assert self.http is not None
        body = None
        if request.body_exists:
            body = limits.limited_body(
                request, self.body_limits[forward.route.route_class], self.body_idle_timeout
            )
        return await proxy.forward(
            request, self.http, forward.route.upstream_base, forward.target, headers, body
        )


GATEWAY = web.AppKey("gateway", Gateway)
# The decision made while answering Expect: 100-continue, reused by the handler.
FORWARD = web.RequestKey("forward", Forward)


def _new_request_id() -> str:
    return secrets.token_hex(16)


def create_app(
    settings: Settings,
    *,
    pool: asyncpg.Pool | None = None,
    http: UpstreamPool | None = None,
) -> web.Application:
    """The gateway. Injected database and upstream pools are used as they are and left
    open."""
    gateway = Gateway(settings)
    app = web.Application()
    app[GATEWAY] = gateway
    observer = ops.instrument(app, settings, lambda: gateway.verifier)

    async def pool_context(app: web.Application) -> AsyncIterator[None]:
        database = settings.database
        own = pool is None
        # No connections at start: the gateway comes up (not ready) even if Postgres is down.
        active = pool or await db.create_pool(
            database.url, dataclasses.replace(database, pool_min_size=0)
        )
        app[POOL] = active
        # Cache, revocation listener and last-used writer live and die with the pool.
        async with running_verifier(settings, active) as verifier:
            gateway.verifier = verifier
            yield
        if own:
            await active.close()

    async def http_context(app: web.Application) -> AsyncIterator[None]:
        own = http is None
        session = http or proxy.open_upstream_pool(settings.gateway)
        gateway.http = session
        app[HTTP] = session
        yield
        if own:
            await session.close()

    app.cleanup_ctx.extend([pool_context, http_context])
    every_target = EveryTarget()
    app.router.register_resource(every_target)
    every_target.add_route(
        "*", observer.wrap(gateway.handle), expect_handler=observer.wrap_expect(gateway.expect)
    )
    return app


class EveryTarget(web.PlainResource):
    """One resource for every request target: `OPTIONS *`, `CONNECT host:443` and
    absolute-form targets included, so the gateway's own target check (routing.parse_target)
    answers them instead of aiohttp's 404. Indexed at "/", which aiohttp's router tries for
    every path; the match itself costs nothing."""

    def __init__(self) -> None:
        super().__init__("/")

    def _match(self, path: str) -> dict[str, str]:
        return {}
