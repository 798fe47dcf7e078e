"""Door check-in: once per ticket, by code, only within the credential's account."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("who", ["a_scanner", "a_rw"])
async def test_check_in_once(api, conn, cast, who):
    identity = getattr(cast, who)
    event = await api.new_event(cast.a_rw)
    ticket = await api.new_ticket(cast.a_rw, event["id"], "Ada")

    body = await api.ok("POST", "/scanner/checkins", identity, {"code": ticket["code"].lower()})
    checkin = body["checkin"]
    assert re.fullmatch(r"chk_[0-9A-Za-z]{20}", checkin["id"])
    assert checkin == {
        "id": checkin["id"],
        "ticket": ticket | {"checked_in_at": checkin["checked_in_at"]},
        "checked_in_at": checkin["checked_in_at"],
        "credential": {"kind": identity.credential_kind, "id": str(identity.credential_id)},
    }

    again = await api.call(
        "POST", "/scanner/checkins", cast.a_scanner, body={"code": ticket["code"]}
    )
    assert again.status == 409
    assert await again.json() == {"error": "already_checked_in", "checkin": checkin}

    rows = await conn.fetch("SELECT credential_kind, credential_id FROM checkins")
    assert [tuple(r) for r in rows] == [(identity.credential_kind, identity.credential_id)]
    listed = await api.ok("GET", f"/scanner/events/{event['id']}/tickets", cast.a_scanner_read)
    assert listed["tickets"][0]["checked_in_at"] == checkin["checked_in_at"]


@pytest.mark.parametrize("code", ["ABCDEFGHJKLMNPQR", "x", "' OR 1=1 --"])
async def test_unknown_code_is_404(api, conn, cast, code):
    response = await api.call("POST", "/scanner/checkins", cast.a_scanner, body={"code": code})
    assert (response.status, await response.json()) == (404, {"error": "not_found"})
    assert await conn.fetchval("SELECT count(*) FROM checkins") == 0


async def test_another_accounts_ticket_is_unknown(api, conn, cast):
    event = await api.new_event(cast.b_rw)
    ticket = await api.new_ticket(cast.b_rw, event["id"])
    response = await api.call("POST", "/scanner/checkins", cast.a_scanner,
                              body={"code": ticket["code"]})
    assert (response.status, await response.json()) == (404, {"error": "not_found"})
    assert await conn.fetchval("SELECT count(*) FROM checkins") == 0
    # Its own account can still check it in.
    await api.ok("POST", "/scanner/checkins", cast.b_rw, {"code": ticket["code"]})


async def test_read_scanner_cannot_check_in(api, conn, cast):
    event = await api.new_event(cast.a_rw)
    ticket = await api.new_ticket(cast.a_rw, event["id"])
    response = await api.call("POST", "/scanner/checkins", cast.a_scanner_read,
                              body={"code": ticket["code"]})
    assert response.status == 403
    assert await conn.fetchval("SELECT count(*) FROM checkins") == 0
