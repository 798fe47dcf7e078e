"""A TCP relay in front of Postgres that a test controls: let connections through, refuse new
ones, cut the ones that exist, or go silent (a half-open connection: bytes sent, never
answered, nothing closed). Pointing only the revocation listener through it lets a test take
the listener down while the pool and the database stay up."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class TcpGate:
    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        query = dict(parse_qsl(parts.query))
        socket_dir = query.get("host", "")
        port = parts.port or int(query.get("port", 5432))
        self._unix_path = f"{socket_dir}/.s.PGSQL.{port}" if socket_dir.startswith("/") else None
        self._target = (parts.hostname or "127.0.0.1", port)
        self._target_url = target_url
        self.refusing = False
        self.silent = False
        # Seconds to hold every chunk coming from the server (a slow network to the listener).
        self.delay = 0.0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    @property
    def url(self) -> str:
        """The target URL, reached through this gate."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        parts = urlsplit(self._target_url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("host", "port")]
        user = parts.username or "postgres"
        return urlunsplit(
            parts._replace(netloc=f"{user}@127.0.0.1:{port}", query=urlencode(query))
        )

    def cut(self) -> None:
        """Close every relayed connection (both ends)."""
        for writer in list(self._pipes):
            writer.close()
        self._pipes.clear()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.close()
            return
        if self._unix_path:
            up_reader, up_writer = await asyncio.open_unix_connection(self._unix_path)
        else:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._pipes |= {writer, up_writer}
        for src, dst, from_server in ((reader, up_writer, False), (up_reader, writer, True)):
            task = asyncio.create_task(self._relay(src, dst, from_server))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _relay(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, from_server: bool
    ) -> None:
        try:
            while data := await src.read(65536):
                if self.silent:
                    continue  # swallowed: the peer waits for an answer that never comes
                if from_server and self.delay:
                    await asyncio.sleep(self.delay)
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if not self.silent:
                dst.close()
