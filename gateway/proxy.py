"""The streaming forwarder: one shared ClientSession, bodies streamed both ways, upstream
failures mapped to 502/504 in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from gateway.headers import client_response_headers, connection_tokens
from gateway.outcomes import UpstreamFailure
from gateway.responses import upstream_failed
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
) -> web.StreamResponse:
    """Send the request upstream and stream the answer back. Redirects are never followed:
    a 3xx goes back to the client as it came."""
    try:
        upstream = await http.request(
            request.method,
            url,
            headers=headers,
            data=request.content if request.body_exists else None,
            allow_redirects=False,
        )
    except (TimeoutError, aiohttp.ServerTimeoutError):
        return _failed(request, UpstreamFailure(504, "timeout"))
    except aiohttp.ClientConnectorError:
        return _failed(request, UpstreamFailure(502, "connect"))
    except (aiohttp.ClientError, OSError):
        return _failed(request, UpstreamFailure(502, "protocol"))

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
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError("upstream broke mid-body") from None
        if not chunk:
            return
        yield chunk


def _failed(request: web.Request, failure: UpstreamFailure) -> web.StreamResponse:
    request[UPSTREAM_FAILURE] = failure
    return upstream_failed(failure)


def _safe_reason(reason: str | None) -> str | None:
    if reason and reason.isprintable() and reason.isascii():
        return reason
    return None
