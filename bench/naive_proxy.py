"""The benchmark's reference point: a naive aiohttp proxy (issue 5's "about 0.21").

One ClientSession, the bearer token looked up in a dict, the request streamed upstream and the
answer streamed back. No target canonicalisation, no header rules, no identity, no metrics or
logs: what "an aiohttp proxy" costs before any SPEC feature. Measured in the same run as the
gateway so the report can set one against the other.

    python -m bench.naive_proxy --port 18093 --upstream http://127.0.0.1:18091 --token T
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import aiohttp
from aiohttp import web

_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "authorization"}


def make_app(upstream: str, tokens: dict[str, int]) -> web.Application:
    app = web.Application()
    session: dict[str, aiohttp.ClientSession] = {}

    async def on_startup(app: web.Application) -> None:
        session["http"] = aiohttp.ClientSession(auto_decompress=False)

    async def on_cleanup(app: web.Application) -> None:
        await session["http"].close()

    async def handle(request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        if tokens.get(auth.removeprefix("Bearer ")) is None:
            return web.Response(status=401)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        async with session["http"].request(
            request.method, upstream + request.raw_path, headers=headers,
            data=request.content if request.body_exists else None, allow_redirects=False,
        ) as upstream_response:
            response = web.StreamResponse(status=upstream_response.status, headers={
                k: v for k, v in upstream_response.headers.items() if k.lower() not in _HOP
            })
            await response.prepare(request)
            async for chunk in upstream_response.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def serve(host: str, port: int, upstream: str, token: str) -> None:
    runner = web.AppRunner(make_app(upstream, {token: 1}), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port, backlog=1024).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"naive proxy on http://{host}:{port} -> {upstream}", flush=True)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.upstream, args.token))


if __name__ == "__main__":
    main()
