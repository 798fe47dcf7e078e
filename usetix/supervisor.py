"""`usetix run` (what `make run` starts): the database, migrations, then upstream_app,
admin_ui and the gateway as child processes; prints where to go; SIGINT or SIGTERM stops
everything it started, the embedded Postgres last."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from usetix import db
from usetix.config import Settings
from usetix.embedded import database_url

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class Child:
    name: str
    command: str
    host: str
    port: int


def run_all(settings: Settings) -> int:
    busy = busy_ports(settings)
    if busy:
        for where, setting in busy:
            print(
                f"usetix: {where} is already in use ({setting}); stop what holds it or choose"
                f" another port, e.g. USETIX_{setting.replace('.', '_').upper()}=18080 make run",
                file=sys.stderr,
            )
        return 1
    env = dict(os.environ)
    # Throwaway secrets for a local run: sessions and proofs do not outlive this process.
    for key, env_name in (
        ("identity_key", "USETIX_SECRETS_IDENTITY_KEY"),
        ("session_key", "USETIX_SECRETS_SESSION_KEY"),
    ):
        if not getattr(settings.secrets, key):
            env[env_name] = secrets.token_hex(32)
    dsn = database_url(settings)
    env["DATABASE_URL"] = dsn
    demo_login = asyncio.run(_prepare_database(dsn, settings))

    children = [
        Child("upstream_app", "upstream-app", settings.upstream_app.host,
              settings.upstream_app.port),
        Child("admin_ui", "admin-ui", settings.admin_ui.host, settings.admin_ui.port),
        Child("gateway", "gateway", settings.gateway.host, settings.gateway.port),
    ]
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for child in children:
            processes[child.name] = subprocess.Popen(
                [sys.executable, "-m", "usetix.cli", child.command], env=env
            )
        if not _wait_until_listening(children, processes, lambda: stopping):
            return 0 if stopping else 1
        _print_banner(settings, dsn, demo_login)
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"usetix: {name} exited with code {process.returncode}; stopping")
                    return 1
            time.sleep(0.2)
        return 0
    finally:
        _stop(processes)
        print("usetix: stopped")


async def _prepare_database(dsn: str, settings: Settings) -> tuple[str, str] | None:
    conn = await asyncpg.connect(dsn, **db.connect_options(settings.database))
    try:
        await db.migrate(conn)
        if settings.admin_ui.seed_demo:
            from admin_ui.seed import seed_demo

            return await seed_demo(conn)
        return None
    finally:
        await conn.close()


def _wait_until_listening(
    children: list[Child],
    processes: dict[str, subprocess.Popen[bytes]],
    stopping: Callable[[], bool],
) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    waiting = list(children)
    while waiting:
        if stopping():
            return False
        for child in list(waiting):
            if processes[child.name].poll() is not None:
                code = processes[child.name].returncode
                print(f"usetix: {child.name} failed to start (exit code {code})")
                return False
            if _is_listening(child.host, child.port):
                waiting.remove(child)
        if time.monotonic() > deadline:
            names = ", ".join(c.name for c in waiting)
            print(f"usetix: {names} did not start listening within {START_TIMEOUT:.0f} s")
            return False
        time.sleep(0.1)
    return True


def busy_ports(settings: Settings) -> list[tuple[str, str]]:
    """(address, setting) for every listener address that another process already holds:
    checked before anything starts, since "is it listening yet?" would be fooled by it."""
    wanted = [
        (settings.gateway.host, settings.gateway.port, "gateway.port"),
        (settings.gateway.ops_host, settings.gateway.ops_port, "gateway.ops_port"),
        (settings.upstream_app.host, settings.upstream_app.port, "upstream_app.port"),
        (settings.admin_ui.host, settings.admin_ui.port, "admin_ui.port"),
    ]
    busy = []
    for host, port, setting in wanted:
        try:
            with socket.create_server((host, port)):
                pass
        except OSError:
            busy.append((f"{host}:{port}", setting))
    return busy


def _is_listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _print_banner(settings: Settings, dsn: str, demo_login: tuple[str, str] | None) -> None:
    gw = f"http://{settings.gateway.host}:{settings.gateway.port}"
    lines = [
        "",
        "Usetix is running.",
        f"  Dashboard and API (gateway)  {gw}/",
        f"  API tokens                   {gw}/settings/api-tokens",
        f"  Gateway metrics and health   http://{settings.gateway.ops_host}:"
        f"{settings.gateway.ops_port}/metrics  /healthz  /readyz",
        f"  Events app (direct)          http://{settings.upstream_app.host}:"
        f"{settings.upstream_app.port}/",
        f"  Admin UI (direct)            http://{settings.admin_ui.host}:"
        f"{settings.admin_ui.port}/login",
        f"  Database                     {dsn}",
    ]
    if demo_login:
        email, password = demo_login
        lines += [
            "",
            f"Demo login (shown once): {email} / {password}",
        ]
    lines += [
        "",
        "Try the API:",
        "  TOKEN=$(.venv/bin/usetix create-token --account 1 --tier read --description demo)",
        f'  curl -H "Authorization: Bearer $TOKEN" -H "Accept: application/json" {gw}/admin/events',
        "",
        "Press Ctrl-C to stop everything.",
        "",
    ]
    print("\n".join(lines), flush=True)
