"""What happened to each request, recorded once at its end: a metric sample and a log line.

The gateway fills a Trace as it decides and forwards (route class, outcome, credential,
upstream timing); the wrapper around the route handler records it when the answer is complete
(after the last byte of a stream). Requests the server refuses before they reach the app
(unparseable, too large, too slow) are recorded by the server through `refused`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from gateway import logs
from gateway.client import CLIENT
from gateway.headers import request_id_from
from gateway.metrics import NO_ROUTE, GatewayMetrics
from usetix.credentials import Credential

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ExpectHandler = Callable[[web.Request], Awaitable[web.StreamResponse | None]]


@dataclass(slots=True)
class Trace:
    started: float
    route_class: str = NO_ROUTE
    upstream: str = ""
    outcome: str = "bad_request"
    credential: Credential | None = None
    request_id: str = ""
    upstream_seconds: float | None = None
    upstream_error: str | None = None
    limit: str | None = None


TRACE = web.RequestKey("trace", Trace)


class Observer:
    def __init__(self, metrics: GatewayMetrics) -> None:
        self.metrics = metrics

    def wrap(self, handler: Handler) -> Handler:
        async def observed(request: web.Request) -> web.StreamResponse:
            trace = request.get(TRACE)
            if trace is None:
                trace = request[TRACE] = Trace(time.perf_counter())
            status = 500
            try:
                response = await handler(request)
                status = response.status
                return response
            finally:
                self.finish(request, trace, status)

        return observed

    def wrap_expect(self, expect: ExpectHandler) -> ExpectHandler:
        async def observed(request: web.Request) -> web.StreamResponse | None:
            trace = request[TRACE] = Trace(time.perf_counter())
            response = await expect(request)
            if response is not None:
                # Refused before the body was invited: the handler will not run.
                self.finish(request, trace, response.status)
            return response

        return observed

    def finish(self, request: web.Request, trace: Trace, status: int) -> None:
        duration = time.perf_counter() - trace.started
        self.metrics.observe_request(trace.route_class, request.method, trace.outcome, duration)
        if trace.upstream_seconds is not None:
            self.metrics.observe_upstream(
                trace.upstream, trace.upstream_seconds, trace.upstream_error
            )
        if trace.limit is not None:
            self.metrics.limit_refused(trace.limit)
        credential = trace.credential
        if not trace.request_id:
            trace.request_id = request_id_from(request.headers, _new_request_id)
        logs.access_log.info(
            logs.request_line(
                request_id=trace.request_id,
                method=request.method,
                route_class=trace.route_class,
                upstream=trace.upstream,
                outcome=trace.outcome,
                status=status,
                duration=duration,
                upstream_duration=trace.upstream_seconds,
                upstream_error=trace.upstream_error,
                account_id=credential.account_id if credential else None,
                credential_id=credential.id if credential else None,
                credential_kind=credential.kind.value if credential else None,
                client=request.get(CLIENT) or request.remote,
            )
        )

    def refused(self, *, limit: str, status: int, error: str, client: str | None) -> None:
        """A request the server refused before the app saw it."""
        self.metrics.observe_request(NO_ROUTE, "", "bad_request", None)
        self.metrics.limit_refused(limit)
        logs.access_log.info(
            logs.refused_line(status=status, limit=limit, error=error, client=client)
        )


OBSERVER = web.AppKey("observer", Observer)


def _new_request_id() -> str:
    return secrets.token_hex(16)


def note_refusal(request: web.Request, failure: Exception) -> None:
    """Record why the gateway refused (the exact reason; the client got a generic answer)."""
    trace = request.get(TRACE)
    if trace is None:
        return
    reason = getattr(failure, "reason", None)
    if reason is not None:
        trace.outcome = str(reason)
    elif getattr(failure, "status", None) is not None:
        trace.outcome = "bad_request"
        trace.limit = _LIMIT_BY_STATUS.get(failure.status)  # type: ignore[attr-defined]
    else:
        trace.outcome = "unavailable"


_LIMIT_BY_STATUS = {413: "body_too_large", 408: "body_timeout"}
