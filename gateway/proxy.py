"""The streaming forwarder: one shared ClientSession, bodies streamed both ways, upstream
failures mapped to 502/504 in one place."""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from gateway.headers import client_response_headers, connection_tokens
from gateway.limits import BODY_FAILURE
from gateway.observe import TRACE, note_refusal
from gateway.outcomes import UpstreamFailure
from gateway.responses import refused, upstream_failed
from usetix.config import GatewaySettings

# Headers aiohttp's client would add on its own: the upstream must see only what the client
# sent (a missing Accept must not become */*, no gzip nobody asked for).
_NO_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
_NO_BODY_STATUSES = frozenset({204, 304})
UPSTREAM_FAILURE = web.RequestKey("upstream_failure", UpstreamFailure)


def open_client_session(settings: GatewaySettings) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=settings.upstream_pool_size, limit_per_host=0),
        timeout=aiohttp.ClientTimeout(
            total=None,
            sock_connect=settings.upstream_connect_timeout,
            sock_read=settings.upstream_read_timeout,
        ),
        # Bytes pass through as they came: Content-Encoding is the client's business.
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=_NO_AUTO_HEADERS,
        trust_env=False,
    )


async def forward(
    request: web.Request,
    http: aiohttp.ClientSession,
    url: URL,
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
    try:
        upstream = await http.request(
            request.method,
            url,
            headers=headers,
            data=body,
            allow_redirects=False,
        )
    except (TimeoutError, aiohttp.ServerTimeoutError):
        return _failed(request, UpstreamFailure(504, "timeout"), started)
    except aiohttp.ClientConnectorError:
        return _failed(request, UpstreamFailure(502, "connect"), started)
    except (aiohttp.ClientError, OSError):
        if (body_failure := request.get(BODY_FAILURE)) is not None:
            # The client's body passed its limit or stalled: the upload was aborted, the
            # upstream never saw a complete request. The client's fault, not the upstream's.
            note_refusal(request, body_failure)
            return refused(body_failure)
        return _failed(request, UpstreamFailure(502, "protocol"), started)
    if trace is not None:
        trace.upstream_seconds = time.perf_counter() - started

    try:
        response = web.StreamResponse(
            status=upstream.status,
            reason=_safe_reason(upstream.reason),
            headers=client_response_headers(
                upstream.headers.items(), connection_tokens(upstream.headers)
            ),
        )
        await response.prepare(request)
        if request.method != "HEAD" and upstream.status not in _NO_BODY_STATUSES:
            async for chunk in _body(upstream, request):
                await response.write(chunk)
        await response.write_eof()
        return response
    except ConnectionError:
        # The client went away; the finally clause frees the upstream connection.
        return response
    finally:
        # Back to the pool when fully read; closed when not (client gone, upstream broke).
        upstream.release()


async def _body(upstream: aiohttp.ClientResponse, request: web.Request) -> AsyncIterator[bytes]:
    """Upstream body chunks as they arrive. If the upstream breaks mid-body, the client
    connection is aborted so the truncated answer can never look complete."""
    while True:
        try:
            chunk = await upstream.content.readany()
        except (TimeoutError, aiohttp.ClientError, OSError):
            if (trace := request.get(TRACE)) is not None:
                trace.outcome, trace.upstream_error = "upstream_error", "broken"
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError("upstream broke mid-body") from None
        if not chunk:
            return
        yield chunk


def _failed(
    request: web.Request, failure: UpstreamFailure, started: float
) -> web.StreamResponse:
    request[UPSTREAM_FAILURE] = failure
    if (trace := request.get(TRACE)) is not None:
        trace.outcome = "upstream_error"
        trace.upstream_seconds = time.perf_counter() - started
        trace.upstream_error = failure.kind
    return upstream_failed(failure)


def _safe_reason(reason: str | None) -> str | None:
    if reason and reason.isprintable() and reason.isascii():
        return reason
    return None
