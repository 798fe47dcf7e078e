"""The ops listener: metric content, bounded cardinality, health and readiness (SPEC 7,
SEC-20)."""

from __future__ import annotations

import random
import secrets
import string

import aiohttp
from ops_wire import port_of, raw, wait_ready
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import GATEWAY
from usetix.credentials import Kind, mint

JSON = {"Accept": "application/json"}


async def scrape(running) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with aiohttp.ClientSession() as http:
        async with http.get(running.ops_url + "/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests_total(samples, route_class: str, method_class: str, outcome: str) -> float:
    key = (
        "gateway_requests_total",
        (("method_class", method_class), ("outcome", outcome), ("route_class", route_class)),
    )
    return samples[key]


async def test_requests_are_counted_by_route_class_method_class_and_outcome(
    serve, upstream, tokens
):
    running = await serve(upstream.url)
    cases = [
        ("GET", "/admin/x", {**JSON, "Authorization": f"Bearer {tokens.rw}"}),
        ("GET", "/admin/x", {**JSON, "Authorization": f"Bearer {tokens.rw}"}),
        ("POST", "/admin/x", {**JSON, "Authorization": f"Bearer {tokens.read}"}),
        ("GET", "/admin/x", {**JSON, "Authorization": f"Bearer {tokens.revoked}"}),
        ("GET", "/admin/x", {**JSON, "Authorization": f"Bearer {mint(Kind.API)}"}),
        ("GET", "/admin/x", {**JSON, "Authorization": "Bearer usx_bad,token"}),
        ("GET", "/admin/x", JSON),
        ("GET", "/admin/x", {**JSON, "Authorization": f"Bearer {tokens.scanner}"}),
        ("GET", "/admin/x", {"Accept": "text/html"}),
        ("OPTIONS", "/public", {}),
    ]
    async with aiohttp.ClientSession() as http:
        for method, path, headers in cases:
            async with http.request(method, running.public_url + path, headers=headers) as r:
                await r.read()
    await raw(port_of(running.public_url), b"GET /a/../b HTTP/1.1\r\nHost: x\r\n\r\n", quiet=1)
    samples = await scrape(running)
    assert requests_total(samples, "account", "read", "ok") == 2
    assert requests_total(samples, "account", "write", "insufficient_scope") == 1
    assert requests_total(samples, "account", "read", "revoked") == 1
    assert requests_total(samples, "account", "read", "invalid_token") == 1
    assert requests_total(samples, "account", "read", "malformed_token") == 1
    assert requests_total(samples, "account", "read", "missing_token") == 1
    assert requests_total(samples, "account", "read", "wrong_credential_kind") == 1
    assert requests_total(samples, "account", "read", "not_json") == 1
    assert requests_total(samples, "public", "other", "public") == 1
    assert requests_total(samples, "none", "read", "bad_request") == 1
    count = samples[("gateway_request_duration_seconds_count", (("route_class", "account"),))]
    assert count == 9
    upstream_count = samples[("gateway_upstream_duration_seconds_count", (("upstream", "app"),))]
    assert upstream_count == 4  # the two ok, the not_json and the public request
    assert (
        samples[("gateway_db_pool_max", ())] == running.app[GATEWAY].settings.database.pool_max_size
    )
    assert ("gateway_db_pool_in_use", ()) in samples
    assert ("gateway_open_connections", ()) in samples
    assert ("gateway_ready", ()) in samples


async def test_upstream_errors_are_counted_by_kind(serve, upstream, tokens):
    closed = await serve("http://127.0.0.1:9")  # discard port: connection refused
    async with aiohttp.ClientSession() as http:
        async with http.get(closed.public_url + "/public") as response:
            assert response.status == 502
    samples = await scrape(closed)
    errors = ("gateway_upstream_errors_total", (("kind", "connect"), ("upstream", "app")))
    assert samples[errors] == 1
    assert requests_total(samples, "public", "read", "upstream_error") == 1


def _random_text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits + "-._~") for _ in range(n))


async def test_series_stay_bounded_under_random_paths_tokens_and_methods(serve, upstream):
    running = await serve(upstream.url)
    async with aiohttp.ClientSession() as http:
        async with http.get(running.public_url + "/warm") as r:
            await r.read()
    before = set(await scrape(running))
    rng = random.Random(5)
    port = port_of(running.public_url)
    async with aiohttp.ClientSession() as http:
        for i in range(2000):
            prefix = rng.choice(["/admin/", "/scanner/", "/settings/", "/", "/x/"])
            token = rng.choice([mint(Kind.API), secrets.token_urlsafe(rng.randint(8, 60))])
            method = rng.choice(["GET", "POST", "DELETE", "PROPFIND", "PURGE", "BREW"])
            async with http.request(
                method,
                running.public_url
                + prefix
                + _random_text(rng, rng.randint(1, 40))
                + f"?q={_random_text(rng, 8)}",
                headers={
                    "Accept": rng.choice(["application/json", "*/*"]),
                    "Authorization": f"Bearer {token}",
                },
            ) as r:
                await r.read()
            if i % 200 == 0:
                await raw(
                    port,
                    b"GET / HTTP/1.1\r\nHost: x\r\nX: \x00" + token.encode() + b"\r\n\r\n",
                    quiet=0.3,
                )
    after = await scrape(running)
    new_series = {name for name, _ in set(after) - before}
    # Only series that depend on time, not on what clients sent, may appear.
    assert new_series <= {"process_open_fds"}, sorted(set(after) - before)[:10]
    label_values = {v for (_, labels) in after for (_, v) in labels}
    assert len(label_values) < 80


async def test_metrics_are_not_on_the_public_listener(serve, upstream):
    running = await serve(upstream.url)
    async with aiohttp.ClientSession() as http:
        async with http.get(running.public_url + "/metrics") as response:
            body = await response.text()
    assert "gateway_requests_total" not in body
    assert upstream.received[-1][1] == "/metrics"  # just a public path, proxied


async def test_health_and_readiness(serve, upstream):
    running = await serve(upstream.url)
    async with aiohttp.ClientSession() as http:
        async with http.get(running.ops_url + "/healthz") as response:
            assert response.status == 200
        body = await wait_ready(http, running.ops_url)
        assert body["checks"]["database"] is True
        assert body["checks"].get("listener", True) is True


async def test_not_ready_when_the_database_is_unreachable(settings, upstream):
    from ops_wire import routed

    from gateway.main import OpsBinding, start_process

    unreachable = settings.replace(
        database={"url": "postgresql://nobody@127.0.0.1:9/none", "acquire_timeout": 0.5}
    )
    running = await start_process(
        routed(unreachable, upstream.url, ready_check_timeout=0.5), OpsBinding("127.0.0.1", 0)
    )
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(running.ops_url + "/healthz") as response:
                assert response.status == 200
            async with http.get(running.ops_url + "/readyz") as response:
                assert response.status == 503
                assert (await response.json())["checks"]["database"] is False
            async with http.get(
                running.public_url + "/admin/x",
                headers={**JSON, "Authorization": f"Bearer {mint(Kind.API)}"},
            ) as response:
                assert response.status == 503  # fails closed
                assert "Retry-After" in response.headers
    finally:
        await running.stop()
