"""The upstream leg: a small pooled HTTP/1.1 client on asyncio Protocols and llhttp (httptools).

aiohttp's ClientSession was a third of the gateway's CPU per request: it builds a request
object, a URL, a cookie jar pass, auto headers, a response object and a stream reader for
every request. The gateway needs much less: write the head it already built, stream a body,
parse the answer with a strict C parser and hand the chunks on. Behaviour pinned by
tests/gateway:

* The request goes out with exactly the target bytes and the headers given, nothing added
  but framing: the client's Content-Length is kept (the body is sent as is), a body of unknown
  length is sent chunked, and a request without a body goes without either (SPEC §4: the
  upstream sees what the client sent; no Content-Length and no Transfer-Encoding already
  means "no body" in HTTP/1.1, so adding `Content-Length: 0` would only change the head).
* The response head is parsed by llhttp, strictly (CL+TE, duplicate CL, CR or NUL in a
  header, bad status line, bad chunking are errors) except that a bare LF ends a line, as
  before. 1xx interim responses are skipped. HEAD, 1xx, 204 and 304 carry no body.
* Errors: connect refused/unreachable -> UpstreamError("connect"), connect or read timeout
  -> UpstreamError("timeout"), anything else before a complete head (reset, closed,
  malformed) -> UpstreamError("protocol"); after the head the body reader raises
  UpstreamError("broken").
* Retries: an idempotent request without a body is sent once more, on a new connection, when
  its connection closed or reset before any byte of a response (a stale keep-alive
  connection); never twice, never a request with a body, never after a timeout.
* Pool: at most `limit` connections open in all (waiters queue); a connection goes back to
  the pool only after a complete response with keep-alive, a finished upload and no extra
  bytes; otherwise it is closed. Idle connections the upstream closed are dropped.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import time
import urllib.parse
from collections.abc import AsyncIterable

import httptools

# (host, port, tls): where an upstream base URL points.
Origin = tuple[str, int, bool]

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
# Pause reading from the upstream when this much body is waiting for the client.
_HIGH_WATER = 256 * 1024
# Idle pooled connections older than this are closed rather than reused.
IDLE_TIMEOUT = 15.0


class UpstreamError(Exception):
    """kind: connect, timeout, protocol (before a complete head) or broken (mid-body)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


class UpstreamResponse(asyncio.Protocol):
    """One upstream connection, and the response being read on it."""

    def __init__(self, pool: UpstreamPool, key: Origin) -> None:
        self.pool = pool
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.loop = pool.loop
        self.closed = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._parser.set_dangerous_leniencies(lenient_optional_cr_before_lf=True)
        self._drain: asyncio.Future[None] | None = None
        self._write_paused = False
        self._reset(False)

    def _reset(self, head_only: bool) -> None:
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self._head_only = head_only
        self._interim = False
        self._head_done = False
        self._complete = False
        self._keep_alive = False
        self._until_close = False
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._read_paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._error: UpstreamError | None = None
        self.got_bytes = False
        self.upload_done = True

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        if self._complete or self._error is not None:
            # Bytes after a complete response (or after giving up): never reused.
            self._keep_alive = False
            self._abort()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(UpstreamError("protocol", "unexpected upgrade"))
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError("protocol" if not self._head_done else "broken", str(exc)))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool._closed(self)
        if self._head_done and not self._complete and self._until_close and exc is None:
            # A body delimited by the end of the connection has ended.
            self._complete = True
            self._wake()
        elif not self._complete:
            self._fail(
                UpstreamError("protocol" if not self._head_done else "broken", "closed early"),
                abort=False,
            )
        if self._drain is not None and not self._drain.done():
            self._drain.set_exception(ConnectionResetError("upstream closed"))

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # -- llhttp callbacks ----------------------------------------------------------------

    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            self._interim = True  # 100 Continue, 103 Early Hints: skipped
            return
        self.status = status
        self._head_done = True
        self._until_close = status not in (204, 304) and not any(
            name.lower() in (b"content-length", b"transfer-encoding")
            for name, _ in self.headers
        )
        if self._head_only:
            self._complete = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self._head_only:
            return
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _HIGH_WATER and not self._read_paused and self.transport:
            self._read_paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            self.reason = b""
            self.headers = []
            return
        self._keep_alive = self._parser.should_keep_alive()
        self._complete = True
        self._wake()

    # -- the caller's side ---------------------------------------------------------------

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: UpstreamError, *, abort: bool = True) -> None:
        if self._error is None:
            self._error = error
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        if abort:
            self._abort()

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _timed_out(self) -> None:
        self._fail(UpstreamError("timeout", "no answer within upstream_read_timeout"))

    async def _wait(self) -> None:
        waiter = self._waiter = self.loop.create_future()
        timer = self.loop.call_later(self.pool.read_timeout, self._timed_out)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    async def wait_head(self) -> None:
        while not self._head_done:
            if self._error is not None:
                raise self._error
            await self._wait()
        if self._error is not None:
            # The bytes that completed the head also broke the body (one read): nothing of
            # this response has been passed on yet, so it is refused whole.
            raise UpstreamError("protocol", str(self._error))

    async def read(self) -> bytes:
        """The next body chunk as it came, b"" at the end; UpstreamError("broken") or
        ("timeout") when the body cannot be completed."""
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._read_paused and self._buffered < _HIGH_WATER // 4 and self.transport:
                    self._read_paused = False
                    self.transport.resume_reading()
                return chunk
            if self._complete:
                return b""
            if self._error is not None:
                raise UpstreamError("broken", str(self._error))
            await self._wait()

    def whole_body(self) -> bytes | None:
        """The entire body when the response is already complete (a small answer that came
        in with its head), else None: the caller then streams it with read()."""
        if not self._complete or self._error is not None:
            return None
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._buffered = 0
        return data

    async def drain(self) -> None:
        if self._write_paused:
            self._drain = self.loop.create_future()
            await self._drain

    def release(self) -> None:
        """Back to the pool if the exchange is complete and the connection reusable, closed
        otherwise. Call exactly once per request."""
        reusable = (
            self._complete
            and self._keep_alive
            and self.upload_done
            and not self._head_only
            and self._error is None
            and not self.closed
        )
        if reusable:
            self.pool._release(self)
        else:
            self._abort()


class UpstreamPool:
    """Connections to the upstreams, bounded in all by `limit`."""

    def __init__(self, *, limit: int, connect_timeout: float, read_timeout: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.limit = limit or 1_000_000
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._idle: dict[Origin, list[UpstreamResponse]] = {}
        self._open = 0
        self._counted: set[int] = set()
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closing = False

    async def request(
        self,
        key: Origin,
        head: bytes,
        method: str,
        body: AsyncIterable[bytes] | None,
        *,
        chunked: bool,
    ) -> tuple[UpstreamResponse, asyncio.Task[None] | None]:
        """Send the request; return once the response head is in (and the upload task,
        still running when the upstream answered early)."""
        attempts = 2 if body is None and method in IDEMPOTENT else 1
        for attempt in range(attempts):
            conn = await self._acquire(key)
            conn._reset(method == "HEAD")
            assert conn.transport is not None
            conn.transport.write(head)
            upload = None
            if body is not None:
                conn.upload_done = False
                upload = asyncio.ensure_future(_upload(conn, body, chunked))
            try:
                await conn.wait_head()
            except BaseException as error:
                if not isinstance(error, UpstreamError):  # cancelled: the client went away
                    conn.release()
                    if upload is not None:
                        upload.cancel()
                    raise
                conn.release()
                if upload is not None:
                    if upload.done() and not upload.cancelled() and upload.exception():
                        raise upload.exception() from None  # type: ignore[misc]
                    upload.cancel()
                if error.kind == "protocol" and not conn.got_bytes and attempt + 1 < attempts:
                    continue
                raise
            return conn, upload
        raise AssertionError("unreachable")  # pragma: no cover

    async def _acquire(self, key: Origin) -> UpstreamResponse:
        idle = self._idle.get(key)
        now = time.monotonic()
        while True:
            while idle:
                conn = idle.pop()
                if not conn.closed and now - conn.idle_since < IDLE_TIMEOUT:
                    return conn
                conn._abort()
            if self._open < self.limit:
                break
            if self._close_one_idle():
                await asyncio.sleep(0)  # let connection_lost count it
                continue
            waiter = self.loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            idle = self._idle.get(key)
        return await self._connect(key)

    async def _connect(self, key: Origin) -> UpstreamResponse:
        self._open += 1
        try:
            async with asyncio.timeout(self.connect_timeout):
                host, port, tls = key
                _, conn = await self.loop.create_connection(
                    lambda: UpstreamResponse(self, key), host, port,
                    ssl=tls or None, server_hostname=host if tls else None,
                )
        except TimeoutError:
            self._uncount()
            raise UpstreamError("timeout", "connect") from None
        except OSError as exc:
            self._uncount()
            raise UpstreamError("connect", type(exc).__name__) from None
        except BaseException:
            self._uncount()
            raise
        self._counted.add(id(conn))
        return conn

    def _uncount(self) -> None:
        self._open -= 1
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _close_one_idle(self) -> bool:
        for conns in self._idle.values():
            if conns:
                conns.pop(0)._abort()
                return True
        return False

    def _release(self, conn: UpstreamResponse) -> None:
        if self._closing:
            conn._abort()
            return
        conn.idle_since = time.monotonic()
        self._idle.setdefault(conn.key, []).append(conn)
        self._wake_one()

    def _closed(self, conn: UpstreamResponse) -> None:
        if id(conn) in self._counted:
            self._counted.discard(id(conn))
            self._open -= 1
            self._wake_one()
        idle = self._idle.get(conn.key)
        if idle and conn in idle:
            idle.remove(conn)

    async def close(self) -> None:
        self._closing = True
        for conns in self._idle.values():
            for conn in conns:
                conn._abort()
        self._idle.clear()
        await asyncio.sleep(0)


async def _upload(conn: UpstreamResponse, body: AsyncIterable[bytes], chunked: bool) -> None:
    """Stream the client's body upstream; on any failure the connection is aborted, so the
    upstream never sees a complete request with a partial body."""
    try:
        transport = conn.transport
        assert transport is not None
        async for chunk in body:
            if not chunk:
                continue
            if chunked:
                transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            else:
                transport.write(chunk)
            await conn.drain()
        if chunked:
            transport.write(b"0\r\n\r\n")
        conn.upload_done = True
    except BaseException:
        conn._fail(UpstreamError("protocol", "upload failed"))
        raise


@functools.lru_cache(maxsize=64)
def origin(base: str) -> tuple[Origin, str]:
    """((host, port, tls), path prefix) of an upstream base URL (the config checked that it
    is http(s)://...; a path in it prefixes every target sent there)."""
    parts = urllib.parse.urlsplit(base)
    tls = parts.scheme == "https"
    return (parts.hostname or "", parts.port or (443 if tls else 80), tls), parts.path


def request_head(method: str, target: str, headers: object, *, body: bool,
                 declared_length: bool) -> tuple[bytes, bool]:
    """(the request head, chunked?) for the given method, target and header pairs."""
    lines = [f"{method} {target} HTTP/1.1"]
    for name, value in headers.items():  # type: ignore[attr-defined]
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError("a header carries a line break")
        lines.append(f"{name}: {value}")
    chunked = False
    if body and not declared_length:
        lines.append("Transfer-Encoding: chunked")
        chunked = True
    lines.append("\r\n")
    return "\r\n".join(lines).encode("utf-8", "surrogateescape"), chunked
