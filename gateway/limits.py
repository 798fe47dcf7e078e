"""Request body limits and the body idle deadline.

A body is never buffered to be measured: a declared Content-Length over the route class's limit
is refused (413) before the upstream is contacted, and a streamed body is counted as it passes,
so the upload to the upstream is aborted (never completed with a partial body) the moment it
crosses the limit or stalls. The client then gets 413 or 408 and the connection is closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

from aiohttp import web
from multidict import CIMultiDictProxy

from gateway.outcomes import BadRequest
from usetix.config import ROUTE_CLASSES, GatewaySettings


class BodyRefused(Exception):
    """Raised inside the upload stream; the proxy answers with `failure` instead of 502."""

    def __init__(self, failure: BadRequest) -> None:
        super().__init__(failure.error)
        self.failure = failure


def too_large() -> BadRequest:
    # A fresh exception each time: a shared instance would keep the last traceback alive.
    return BadRequest(413, "payload_too_large", "the request body is larger than allowed here")


def body_timeout() -> BadRequest:
    return BadRequest(408, "request_timeout", "the request body stopped arriving")


BODY_FAILURE = web.RequestKey("body_failure", BadRequest)


def body_limits(settings: GatewaySettings) -> Mapping[str, int]:
    """Largest body in bytes per route class."""
    return {name: getattr(settings, f"max_body_{name}") for name in ROUTE_CLASSES}


def check_declared_length(headers: CIMultiDictProxy[str], limit: int) -> None:
    """413 up front when the client announces a body over the limit (the parser has already
    refused malformed or conflicting Content-Length values)."""
    declared = headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large()


async def limited_body(
    request: web.Request, limit: int, idle_timeout: float
) -> AsyncIterator[bytes]:
    """The request body as it arrives, counted. Passing the limit or going quiet for
    idle_timeout raises BodyRefused, which aborts the upstream request mid-upload."""
    content = request.content
    received = 0
    while True:
        try:
            async with asyncio.timeout(idle_timeout):
                chunk = await content.readany()
        except TimeoutError:
            raise _refuse(request, body_timeout()) from None
        if not chunk:
            return
        received += len(chunk)
        if received > limit:
            raise _refuse(request, too_large())
        yield chunk


def _refuse(request: web.Request, failure: BadRequest) -> BodyRefused:
    request[BODY_FAILURE] = failure
    return BodyRefused(failure)
