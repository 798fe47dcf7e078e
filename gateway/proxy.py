"""The streaming forwarder: one upstream connection pool (gateway.upstream_client), bodies
streamed both ways, upstream failures mapped to 502/504 in one place."""

from __future__ import annotations

import time
from collections.abc import AsyncIterable

from aiohttp import hdrs, web
from multidict import CIMultiDict

from gateway.headers import client_response_headers, normalise
from gateway.limits import BODY_FAILURE
from gateway.observe import TRACE, note_refusal
from gateway.outcomes import UpstreamFailure
from gateway.responses import refused, upstream_failed
from gateway.upstream_client import UpstreamError, UpstreamPool, origin, request_head
from usetix.config import GatewaySettings

_NO_BODY_STATUSES = frozenset({204, 304})
_STATUS_BY_KIND = {"timeout": 504, "connect": 502, "protocol": 502}
UPSTREAM_FAILURE = web.RequestKey("upstream_failure", UpstreamFailure)


def open_upstream_pool(settings: GatewaySettings) -> UpstreamPool:
    """Call in the running loop. Bounded by upstream_pool_size (0: unbounded, as before)."""
    return UpstreamPool(
        limit=settings.upstream_pool_size,
        connect_timeout=settings.upstream_connect_timeout,
        read_timeout=settings.upstream_read_timeout,
    )


async def forward(
    request: web.Request,
    http: UpstreamPool,
    upstream_base: str,
    target: str,
    headers: CIMultiDict[str],
    body: AsyncIterable[bytes] | None = None,
) -> web.StreamResponse:
    """Send the request upstream and stream the answer back. Redirects are never followed:
    a 3xx goes back to the client as it came. `body` is the client's body as it should be
    streamed (counted against its limit); by default the raw request stream."""
    if body is None and request.body_exists:
        body = request.content
    trace = request.get(TRACE)
    started = time.perf_counter()
    key, base_path = origin(upstream_base)
    method = request.method
    head, chunked = request_head(
        method, base_path + target, headers, body=body is not None,
        declared_length="Content-Length" in headers,
    )
    try:
        upstream, upload = await http.request(key, head, method, body, chunked=chunked)
    except UpstreamError as error:
        if (body_failure := request.get(BODY_FAILURE)) is not None:
            # The client's body passed its limit or stalled: the upload was aborted, the
            # upstream never saw a complete request. The client's fault, not the upstream's.
            note_refusal(request, body_failure)
            return refused(body_failure)
        kind = error.kind if error.kind in _STATUS_BY_KIND else "protocol"
        return _failed(request, UpstreamFailure(_STATUS_BY_KIND[kind], kind), started)
    except Exception:
        if (body_failure := request.get(BODY_FAILURE)) is not None:
            note_refusal(request, body_failure)
            return refused(body_failure)
        raise
    if trace is not None:
        trace.upstream_seconds = time.perf_counter() - started

    response = None
    try:
        raw_headers = [
            (name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
            for name, value in upstream.headers
        ]
        headers = client_response_headers(raw_headers, _connection_tokens(raw_headers))
        status = upstream.status
        if (
            "Content-Length" in headers
            and method != "HEAD"
            and status not in _NO_BODY_STATUSES
            and (whole := upstream.whole_body()) is not None
        ):
            # The whole answer came with its head: one write, same framing (its own
            # Content-Length, which llhttp has checked against the body).
            response = _WholeAnswer(
                status=status, reason=_safe_reason(upstream.reason), headers=headers,
                body=whole,
            )
            return response
        response = _StreamedAnswer(
            status=status, reason=_safe_reason(upstream.reason), headers=headers
        )
        await response.prepare(request)
        if method != "HEAD" and upstream.status not in _NO_BODY_STATUSES:
            while True:
                try:
                    chunk = await upstream.read()
                except UpstreamError:
                    if trace is not None:
                        trace.outcome, trace.upstream_error = "upstream_error", "broken"
                    if request.transport is not None:
                        request.transport.abort()
                    raise ConnectionResetError("upstream broke mid-body") from None
                if not chunk:
                    break
                await response.write(chunk)
        await response.write_eof()
        return response
    except ConnectionError:
        # The client went away (or the upstream broke and the client was cut off); the
        # finally clause closes the upstream connection.
        return response if response is not None else web.Response(status=499)
    finally:
        if upload is not None:
            if not upload.done():
                upload.cancel()
            elif not upload.cancelled():
                upload.exception()  # retrieved: an upload the upstream cut short is no error
        # Back to the pool when fully read; closed when not (client gone, upstream broke).
        upstream.release()


class _StreamedAnswer(web.StreamResponse):
    """The upstream's answer as it came (SPEC §4): aiohttp adds `Content-Type:
    application/octet-stream` to any body without one while preparing the head, which would
    tell the client (and its sniffing rules) something the upstream never said."""

    # aiohttp's own (private) step, the only place the default is added; public hooks would
    # need gateway/app.py. tests/gateway/test_as_it_came.py notices if an upgrade moves it.
    async def _prepare_headers(self) -> None:
        untyped = hdrs.CONTENT_TYPE not in self.headers
        await super()._prepare_headers()
        if untyped:
            self.headers.popall(hdrs.CONTENT_TYPE, None)


class _WholeAnswer(web.Response, _StreamedAnswer):
    """The one-write path, with the same rule (web.Response prepares through the same
    StreamResponse._prepare_headers)."""


def _connection_tokens(headers: list[tuple[str, str]]) -> frozenset[str]:
    return frozenset(
        normalise(token.strip())
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
        if token.strip()
    )


def _failed(
    request: web.Request, failure: UpstreamFailure, started: float
) -> web.StreamResponse:
    request[UPSTREAM_FAILURE] = failure
    if (trace := request.get(TRACE)) is not None:
        trace.outcome = "upstream_error"
        trace.upstream_seconds = time.perf_counter() - started
        trace.upstream_error = failure.kind
    return upstream_failed(failure)


def _safe_reason(reason: bytes) -> str | None:
    try:
        text = reason.decode("ascii")
    except UnicodeDecodeError:
        return None
    if text and text.isprintable():
        return text
    return None
