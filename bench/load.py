"""Load benchmark of the gateway, driven by wrk (Debian's `wrk` package), configurations
interleaved in one run so the machine's noise (other engineers' tests) hits them alike:

  (a) the static upstream (bench/static_upstream.py) served directly
  (b) the same upstream through the gateway, one valid token (cached after the first request)
  (c) through the gateway, every request a different unknown token (wrk Lua script)
  (d) upstream_app through the gateway: GET /admin/events (an account's 20 events)
  (n) the same upstream through bench/naive_proxy.py (one ClientSession, a dict lookup of the
      token, streaming copy): the issue's "naive aiohttp proxy" reference, same rounds
  (b2) as (b) through a second gateway run with `--workers 2` (for information: the targets
      are read from the one-process rows)

plus: added p50 latency at one connection ((b) - (a)), (b) and (c) with 1,000 vs 1,000,000
credentials in the database, (b) while (c) floods, the database lookup rate under (c) against
the pool, gateway RSS with 100,000 cached credentials, and a py-spy profile of (b).

The gateway runs as `usetix gateway --workers 1` (one core for it, one for wrk and the
upstreams on this 2-core machine); its CPU time per request comes from /proc/<pid>/stat.
Everything lives in a throwaway schema (DATABASE_URL, else the embedded Postgres), dropped at
the end. Results: a table on the terminal and in bench/results/latest.md.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

from usetix import credential_store, db
from usetix.config import PROJECT_ROOT, load_settings
from usetix.credentials import Kind, Tier
from usetix.embedded import database_url

RESULTS = Path(os.environ.get("BENCH_OUTPUT", PROJECT_ROOT / "bench" / "results" / "latest.md"))
USETIX = str(PROJECT_ROOT / ".venv" / "bin" / "usetix")
PY_SPY = PROJECT_ROOT / ".venv" / "bin" / "py-spy"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
CONNECTIONS = 32
CACHED_CREDENTIALS = int(os.environ.get("BENCH_CACHED", "100000"))
# BENCH_QUICK=1: only the interleaved rounds (a, n, b, b2, a1, b1 [, b_base]), no flood,
# credential-count, memory or profile phases: a developer's before/after check.
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
# BENCH_BASELINE=<checkout>: also run that tree's gateway (e.g. a `git worktree` of the last
# commit) and measure it in the same rounds as (b_base), for an interleaved before/after ratio.
BASELINE = os.environ.get("BENCH_BASELINE", "")
# BENCH_BASELINE_ENV="KEY=VALUE,...": extra environment for the baseline gateway only (e.g.
# USETIX_GATEWAY_EVENT_LOOP=asyncio with BENCH_BASELINE=. to compare one setting).
BASELINE_ENV = dict(
    item.split("=", 1) for item in os.environ.get("BENCH_BASELINE_ENV", "").split(",") if item
)
TICKS = os.sysconf("SC_CLK_TCK")

# Every request a different token the database does not know (unprefixed: looked up like a
# legacy token, so each one really reaches the credential store unless negatively cached).
UNKNOWN_TOKENS_LUA = """
math.randomseed(os.time())
counter = 0
request = function()
  counter = counter + 1
  local token = string.format("unk%08x%08x%06d", math.random(0, 0x7fffffff),
                              math.random(0, 0x7fffffff), counter % 1000000)
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. token,
                                 ["Accept"] = "application/json"})
end
"""
# 100,000 known tokens in turn: fills the gateway's credential cache.
KNOWN_TOKENS_LUA = """
counter = 0
request = function()
  counter = counter + 1
  local token = string.format("benchtok%010d", counter % COUNT)
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. token,
                                 ["Accept"] = "application/json"})
end
""".replace("COUNT", str(CACHED_CREDENTIALS))


@dataclass
class Run:
    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    cpu_us: float | None = None
    errors: int = 0


@dataclass
class Results:
    runs: dict[str, list[Run]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    def add(self, key: str, run: Run) -> None:
        self.runs.setdefault(key, []).append(run)

    def median(self, key: str, attr: str) -> float:
        values = [getattr(r, attr) for r in self.runs.get(key, []) if getattr(r, attr) is not None]
        return statistics.median(values) if values else float("nan")


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: installing Debian's package (apt-get install -y wrk)", flush=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
        found = shutil.which("wrk")
        if found:
            return found
    sys.exit(
        "bench: wrk is required (Debian/Ubuntu: sudo apt-get install wrk; macOS: brew install "
        "wrk); it is the reference load generator the targets were set with"
    )


class Processes:
    def __init__(self) -> None:
        self.children: list[subprocess.Popen[bytes]] = []

    def start(
        self, args: list[str], env: dict[str, str], log: Path, cwd: str | Path = PROJECT_ROOT
    ) -> subprocess.Popen[bytes]:
        handle = log.open("wb")
        child = subprocess.Popen(args, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                 cwd=cwd)
        handle.close()
        self.children.append(child)
        return child

    def stop_all(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()


async def wait_http(url: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} never came up")


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- wrk ------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not match:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> tuple[float, float, float, int, int]:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                              r"timeout (\d+)", output)
    failed = int(errors.group(1)) if errors else 0
    if socket_errors:
        failed += sum(int(g) for g in socket_errors.groups())
    return rps, p50, p99, requests, failed


async def wrk(
    binary: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    script: Path | None = None,
    connections: int = CONNECTIONS,
    seconds: int = SECONDS,
) -> str:
    args = [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    if script is not None:
        args += ["-s", str(script)]
    args.append(url)
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    return out.decode()


# --- the database ---------------------------------------------------------------------------


async def bulk_credentials(conn: asyncpg.Connection, account: int, total: int) -> None:
    """Fill credentials up to `total` rows: legacy-shaped tokens benchtok0000000000… whose
    digests Postgres computes itself (sha256), in one INSERT … SELECT generate_series."""
    have = await conn.fetchval("SELECT count(*) FROM credentials")
    if have >= total:
        return
    await conn.execute(
        "INSERT INTO credentials (account_id, kind, tier, digest, display_prefix, description)"
        " SELECT $1, 'api', 'read',"
        "  sha256(convert_to('benchtok' || lpad(g::text, 10, '0'), 'UTF8')), 'benc…', 'bench'"
        " FROM generate_series($2::bigint, $3::bigint) AS g"
        " ON CONFLICT (digest) DO NOTHING",
        account,
        0,
        total - have - 1,
    )
    await conn.execute("ANALYZE credentials")


# --- the run --------------------------------------------------------------------------------


class Bench:
    def __init__(self, wrk_binary: str, work: Path) -> None:
        self.wrk = wrk_binary
        self.work = work
        self.processes = Processes()
        self.results = Results()
        self.static_port = free_port()
        self.app_port = free_port()
        self.gw_port = free_port()
        self.ops_port = free_port()
        self.gateway_pid = 0
        self.naive_port = free_port()
        self.naive_pid = 0
        self.gw2_port = free_port()
        self.ops2_port = free_port()
        self.base_port = free_port()
        self.base_pid = 0
        self.base_ops_port = free_port()

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.gw_port}"

    async def measure(
        self, key: str, label: str, url: str, *, pid: int | None = None, **options: object
    ) -> Run:
        """One wrk run; `pid` is the process whose CPU is charged (default: the gateway; 0
        for none, e.g. a multi-process gateway)."""
        pid = self.gateway_pid if pid is None else pid
        before = cpu_ticks(pid) if pid else 0
        output = await wrk(self.wrk, url, **options)  # type: ignore[arg-type]
        used = cpu_ticks(pid) - before if pid else 0
        try:
            rps, p50, p99, requests, errors = parse_wrk(output)
        except AttributeError:
            raise RuntimeError(f"wrk failed:\n{output}") from None
        run = Run(label, rps, p50, p99, requests, errors=errors)
        if key != "a" and pid:
            run.cpu_us = used / TICKS * 1e6 / max(requests, 1)
        self.results.add(key, run)
        print(f"  {key:<14} {rps:9.0f} req/s  p50 {p50:7.3f} ms  p99 {p99:7.3f} ms"
              + (f"  gateway {run.cpu_us:6.0f} µs/req" if run.cpu_us else "")
              + (f"  ({errors} errors)" if errors else ""), flush=True)
        return run

    async def scrape(self) -> dict[str, float]:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{self.ops_port}/metrics") as response:
                text = await response.text()
        values: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#") and "{" not in line:
                name, _, value = line.partition(" ")
                values[name] = float(value)
        return values

    async def run(self) -> Results:
        settings = load_settings()
        server = database_url(settings)
        async with db.scratch_schema(server, "bench") as url:
            try:
                return await self._run(url)
            finally:
                self.processes.stop_all()

    async def _run(self, url: str) -> Results:
        conn = await asyncpg.connect(url)
        account = await conn.fetchval("INSERT INTO accounts (name) VALUES ('bench') RETURNING id")
        _, token = await credential_store.create(
            conn, account_id=account, kind=Kind.API, tier=Tier.READ_WRITE,
            description="bench", actor="bench",
        )
        await bulk_credentials(conn, account, 1_000)
        self._start(url, token)
        await wait_http(f"http://127.0.0.1:{self.static_port}/")
        await wait_http(f"http://127.0.0.1:{self.app_port}/")
        await wait_http(f"http://127.0.0.1:{self.naive_port}/")
        await self._wait_ready()
        await self._wait_ready(self.ops2_port)
        if BASELINE:
            await self._wait_ready(self.base_ops_port)
        auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        async with aiohttp.ClientSession() as http:
            for i in range(20):
                async with http.post(self.gateway + "/admin/events", headers=auth, json={
                    "name": f"Concert {i}", "starts_at": "2030-01-01T20:00:00Z",
                    "venue": "Hall", "capacity": 500,
                }) as response:
                    assert response.status == 201, await response.text()
        unknown = self.work / "unknown.lua"
        unknown.write_text(UNKNOWN_TOKENS_LUA)
        static_a = f"http://127.0.0.1:{self.static_port}/static/item"
        static_b = self.gateway + "/static/item"
        static_n = f"http://127.0.0.1:{self.naive_port}/static/item"
        static_b2 = f"http://127.0.0.1:{self.gw2_port}/static/item"
        static_base = f"http://127.0.0.1:{self.base_port}/static/item"
        events_d = self.gateway + "/admin/events"

        print(f"interleaved rounds: {ROUNDS} × {SECONDS}s, {CONNECTIONS} connections", flush=True)
        for round_ in range(ROUNDS):
            print(f"round {round_ + 1}", flush=True)
            await self.measure("a", "static upstream, direct", static_a)
            await self.measure("n", "naive aiohttp proxy (dict lookup), reference", static_n,
                               headers=auth, pid=self.naive_pid)
            await self.measure("b", "gateway, cached token", static_b, headers=auth)
            if BASELINE:
                await self.measure("b_base", "baseline gateway (BENCH_BASELINE), cached token",
                                   static_base, headers=auth, pid=self.base_pid)
            await self.measure("b2", "gateway `--workers 2`, cached token", static_b2,
                               headers=auth, pid=0)
            if not QUICK:
                await self.measure("c", "gateway, unknown tokens", static_b, script=unknown)
                await self.measure("d", "gateway → upstream_app /admin/events", events_d,
                                   headers=auth)
            await self.measure("a1", "direct, 1 connection", static_a, connections=1)
            await self.measure("b1", "gateway, 1 connection", static_b, headers=auth,
                               connections=1)
            if BASELINE:
                await self.measure("b1_base", "baseline gateway, 1 connection", static_base,
                                   headers=auth, connections=1, pid=self.base_pid)
        if QUICK:
            if os.environ.get("BENCH_PROFILE"):
                self.results.extra["profile"] = await self.profile(static_b, auth)
            await conn.close()
            return self.results

        print("(b) alongside a (c) flood", flush=True)
        before = await self.scrape()
        started = time.monotonic()
        flood = asyncio.create_task(
            wrk(self.wrk, static_b, script=unknown, connections=CONNECTIONS // 2)
        )
        await self.measure("b_with_c", "(b) while (c) floods", static_b, headers=auth,
                           connections=CONNECTIONS // 2)
        flood_out = await flood
        elapsed = time.monotonic() - started
        after = await self.scrape()
        await self.measure("b_half", "(b) alone, same connections", static_b, headers=auth,
                           connections=CONNECTIONS // 2)
        lookups = after.get("gateway_db_lookups_total", 0) - before.get(
            "gateway_db_lookups_total", 0)
        flood_rps = parse_wrk(flood_out)[0]
        self.results.extra["flood"] = {
            "flood_rps": flood_rps,
            "db_lookups_per_s": lookups / elapsed,
            "pool_max": after.get("gateway_db_pool_max"),
            "store_errors": after.get("gateway_store_errors_total", 0)
            - before.get("gateway_store_errors_total", 0),
        }

        print("credential count: 1,000 then 1,000,000", flush=True)
        for size in (1_000, 1_000_000):
            if size > 1_000:
                await bulk_credentials(conn, account, size)
            for _ in range(2):
                await self.measure(f"b_{size}", f"(b), {size:,} credentials", static_b,
                                   headers=auth)
                await self.measure(f"c_{size}", f"(c), {size:,} credentials", static_b,
                                   script=unknown)

        print(f"memory with {CACHED_CREDENTIALS:,} cached credentials", flush=True)
        rss_before = rss_mb(self.gateway_pid)
        known = self.work / "known.lua"
        known.write_text(KNOWN_TOKENS_LUA)
        seconds = 0
        entries = 0.0
        while entries < CACHED_CREDENTIALS and seconds < 240:
            await wrk(self.wrk, static_b, script=known, seconds=10)
            seconds += 10
            entries = (await self.scrape()).get("gateway_credential_cache_entries", 0.0)
        self.results.extra["memory"] = {
            "rss_before_mb": rss_before,
            "rss_after_mb": rss_mb(self.gateway_pid),
            "cache_entries": entries,
        }

        print("profile of (b) with py-spy", flush=True)
        self.results.extra["profile"] = await self.profile(static_b, auth)
        await conn.close()
        return self.results

    def _start(self, url: str, token: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("USETIX_")}
        config = self.work / "bench.toml"
        config.write_text(
            "[upstreams]\n"
            f'app = "http://127.0.0.1:{self.app_port}"\n'
            f'static = "http://127.0.0.1:{self.static_port}"\n'
            "[gateway]\nallowed_hosts = []\n"
            f"cache_size = {CACHED_CREDENTIALS + 10_000}\ncache_ttl = 3600.0\n"
            "[[gateway.routes]]\nprefix = \"/admin\"\nupstream = \"app\"\nclass = \"account\"\n"
            "[[gateway.routes]]\nprefix = \"/static\"\nupstream = \"static\"\n"
            "class = \"account\"\n"
            "[[gateway.routes]]\nprefix = \"/\"\nupstream = \"app\"\nclass = \"public\"\n"
        )
        env.update(
            DATABASE_URL=url,
            USETIX_CONFIG=str(config),
            USETIX_SECRETS_IDENTITY_KEY=secrets.token_hex(32),
            USETIX_SECRETS_SESSION_KEY=secrets.token_hex(32),
        )
        self.processes.start(
            [sys.executable, "-m", "bench.static_upstream", "--port", str(self.static_port)],
            env, self.work / "static.log",
        )
        self.processes.start(
            [USETIX, "upstream-app", "--port", str(self.app_port)], env, self.work / "app.log"
        )
        gateway = self.processes.start(
            [USETIX, "gateway", "--port", str(self.gw_port), "--ops-port", str(self.ops_port),
             "--workers", "1"],
            env, self.work / "gateway.log",
        )
        self.gateway_pid = gateway.pid
        self.processes.start(
            [USETIX, "gateway", "--port", str(self.gw2_port), "--ops-port", str(self.ops2_port),
             "--workers", "2"],
            env, self.work / "gateway2.log",
        )
        self.naive_pid = self.processes.start(
            [sys.executable, "-m", "bench.naive_proxy", "--port", str(self.naive_port),
             "--upstream", f"http://127.0.0.1:{self.static_port}", "--token", token],
            env, self.work / "naive.log",
        ).pid
        if BASELINE:
            self.base_pid = self.processes.start(
                [sys.executable, "-c", "from usetix.cli import main; main()", "gateway",
                 "--port", str(self.base_port), "--ops-port", str(self.base_ops_port),
                 "--workers", "1"],
                {**env, **BASELINE_ENV, "PYTHONPATH": BASELINE}, self.work / "baseline.log",
                cwd=BASELINE,
            ).pid

    async def _wait_ready(self, ops_port: int | None = None) -> None:
        deadline = time.monotonic() + 60
        ops_port = ops_port or self.ops_port
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                try:
                    async with http.get(f"http://127.0.0.1:{ops_port}/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError("the gateway never became ready; see its log in " + str(self.work))

    async def profile(self, url: str, headers: dict[str, str]) -> dict[str, object]:
        if not PY_SPY.exists():
            return {"note": "py-spy not installed (pip install py-spy): no profile"}
        raw = self.work / "profile.txt"
        spy = await asyncio.create_subprocess_exec(
            str(PY_SPY), "record", "--pid", str(self.gateway_pid), "--duration", str(SECONDS),
            "--rate", "250", "--format", "raw", "--output", str(raw), "--nonblocking",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )
        await asyncio.sleep(0.5)
        await wrk(self.wrk, url, headers=headers, seconds=SECONDS)
        await spy.wait()
        if not raw.exists():
            return {"note": "py-spy could not attach (ptrace not permitted?)"}
        return summarise_profile(raw.read_text())


# Where time goes, by the innermost frame that names one of these (first match wins).
_BUCKETS = (
    ("request log (json + logging)", ("gateway/logs.py", "logging/__init__.py", "json/")),
    ("metrics", ("prometheus_client",)),
    ("upstream client (gateway/upstream_client.py, httptools; aiohttp's client if present)", (
        "gateway/upstream_client.py", "httptools/", "aiohttp/client", "aiohttp/connector",
        "aiohttp/streams.py")),
    ("header rewriting", ("gateway/headers.py",)),
    ("identity signing", ("usetix/identity.py", "hmac.py")),
    ("decision (route, negotiate, parse, verify, policy)", (
        "gateway/routing.py", "gateway/negotiation.py", "gateway/bearer.py",
        "gateway/verifier.py", "gateway/cache.py", "gateway/policy.py", "gateway/usage.py")),
    ("response writing (aiohttp web_response, http_writer)", ("aiohttp/web_response.py",
                                                               "aiohttp/http_writer.py")),
    ("server protocol, request objects (aiohttp web_protocol, web_request, web_app)", (
        "aiohttp/web_protocol.py", "aiohttp/web_request.py", "aiohttp/web_app.py",
        "aiohttp/web_urldispatcher.py", "aiohttp/helpers.py", "aiohttp/base_protocol.py")),
    ("gateway glue (app, proxy, observe)", ("gateway/app.py", "gateway/proxy.py",
                                            "gateway/observe.py")),
    ("event loop, sockets (asyncio, selectors)", ("asyncio/", "selectors.py")),
)


def summarise_profile(raw: str) -> dict[str, object]:
    """py-spy's collapsed stacks -> share of samples per bucket (by innermost known frame) and
    the top functions by self time."""
    buckets: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        leaves[re.sub(r":\d+\)", ")", frames[-1])] += count
        for frame in reversed(frames):
            bucket = next((name for name, needles in _BUCKETS
                           if any(n in frame for n in needles)), None)
            if bucket is not None:
                buckets[bucket] += count
                break
        else:
            buckets["other (idle, interpreter)"] += count
    return {
        "samples": total,
        "buckets": [(name, 100 * n / max(total, 1)) for name, n in buckets.most_common()],
        "top": [(name, 100 * n / max(total, 1)) for name, n in leaves.most_common(12)],
    }


def main() -> Results:
    binary = find_wrk()
    work = Path(tempfile.mkdtemp(prefix="usetix-bench-"))
    print(f"bench: logs and scripts in {work}", flush=True)
    results = asyncio.run(Bench(binary, work).run())
    from bench.report import render

    text = render(results, ROUNDS, SECONDS, CONNECTIONS)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(f"written to {RESULTS}")
    return results


if __name__ == "__main__":
    main()
