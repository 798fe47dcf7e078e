"""One JSON line per request on stdout, and nothing else that could carry a secret.

What a line may hold is fixed here: ids, classes, outcome, status, durations, the method (when
it is a plain word) and the client address. Never a header value, a query string, and not even
the path: a client can put a token anywhere (legacy tokens have no recognisable shape), so
nothing else a client chose is logged. Which route class and upstream a request went to is
logged instead; the upstream's own log has the path.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import time
import traceback

ACCESS_LOGGER = "usetix.gateway.access"
access_log = logging.getLogger(ACCESS_LOGGER)

_TOKEN_SHAPED = re.compile(r"us[xs]_[0-9A-Za-z]{20,}")
_BEARER = re.compile(r"(?i)bearer\s+\S+")
_MAX_MESSAGE = 300


def request_line(
    *,
    request_id: str,
    method: str,
    route_class: str,
    upstream: str,
    outcome: str,
    status: int,
    duration: float,
    upstream_duration: float | None,
    upstream_error: str | None,
    account_id: int | None,
    credential_id: int | None,
    credential_kind: str | None,
    client: str | None,
) -> str:
    """The JSON document logged for one request (pure: testable without a server)."""
    record: dict[str, object] = {
        "ts": round(time.time(), 3),
        "event": "request",
        "request_id": request_id,
        "method": method if method.isalpha() and len(method) <= 16 else "other",
        "route_class": route_class,
        "upstream": upstream or None,
        "outcome": outcome,
        "status": status,
        "duration_ms": round(duration * 1000, 3),
        "client": client,
    }
    if upstream_duration is not None:
        record["upstream_ms"] = round(upstream_duration * 1000, 3)
    if upstream_error:
        record["upstream_error"] = upstream_error
    if account_id is not None:
        record["account_id"] = account_id
        record["credential_id"] = credential_id
        record["credential_kind"] = credential_kind
    return json.dumps(record, separators=(",", ":"))


def refused_line(*, status: int, limit: str, error: str, client: str | None) -> str:
    """A request refused by the server before it became one (unparseable, too large, too
    slow): the kind of failure only, never the offending bytes."""
    return json.dumps(
        {
            "ts": round(time.time(), 3),
            "event": "refused",
            "status": status,
            "outcome": "bad_request",
            "limit": limit,
            "error": error,
            "client": client,
        },
        separators=(",", ":"),
    )


def configure(stream: object = None) -> None:
    """Access lines to stdout as they are (already JSON), batched; other records as JSON lines,
    written at once. aiohttp's access logger is silenced: its format logs the query string."""
    out = stream or sys.stdout
    handler = logging.StreamHandler(out)  # type: ignore[arg-type]
    handler.setFormatter(_JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("aiohttp.access").disabled = True
    access_log.handlers[:] = [BatchHandler(out)]
    access_log.propagate = False


class BatchHandler(logging.Handler):
    """Collects access lines and writes them in one call: a write (and flush) per request was
    a tenth of the gateway's time under load. Flushed when `capacity` lines are waiting, by
    flush_periodically, and at shutdown (`flush`)."""

    def __init__(self, stream: object, capacity: int = 256) -> None:
        super().__init__()
        self._stream = stream
        self._capacity = capacity
        self._lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self._lines.append(record.getMessage())
        if len(self._lines) >= self._capacity:
            self.flush()

    def flush(self) -> None:
        if not self._lines:
            return
        lines, self._lines = self._lines, []
        self._stream.write("\n".join(lines) + "\n")  # type: ignore[attr-defined]
        self._stream.flush()  # type: ignore[attr-defined]


def flush() -> None:
    for handler in access_log.handlers:
        handler.flush()


async def flush_periodically(interval: float = 0.5) -> None:
    """Access lines reach stdout within `interval` even when traffic is light."""
    while True:
        await asyncio.sleep(interval)
        flush()


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        if record.name == ACCESS_LOGGER:
            return record.getMessage()
        document: dict[str, object] = {
            "ts": round(record.created, 3),
            "event": "log",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _scrub(record.getMessage()),
        }
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type only: messages of parser and client errors can echo bytes
            # a client sent. The traceback's frames are where the bug is.
            document["exception"] = record.exc_info[0].__name__
            document["frames"] = _frames(record.exc_info[2])
        return json.dumps(document, separators=(",", ":"))


def _scrub(message: str) -> str:
    """First line only (asyncio puts the repr of a failed task, with its exception's message,
    on the next lines), bounded, bearer values and token-shaped runs masked."""
    line = message.split("\n", 1)[0][:_MAX_MESSAGE]
    line = _BEARER.sub("Bearer [redacted]", line)
    return _TOKEN_SHAPED.sub("[token]", line)


def _frames(tb: object) -> list[str]:
    if tb is None:
        return []
    return [
        f"{frame.filename}:{frame.lineno} in {frame.name}"
        for frame in traceback.extract_tb(tb)  # type: ignore[arg-type]
    ]
