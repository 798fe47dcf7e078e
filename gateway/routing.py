"""Route table and request-target canonicalisation (pure).

The gateway authorises exactly the bytes it forwards: a target is either already in the one
canonical form (origin-form, no dot-segments, no encoded dot, slash or backslash, no empty
segments, only RFC 3986 characters with well-formed escapes) or it is refused with 400. Nothing
is ever decoded or rewritten, so no other spelling can reach a route class it was not matched as.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from gateway.outcomes import BadRequest
from usetix.config import Route

# pchar without "%" (escapes are checked separately), plus "/" between segments.
_PATH_CHARS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*")
_QUERY_CHARS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")
_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Escapes that would let a decoding hop see another path, or bytes no path should carry.
_FORBIDDEN_ESCAPE = re.compile(r"%(2[eEfF]|5[cC]|[01][0-9A-Fa-f]|7[fF])")


@dataclass(frozen=True, slots=True)
class RequestTarget:
    path: str
    target: str  # path and query exactly as received: what is forwarded


# Pure and repeated: clients ask for the same targets over and over. Refusals raise, so only
# good targets are remembered; random ones only cost a miss.
@lru_cache(maxsize=2048)
def parse_target(target: str) -> RequestTarget:
    """The origin-form target, or BadRequest(400) naming what is wrong with it."""
    if not target.startswith("/") or target.startswith("//"):
        raise BadRequest(400, "bad_request", "the request target must be origin-form (/path)")
    path, _, query = target.partition("?")
    if not _PATH_CHARS.fullmatch(path) or not _QUERY_CHARS.fullmatch(query):
        raise BadRequest(400, "bad_request", "the request target has characters it must not")
    if _ESCAPE.search(target):
        raise BadRequest(400, "bad_request", "the request target has a malformed %-escape")
    if _FORBIDDEN_ESCAPE.search(path):
        raise BadRequest(400, "bad_request", "the path has an encoded dot, slash or control")
    segments = path.split("/")[1:]
    for index, segment in enumerate(segments):
        name = segment.split(";", 1)[0]
        if name in (".", ".."):
            raise BadRequest(400, "bad_request", "the path has a dot-segment")
        if not segment and index != len(segments) - 1:
            raise BadRequest(400, "bad_request", "the path has an empty segment")
    return RequestTarget(path=path, target=target)


@dataclass(frozen=True, slots=True)
class MatchedRoute:
    route_class: str
    upstream_name: str
    upstream_base: str


class RouteTable:
    """Longest prefix wins, matched on whole segments (`/admin` matches `/admin` and
    `/admin/x`, never `/administrator`). Case-sensitive, like the upstream routers."""

    def __init__(self, routes: tuple[Route, ...], upstreams: dict[str, str]) -> None:
        ordered = sorted(routes, key=lambda r: len(r.prefix.rstrip("/")), reverse=True)
        self._entries = [
            (
                route.prefix.rstrip("/"),
                MatchedRoute(route.route_class, route.upstream, upstreams[route.upstream]),
            )
            for route in ordered
        ]

    def match(self, path: str) -> MatchedRoute | None:
        for prefix, matched in self._entries:
            if not prefix or path == prefix or path.startswith(prefix + "/"):
                return matched
        return None
