"""Who is on the other end: the trusted-proxy rule for X-Forwarded-For (pure).

One rule for every service. A service believes X-Forwarded-For only when the connection
itself comes from a trusted proxy; from anywhere else the header is whatever the caller
typed, and the socket peer is the only address that cannot be forged. The gateway applies it
with gateway.trusted_proxies (its load balancers; empty by default) and forwards exactly one
address, the client it resolved, so behind it admin_ui (admin_ui.trusted_proxies: the
gateway) reads a one-value header.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

LOOPBACK = ("127.0.0.1/32", "::1/128")
UNKNOWN = "unknown"


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses (`10.0.0.7`, a /32 or /128) or CIDR networks (`10.0.0.0/24`).

    Raises ValueError naming the bad entry. Host bits set (`10.0.0.7/24`) are refused: the
    operator meant either the host or the network, and guessing wrong trusts too much."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=True))
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not an IP address or network ({exc})") from None
    return tuple(networks)


def client_address(
    remote: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> str:
    """The client's address: the socket peer `remote`, unless it is a trusted proxy; then
    X-Forwarded-For is read from the right, each address being the one the hop after it saw,
    and the first that is not itself a trusted proxy is the client.

    `forwarded_for` is every X-Forwarded-For header line in order (each may list several
    comma-separated values). The walk stops at a value that is not an IP address (junk, a
    port, an empty entry): nothing left of it can be attributed to a trusted hop, so the last
    address reached is the answer. If every value is a trusted proxy, the leftmost one is.
    Values left of the first untrusted address came from the client and are never believed.
    The answer is in canonical form (IPv4-mapped IPv6 as IPv4), so one client is one
    rate-limit key."""
    peer = _address(remote)
    if peer is None:
        return remote or UNKNOWN
    client = peer
    if not forwarded_for or not _trusted(client, trusted):
        return str(client)
    values = [value for line in forwarded_for for value in line.split(",")]
    for value in reversed(values):
        hop = _address(value.strip())
        if hop is None:
            break
        client = hop
        if not _trusted(client, trusted):
            break
    return str(client)


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)


def _address(text: str | None) -> Address | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
        return address.ipv4_mapped
    return address
