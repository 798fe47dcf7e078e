"""Identity is honoured only with the gateway's proof, bound to method, target and time; and
what an honoured identity may do (defence in depth behind the gateway's own policy)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import pytest
from upstream_helpers import JSON, signed_headers

from upstream_app.trust import Area, Denied, authorize
from usetix.identity import Identity

API_RW = Identity(account_id=1, credential_kind="api", credential_id=10, tier="read_write")
API_READ = dataclasses.replace(API_RW, tier="read")
SCANNER_RW = dataclasses.replace(API_RW, credential_kind="scanner")
SCANNER_READ = dataclasses.replace(SCANNER_RW, tier="read")
ODD_KIND = dataclasses.replace(API_RW, credential_kind="robot")
ODD_TIER = dataclasses.replace(API_RW, tier="admin")


@pytest.mark.parametrize(
    ("identity", "area", "method", "status"),
    [
        (None, Area.ADMIN, "GET", 401),
        (None, Area.SCANNER, "POST", 401),
        (API_RW, Area.ADMIN, "GET", None),
        (API_RW, Area.ADMIN, "POST", None),
        (API_RW, Area.ADMIN, "DELETE", None),
        (API_RW, Area.SCANNER, "POST", None),
        (API_READ, Area.ADMIN, "GET", None),
        (API_READ, Area.ADMIN, "HEAD", None),
        (API_READ, Area.ADMIN, "POST", 403),
        (API_READ, Area.ADMIN, "PATCH", 403),
        (API_READ, Area.ADMIN, "DELETE", 403),
        (API_READ, Area.SCANNER, "GET", None),
        (API_READ, Area.SCANNER, "POST", 403),
        (SCANNER_RW, Area.ADMIN, "GET", 401),
        (SCANNER_RW, Area.ADMIN, "POST", 401),
        (SCANNER_RW, Area.SCANNER, "GET", None),
        (SCANNER_RW, Area.SCANNER, "POST", None),
        (SCANNER_READ, Area.SCANNER, "GET", None),
        (SCANNER_READ, Area.SCANNER, "POST", 403),
        (ODD_KIND, Area.SCANNER, "GET", 401),
        (ODD_TIER, Area.ADMIN, "GET", None),
        (ODD_TIER, Area.ADMIN, "POST", 403),
    ],
)
def test_authorize(identity: Identity | None, area: Area, method: str, status: int | None):
    if status is None:
        assert authorize(identity, area, method) is identity
    else:
        with pytest.raises(Denied) as denied:
            authorize(identity, area, method)
        assert denied.value.status == status


TARGET = "/admin/account"


def _sign(settings, who, method="GET", target=TARGET, **kwargs) -> dict[str, str]:
    return signed_headers(settings.secrets.identity_key, who, method, target, **kwargs)


# Each case: how a request to GET /admin/account gets its identity headers wrong.
Tamper = Callable[..., dict[str, str]]
ANONYMOUS: dict[str, Tamper] = {
    "no headers": lambda settings, who: {},
    "identity without proof": lambda settings, who: {
        k: v for k, v in _sign(settings, who).items() if k != "X-Usetix-Proof"
    },
    "forged proof": lambda settings, who: _sign(settings, who) | {"X-Usetix-Proof": "0" * 64},
    "non-ascii proof": lambda settings, who: _sign(settings, who) | {"X-Usetix-Proof": "é"},
    "wrong key": lambda settings, who: signed_headers("not the key", who, "GET", TARGET),
    "stale": lambda settings, who: _sign(settings, who, now=time.time() - 120),
    "from the future": lambda settings, who: _sign(settings, who, now=time.time() + 120),
    "signed for another method": lambda settings, who: _sign(settings, who, method="POST"),
    "signed for another path": lambda settings, who: _sign(settings, who, target="/admin/events"),
    "signed for another query": lambda settings, who: _sign(settings, who, target=TARGET + "?a=1"),
    "other request id": lambda settings, who: _sign(settings, who) | {"X-Request-Id": "other"},
    "account swapped": lambda settings, who: _sign(settings, who) | {"X-Usetix-Account": "999"},
    "tier raised": lambda settings, who: _sign(settings, dataclasses.replace(who, tier="read"))
    | {"X-Usetix-Tier": "read_write"},
    "credential swapped": lambda settings, who: _sign(settings, who)
    | {"X-Usetix-Credential": "api:1"},
    "timestamp moved": lambda settings, who: _sign(settings, who)
    | {"X-Usetix-Timestamp": str(int(time.time()) + 1)},
}


@pytest.mark.parametrize("case", ANONYMOUS)
async def test_unproven_identity_is_anonymous(client, settings, cast, case):
    headers = ANONYMOUS[case](settings, cast.a_rw) | {"Accept": JSON}
    response = await client.get(TARGET, headers=headers)
    assert response.status == 401
    assert await response.json() == {"error": "unauthorized"}


async def test_replayed_headers_fail_on_another_path(api, settings, client, cast):
    headers = _sign(settings, cast.a_rw, target="/admin/account") | {"Accept": JSON}
    assert (await client.get("/admin/account", headers=headers)).status == 200
    replay = await client.get("/admin/events", headers=headers, allow_redirects=False)
    # Without a proof for this target it is a browser request: sent to log in, no data.
    assert replay.status == 302
    assert replay.headers["Location"] == "/login?next=/admin/events"
    replay = await client.post("/admin/events", headers=headers, json={})
    assert replay.status == 401


async def test_empty_identity_key_honours_nothing(aiohttp_client, settings, cast):
    from upstream_app.app import create_app

    settings = settings.replace(secrets={"identity_key": ""})
    client = await aiohttp_client(create_app(settings))
    headers = signed_headers(b"", cast.a_rw, "GET", TARGET) | {"Accept": JSON}
    assert (await client.get(TARGET, headers=headers)).status == 401


async def test_proven_identity_is_honoured(api, cast, tokens):
    body = await api.ok("GET", TARGET, cast.a_rw)
    assert body == {
        "account": {"id": str(tokens.account_a), "name": "A"},
        "credential": {"kind": "api", "id": str(cast.a_rw.credential_id), "tier": "read_write"},
    }


@pytest.mark.parametrize(
    ("who", "method", "target", "status"),
    [
        ("a_read", "POST", "/admin/events", 403),
        ("a_read", "PATCH", "/admin/events/evt_00000000000000000000", 403),
        ("a_read", "DELETE", "/admin/events/evt_00000000000000000000", 403),
        ("a_read", "POST", "/admin/events/evt_00000000000000000000/tickets", 403),
        ("a_read", "POST", "/scanner/checkins", 403),
        ("a_scanner_read", "POST", "/scanner/checkins", 403),
        ("a_scanner", "GET", "/admin/account", 401),
        ("a_scanner", "GET", "/admin/events", 401),
        ("a_scanner", "POST", "/admin/events", 401),
        ("a_scanner", "GET", "/admin/events/evt_00000000000000000000/tickets", 401),
    ],
)
async def test_denied_before_anything_happens(api, conn, cast, who, method, target, status):
    response = await api.call(method, target, getattr(cast, who), body={"name": "x"})
    assert response.status == status
    assert await response.json() == {"error": "unauthorized" if status == 401 else "forbidden"}
    assert await conn.fetchval("SELECT count(*) FROM events") == 0


async def test_scanner_kind_is_not_an_account_credential_even_on_html_routes(api, cast):
    # A proven scanner identity on /admin never falls back to the browser page.
    response = await api.call("GET", "/admin/events", cast.a_scanner)
    assert response.status == 401
