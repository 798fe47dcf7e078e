"""What to strip and what to add, both directions (SPEC 4, pure).

Order matters (BH-004): first every client header that must not pass is removed (hop-by-hop,
those the client named in Connection, the whole trusted family in any spelling, forwarding and
identity-like headers, Authorization), then the gateway's own headers are added last, so a
client can neither smuggle a trusted header in nor get one of the gateway's removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from multidict import CIMultiDict, CIMultiDictProxy

from usetix.identity import REQUEST_ID
from usetix.service import SERVER

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

# Never forwarded from a client: credentials (never sent upstream), forwarding metadata the
# gateway rebuilds, identity headers other upstreams are known to trust, method overrides that
# would let a GET from a read token act as a write, and Expect (answered by the gateway).
STRIPPED_FROM_CLIENT = HOP_BY_HOP | frozenset(
    {
        "authorization",
        "expect",
        "forwarded",
        "x-real-ip",
        "true-client-ip",
        "x-client-ip",
        "remote-user",
        "x-remote-user",
        "x-user-id",
        "x-account-id",
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
    }
)
STRIPPED_PREFIXES = ("x-usetix-", "x-forwarded-", "x-auth-request-")

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

# A Connection option may not remove what defines the message itself: Host is forwarded as
# the client sent it and the body keeps its framing (RFC 9110 7.6.1 forbids nominating
# end-to-end fields; honouring it would let a client re-target or re-frame the request).
_NOT_NOMINATABLE = frozenset({"host", "content-length"})


def normalise(name: str) -> str:
    """Header names compared case-insensitively with `_` read as `-` (some servers do)."""
    return name.lower().replace("_", "-")


def connection_tokens(headers: CIMultiDictProxy[str]) -> frozenset[str]:
    values = headers.getall("Connection", ())
    return frozenset(
        normalise(token.strip()) for value in values for token in value.split(",") if token.strip()
    )


def upstream_request_headers(
    client: CIMultiDictProxy[str],
    *,
    peer: str,
    scheme: str,
    via: str,
    request_id: str,
    identity: Mapping[str, str] | None,
) -> CIMultiDict[str]:
    """The headers sent upstream: the client's minus what must not pass, plus the gateway's."""
    nominated = connection_tokens(client) - _NOT_NOMINATABLE
    forwarded: CIMultiDict[str] = CIMultiDict()
    for name, value in client.items():
        key = normalise(name)
        if key in STRIPPED_FROM_CLIENT or key in nominated or key.startswith(STRIPPED_PREFIXES):
            continue
        if key == "x-request-id":
            continue
        forwarded.add(name, value)
    host = client.get("Host")
    # Client values are dropped, never appended to: `peer` is the one address the gateway
    # vouches for, the socket peer or the client a trusted balancer named (gateway/client.py).
    forwarded["X-Forwarded-For"] = peer
    forwarded["X-Forwarded-Proto"] = scheme
    if host is not None:
        forwarded["X-Forwarded-Host"] = host
    forwarded.add("Via", f"1.1 {via}")
    forwarded[REQUEST_ID] = request_id
    if identity:
        forwarded.update(identity)
    return forwarded


def request_id_from(client: CIMultiDictProxy[str], generate: Callable[[], str]) -> str:
    """The client's X-Request-Id when it is one sane value, else a new one."""
    values = client.getall(REQUEST_ID, ())
    if len(values) == 1 and _SANE_REQUEST_ID.fullmatch(values[0]):
        return values[0]
    return generate()


def client_response_headers(
    upstream: Iterable[tuple[str, str]], nominated: frozenset[str]
) -> CIMultiDict[str]:
    """The upstream's response headers minus hop-by-hop ones; repeats (Set-Cookie, Link, Vary)
    keep their count, order and bytes. The upstream's Server is passed on as it is; without
    one, `Server: usetix` stands where aiohttp would put its version string."""
    kept: CIMultiDict[str] = CIMultiDict()
    for name, value in upstream:
        key = name.lower()
        if key in HOP_BY_HOP or key in nominated:
            continue
        kept.add(name, value)
    if "Server" not in kept:
        kept["Server"] = SERVER
    return kept
