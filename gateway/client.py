"""The client's address as the gateway reports it: to the upstream (X-Forwarded-For), in the
request log and in last-used.

The socket peer, unless the peer is one of gateway.trusted_proxies (a load balancer in front
of the gateway); then usetix/client_address.py's rule reads what the balancer forwarded.
Resolved once per request and remembered on it.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from usetix.client_address import UNKNOWN, Network, client_address

CLIENT = web.RequestKey("client", str)


def client_of(request: web.Request, trusted: Sequence[Network]) -> str:
    client = request.get(CLIENT)
    if client is None:
        if trusted:
            client = client_address(
                request.remote, request.headers.getall("X-Forwarded-For", ()), trusted
            )
        else:
            # Nobody trusted (the default): the peer as the socket reported it.
            client = request.remote or UNKNOWN
        request[CLIENT] = client
    return client
