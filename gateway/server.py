"""The public HTTP server: aiohttp's protocol with the edges a gateway needs.

* Parser errors get a generic JSON answer (400; 414 for an over-long request line, 431 for
  an over-long header field or too many of them) and a log line naming the kind of error
  only. aiohttp's own answer and ERROR log echo the offending header line, so a malformed
  `Authorization: Bearer <token>` line would otherwise leak the token into the response
  body and the logs.
* A header read deadline (slowloris): aiohttp has none. A connection gets
  gateway.header_read_timeout seconds from its first byte (or from being opened) to deliver a
  complete request head, else it gets 408 (or is just closed if it sent nothing) and is closed.
* Sizes of the head (line length, field size, field count), keep-alive and the shutdown grace
  period from the settings; aiohttp's access log off (our own JSON line replaces it); debug
  tracebacks never reach a client.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import HttpVersion, HttpVersion10, HttpVersion11, web
from aiohttp.http_exceptions import BadHttpMethod, HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from yarl import URL

from gateway.observe import OBSERVER, Observer
from gateway.responses import json_response
from usetix.config import GatewaySettings
from usetix.service import SERVER

log = logging.getLogger("usetix.gateway.server")

_TOO_MANY_HEADERS = "Too many headers"


def parse_error_answer(
    exc: BaseException | None, *, long_request_line: bool = False
) -> tuple[int, str, str]:
    """(status, limit label, error) for an HTTP parse failure: pure, and never looks at the
    exception's message beyond telling "too many headers" apart. `long_request_line`: the
    head's first line was longer than the line limit, so a line that was too long is the
    request line (414 URI Too Long), not a header field (431)."""
    if isinstance(exc, LineTooLong) and long_request_line:
        return 414, "header_too_large", "uri_too_long"
    if isinstance(exc, LineTooLong) or (
        isinstance(exc, HttpProcessingError) and exc.message.startswith(_TOO_MANY_HEADERS)
    ):
        return 431, "header_too_large", "request_header_fields_too_large"
    return 400, "bad_http", "bad_request"


def _json_response(status: int, body: dict[str, str]) -> web.Response:
    response = json_response(status, body)
    response.force_close()
    return response


def _timeout_bytes() -> bytes:
    body = b'{"error":"request_timeout","detail":"the request head took too long"}'
    return (
        b"HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
        b"Cache-Control: no-store\r\nConnection: close\r\nServer: " + SERVER.encode() + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


class GatewayRequestHandler(RequestHandler):
    """One client connection."""

    __slots__ = (
        "_first_line",
        "_first_line_ended",
        "_got_bytes",
        "_header_deadline",
        "_header_timer",
        "_in_request",
        "_long_request_line",
        "_max_line",
        "_observer",
    )

    def __init__(
        self, manager: web.Server, *, header_timeout: float, observer: Observer, **kwargs: Any
    ) -> None:
        super().__init__(manager, **kwargs)
        self._header_deadline = header_timeout
        self._header_timer: asyncio.TimerHandle | None = None
        self._in_request = False
        self._got_bytes = False
        self._observer = observer
        # Length of the pending head's first line so far: aiohttp's LineTooLong does not say
        # whether the request line or a header field was too long (414 vs 431).
        self._first_line = 0
        self._first_line_ended = False
        self._long_request_line = False
        self._max_line = int(kwargs.get("max_line_size", 8190))

    # --- header read deadline -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._start_header_timer()

    def data_received(self, data: bytes) -> None:
        if data and not self._in_request:
            self._got_bytes = True
            if self._header_timer is None:
                # The first byte of a new request on a kept-alive connection.
                self._start_header_timer()
            if not self._first_line_ended:
                end = data.find(b"\n")
                self._first_line += len(data) if end < 0 else end
                self._first_line_ended = end >= 0
        super().data_received(data)

    def request_started(self) -> None:
        """The head is complete and parsed, or failed to parse (called by the request factory,
        before handle_error for a parser error)."""
        self._in_request = True
        self._got_bytes = False
        self._long_request_line = self._first_line > self._max_line
        self._first_line = 0
        self._first_line_ended = False
        self._cancel_header_timer()

    def log_access(self, request: Any, response: Any, time: float | None) -> None:
        # Called by aiohttp once the answer is written: the connection is between requests
        # again. (aiohttp's access log itself is off; the gateway logs its own line.)
        self._in_request = False

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _start_header_timer(self) -> None:
        self._header_timer = self._loop.call_later(self._header_deadline, self._header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self._in_request or self.transport is None:
            return
        peer = self.transport.get_extra_info("peername")
        if self._got_bytes:
            self.transport.write(_timeout_bytes())
            self._observer.refused(
                limit="header_timeout",
                status=408,
                error="request_timeout",
                client=peer[0] if isinstance(peer, tuple) else None,
            )
        self.force_close()

    # --- errors ---------------------------------------------------------------------------

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """A generic JSON answer; the log names the exception type only (the message of a
        parser error quotes the raw line, the message of a handler error may quote data)."""
        if request.writer.output_size > 0:
            raise ConnectionError("the answer was already being sent")
        client = request.remote
        if isinstance(exc, HttpProcessingError):
            status, limit, error = parse_error_answer(
                exc, long_request_line=self._long_request_line
            )
            if not isinstance(exc, BadHttpMethod):  # TLS or garbage on the port: not news
                self._observer.refused(limit=limit, status=status, error=error, client=client)
            return _json_response(status, {"error": error})
        if status == 500:
            log.error(
                "request handler failed",
                exc_info=(type(exc), exc, exc.__traceback__) if exc is not None else None,
            )
            return _json_response(500, {"error": "internal_error"})
        return _json_response(status, {"error": "gateway_error"})


# A CONNECT's authority-form target (`host:443`) has an empty path, and aiohttp's router
# answers an empty path with its own plain-text 404 before any resource is tried. Routed as
# "/" instead, it reaches the gateway, whose target check reads the raw target (message.path,
# left as it came) and answers its 400 JSON, logged and counted like any refusal (SPEC 2.8).
_ROOT = URL("/")
_HTTP_1 = frozenset({HttpVersion10, HttpVersion11})
# Set on requests whose request line named a version other than HTTP/1.0 or 1.1.
CLAIMED_VERSION = web.RequestKey("claimed_version", HttpVersion)


class GatewayServer(web.Server):
    """Builds GatewayRequestHandler protocols and tells them when a head is complete."""

    def __init__(
        self, handler: Any, *, header_timeout: float, observer: Observer, **kwargs: Any
    ) -> None:
        factory = kwargs.pop("request_factory")

        def request_factory(message: Any, payload: Any, protocol: Any, *rest: Any) -> Any:
            protocol.request_started()
            if message.method == "CONNECT":
                message = message._replace(url=_ROOT)
            claimed = message.version
            if claimed not in _HTTP_1:
                # The parser reads "HTTP/2.0" as a version number and aiohttp would echo it in
                # the status line; answer in HTTP/1.1 and let the gateway refuse it (505).
                message = message._replace(version=HttpVersion11, should_close=True)
            request = factory(message, payload, protocol, *rest)
            if claimed not in _HTTP_1:
                request[CLAIMED_VERSION] = claimed
            return request

        super().__init__(handler, request_factory=request_factory, **kwargs)
        self._header_timeout = header_timeout
        self._observer = observer

    def __call__(self) -> RequestHandler:
        return GatewayRequestHandler(
            self,
            loop=self._loop,
            header_timeout=self._header_timeout,
            observer=self._observer,
            **self._kwargs,
        )


def handler_options(settings: GatewaySettings) -> dict[str, Any]:
    """What aiohttp's RequestHandler is told about sizes and timeouts."""
    return {
        "access_log": None,
        "debug": False,
        "keepalive_timeout": settings.keepalive_timeout,
        "max_line_size": settings.max_header_line,
        "max_field_size": settings.max_header_line,
        "max_headers": settings.max_headers,
        # A refused request's unread body is drained for at most this long before closing.
        "lingering_time": 2.0,
    }


class GatewayRunner(web.AppRunner):
    """web.AppRunner whose server builds the gateway's protocol (aiohttp has no option to
    choose the protocol class)."""

    def __init__(self, app: web.Application, settings: GatewaySettings) -> None:
        super().__init__(app, handle_signals=False, shutdown_timeout=settings.shutdown_grace)
        self._settings = settings

    @property
    def port(self) -> int:
        """The public port actually bound (gateway.port may be 0: any free port)."""
        return int(self.addresses[0][1])

    async def _make_server(self) -> web.Server:
        base = await super()._make_server()  # starts the app (pool, client session)
        return GatewayServer(
            base.request_handler,
            request_factory=base.request_factory,
            loop=asyncio.get_running_loop(),
            header_timeout=self._settings.header_read_timeout,
            observer=self.app[OBSERVER],
            **handler_options(self._settings),
        )


async def serve_public(
    app: web.Application, settings: GatewaySettings, *, reuse_port: bool = False
) -> GatewayRunner:
    """Serve the gateway app on gateway.host:gateway.port. The one way the public listener is
    started (`usetix gateway`, each worker, and the tests), so what the tests exercise is the
    server production runs: its parser-error answers, header deadline and head limits."""
    runner = GatewayRunner(app, settings)
    await runner.setup()
    site = web.TCPSite(
        runner, settings.host, settings.port, reuse_port=reuse_port or None, backlog=1024
    )
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()  # the app's pool and client session were already opened
        raise
    return runner
