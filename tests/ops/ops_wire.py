"""Helpers for the ops tests: raw sockets, the CLI as a subprocess, settings for a route table
pointed at one upstream."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.gateway.gateway_wire import exchange
from usetix.config import PROJECT_ROOT, Route, Settings

USETIX = str(PROJECT_ROOT / ".venv" / "bin" / "usetix")


ROUTES = (
    Route("/admin", "app", "account"),
    Route("/scanner", "app", "scanner"),
    Route("/settings", "admin", "session"),
    Route("/", "app", "public"),
)


def routed(settings: Settings, upstream_url: str, **gateway: object) -> Settings:
    return settings.replace(
        upstreams={"app": upstream_url, "admin": upstream_url},
        gateway={"routes": ROUTES, "upstream_read_timeout": 5.0, **gateway},
    )


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def raw(port: int, data: bytes, *, quiet: float = 2.0) -> tuple[bytes, bool]:
    """Send bytes as they are; (everything read, whether the server closed the connection)."""
    got = await exchange(port, data, quiet=quiet)
    return got.data, got.closed


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def body_of(response: bytes) -> bytes:
    return response.split(b"\r\n\r\n", 1)[1]


# --- the real CLI as a subprocess -----------------------------------------------------------


@dataclass
class GatewayProcess:
    process: subprocess.Popen[str]
    public_url: str
    ops_url: str
    lines: list[str]
    pump: threading.Thread | None = None

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)


def write_config(folder: Path, upstream_url: str, **gateway: object) -> Path:
    lines = ["[upstreams]", f'app = "{upstream_url}"', f'admin = "{upstream_url}"', "[gateway]"]
    lines.append("allowed_hosts = []")
    for key, value in gateway.items():
        lines.append(f"{key} = {json.dumps(value)}")
    path = folder / "gateway.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def cli_env(settings: Settings, config: Path | None = None, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("USETIX_") and k != "DATABASE_URL"
    }
    env.update(
        DATABASE_URL=settings.database.url,
        USETIX_SECRETS_IDENTITY_KEY=settings.secrets.identity_key,
        PYTHONUNBUFFERED="1",
    )
    if config is not None:
        env["USETIX_CONFIG"] = str(config)
    env.update(extra)
    return env


def popen_cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [USETIX, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=PROJECT_ROOT,
    )


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [USETIX, *args], env=env, capture_output=True, text=True, timeout=timeout,
        cwd=PROJECT_ROOT, check=False,
    )


def drain_stdout(running: GatewayProcess) -> None:
    """Keep reading the child's stdout into `lines` (a full pipe would block the gateway)."""
    def pump() -> None:
        assert running.process.stdout is not None
        for line in running.process.stdout:
            running.lines.append(line)

    running.pump = threading.Thread(target=pump, daemon=True)
    running.pump.start()


async def wait_ready(http: aiohttp.ClientSession, ops_url: str) -> dict:
    """Readiness comes once the database answers and the revocation listener is up."""
    for _ in range(100):
        async with http.get(ops_url + "/readyz") as response:
            body = await response.json()
            if response.status == 200:
                assert body["ready"] is True
                return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"never ready: {body}")
