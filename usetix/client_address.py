"""Who is on the other end: the trusted-proxy rule for X-Forwarded-For (pure).

The gateway replaces X-Forwarded-For with its own socket peer (client values are dropped,
never appended to), so behind it the header holds exactly one address it can vouch for. A
service behind the gateway believes that value only when the connection itself comes from
a trusted proxy; from anywhere else the header is whatever the caller typed, and the socket
peer is the only address that cannot be forged.
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
    """The client's address: the last X-Forwarded-For value when the socket peer `remote`
    is a trusted proxy and that value is an IP address; otherwise the peer itself.

    `forwarded_for` is every X-Forwarded-For header line in order (each may list several
    comma-separated values). Only the last value counts: it is the one the proxy next to us
    wrote; anything before it came from further away and may be invented. The answer is in
    canonical form (IPv4-mapped IPv6 as IPv4), so one client is one rate-limit key."""
    peer = _address(remote)
    if peer is None:
        return remote or UNKNOWN
    if forwarded_for and any(peer in network for network in trusted):
        forwarded = _address(forwarded_for[-1].rsplit(",", 1)[-1].strip())
        if forwarded is not None:
            return str(forwarded)
    return str(peer)


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
