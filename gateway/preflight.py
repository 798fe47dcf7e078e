"""Checks before the gateway serves anything: refuse to start on a runtime that would make it
unsafe (SEC-21), rather than find out under attack."""

from __future__ import annotations

import resource
import sys

import aiohttp
from aiohttp import http_parser

MIN_AIOHTTP = (3, 14, 4)


class StartupRefused(Exception):
    """The process must not serve; the message says why and what to do."""


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(c for c in piece if c.isdigit()) or "0"
        parts.append(int(digits))
    return tuple(parts)


def check_runtime(
    aiohttp_version: str = aiohttp.__version__,
    parser_module: str = http_parser.HttpRequestParser.__module__,
    dev_mode: bool = sys.flags.dev_mode,
) -> None:
    """Raises StartupRefused when aiohttp is too old (request smuggling fixes), its C HTTP
    parser is not the one in use (the pure-Python parser is slower and was the weaker one in
    past advisories; AIOHTTP_NO_EXTENSIONS turns it on), or Python's dev mode is on (asyncio
    debug: tracebacks and slow-callback logging with request data)."""
    if _version_tuple(aiohttp_version) < MIN_AIOHTTP:
        raise StartupRefused(
            f"aiohttp {aiohttp_version} is older than "
            f"{'.'.join(map(str, MIN_AIOHTTP))}: upgrade it"
        )
    if parser_module != "aiohttp._http_parser":
        raise StartupRefused(
            "aiohttp's C HTTP parser is not active (is AIOHTTP_NO_EXTENSIONS set, or was "
            "aiohttp installed without its extensions?)"
        )
    if dev_mode:
        raise StartupRefused("Python dev mode (-X dev / PYTHONDEVMODE) is on: turn it off")


def raise_fd_limit() -> int:
    """Open files up to the hard limit: every client and upstream connection is one, and an
    EMFILE stalls accept() for everyone."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft
