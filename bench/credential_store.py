"""Credential-path benchmark (issue 4): what the cache buys and how fast revocation lands.

Prints and returns three figures, each from one run:
  1. gateway requests/s with a warm cache vs caching off (rounds interleaved, same run);
  2. database lookups per request for 10,000 requests spread over 100 tokens;
  3. revocation propagation, SQL commit -> every instance answers 401, p50/p99 over 200+
     revocations across two gateway instances (target: p99 < 100 ms).

Everything runs in this one process and event loop (client, gateways, stub upstream), so the
absolute requests/s are lower than a gateway on its own core would do; the ratio is the point.
Uses DATABASE_URL when set, otherwise the embedded Postgres under var/, in a schema of its own
that is dropped afterwards.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import time
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web

from gateway.app import GATEWAY, create_app
from usetix import credential_store, credentials, db
from usetix.config import load_settings
from usetix.credentials import Kind, Tier
from usetix.embedded import database_url

THROUGHPUT_ROUNDS = 5
REQUESTS_PER_ROUND = 2_000
CONCURRENCY = 20
SPREAD_REQUESTS = 10_000
SPREAD_TOKENS = 100
REVOCATIONS = 220


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def _upstream() -> tuple[web.AppRunner, str]:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", ok)
    return await _serve(app)


async def _mint(conn: asyncpg.Connection, account: int, count: int) -> list[str]:
    minted = []
    for _ in range(count):
        _, token = await credential_store.create(
            conn, account_id=account, kind=Kind.API, tier=Tier.READ_WRITE,
            description="bench", actor="bench",
        )
        minted.append(token)
    return minted


async def _status(http: aiohttp.ClientSession, url: str, token: str) -> int:
    headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
    async with http.get(url + "/admin/events", headers=headers) as resp:
        await resp.read()
        return resp.status


async def _load(http: aiohttp.ClientSession, url: str, tokens: list[str], total: int) -> float:
    """Send `total` requests over `tokens` with CONCURRENCY workers; requests/s."""
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            status = await _status(http, url, tokens[i % len(tokens)])
            assert status == 200, status

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return total / (time.perf_counter() - started)


async def _wait_ready(app: web.Application) -> None:
    deadline = time.monotonic() + 10
    while not app[GATEWAY].verifier or not app[GATEWAY].verifier.ready:
        if time.monotonic() > deadline:
            raise RuntimeError("gateway did not become ready")
        await asyncio.sleep(0.01)


async def _run() -> dict[str, Any]:
    settings = load_settings()
    server_url = database_url(settings)
    async with db.scratch_schema(server_url, "bench") as url:
        conn = await asyncpg.connect(url)
        up_runner, up_url = await _upstream()
        runners = [up_runner]
        try:
            account = await conn.fetchval(
                "INSERT INTO accounts (name) VALUES ('bench') RETURNING id"
            )
            base = settings.replace(
                database={"url": url, "pool_max_size": 10},
                secrets={"identity_key": secrets.token_hex(32)},
                upstreams={"app": up_url, "admin": up_url},
                gateway={"allowed_hosts": ()},
            )
            apps = {
                "cached_a": create_app(base),
                "cached_b": create_app(base),
                "uncached": create_app(
                    base.replace(gateway={"allowed_hosts": (), "cache_size": 0})
                ),
                "spread": create_app(base),
            }
            urls = {}
            for name, app in apps.items():
                runner, urls[name] = await _serve(app)
                runners.append(runner)
                await _wait_ready(app)

            hot = await _mint(conn, account, 20)
            spread = await _mint(conn, account, SPREAD_TOKENS)
            doomed = await _mint(conn, account, REVOCATIONS)
            async with aiohttp.ClientSession() as http:
                await _load(http, urls["cached_a"], hot, 200)  # warm the cache
                await _load(http, urls["uncached"], hot, 200)
                cached_rates, uncached_rates = [], []
                for _ in range(THROUGHPUT_ROUNDS):
                    cached_rates.append(
                        await _load(http, urls["cached_a"], hot, REQUESTS_PER_ROUND)
                    )
                    uncached_rates.append(
                        await _load(http, urls["uncached"], hot, REQUESTS_PER_ROUND)
                    )

                spread_stats = apps["spread"][GATEWAY].verifier.stats
                before = spread_stats.db_lookups
                await _load(http, urls["spread"], spread, SPREAD_REQUESTS)
                lookups = spread_stats.db_lookups - before

                for token in doomed:
                    for name in ("cached_a", "cached_b"):
                        assert await _status(http, urls[name], token) == 200
                delays = []
                for token in doomed:
                    await conn.execute(
                        "UPDATE credentials SET revoked_at = now() WHERE digest = $1",
                        credentials.digest(token),
                    )
                    committed = time.perf_counter()
                    while True:
                        answers = await asyncio.gather(
                            _status(http, urls["cached_a"], token),
                            _status(http, urls["cached_b"], token),
                        )
                        if answers == [401, 401]:
                            break
                    delays.append((time.perf_counter() - committed) * 1000)
        finally:
            for runner in runners:
                await runner.cleanup()
            await conn.close()

    cached = statistics.median(cached_rates)
    uncached = statistics.median(uncached_rates)
    quantiles = statistics.quantiles(delays, n=100)
    return {
        "requests_per_s_cached": round(cached),
        "requests_per_s_uncached": round(uncached),
        "cache_speedup": round(cached / uncached, 2),
        "db_lookups_per_request": round(lookups / SPREAD_REQUESTS, 4),
        "db_lookups": lookups,
        "revocations": len(delays),
        "propagation_ms_p50": round(statistics.median(delays), 2),
        "propagation_ms_p99": round(quantiles[98], 2),
        "propagation_ms_max": round(max(delays), 2),
    }


def main() -> dict[str, Any]:
    figures = asyncio.run(_run())
    print("credential store benchmark (issue 4)")
    print(
        f"  throughput, warm cache vs caching off ({THROUGHPUT_ROUNDS} interleaved rounds of"
        f" {REQUESTS_PER_ROUND}, {CONCURRENCY} concurrent): "
        f"{figures['requests_per_s_cached']} vs {figures['requests_per_s_uncached']} req/s"
        f" (x{figures['cache_speedup']})"
    )
    print(
        f"  database lookups per request, {SPREAD_REQUESTS} requests over {SPREAD_TOKENS}"
        f" tokens: {figures['db_lookups_per_request']} ({figures['db_lookups']} lookups)"
    )
    print(
        f"  revocation propagation, commit -> 401 on both instances, {figures['revocations']}"
        f" revocations: p50 {figures['propagation_ms_p50']} ms, p99"
        f" {figures['propagation_ms_p99']} ms, max {figures['propagation_ms_max']} ms"
        " (target p99 < 100 ms)"
    )
    return figures


if __name__ == "__main__":
    main()
