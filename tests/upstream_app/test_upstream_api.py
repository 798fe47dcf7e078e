"""Each JSON endpoint of SPEC section 8, and what it leaves in the database."""

from __future__ import annotations

import re

PUBLIC_ID = {
    "evt_": re.compile(r"evt_[0-9A-Za-z]{20}"),
    "tkt_": re.compile(r"tkt_[0-9A-Za-z]{20}"),
    "chk_": re.compile(r"chk_[0-9A-Za-z]{20}"),
}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


async def test_create_event(api, conn, cast, tokens):
    event = await api.new_event(cast.a_rw, name="Gala <b>", venue="")
    assert PUBLIC_ID["evt_"].fullmatch(event["id"])
    assert event == {
        "id": event["id"],
        "name": "Gala <b>",
        "starts_at": "2030-05-01T18:00:00Z",
        "venue": "",
        "capacity": 100,
        "tickets_issued": 0,
        "created_at": event["created_at"],
        "updated_at": event["updated_at"],
    }
    assert TIMESTAMP.fullmatch(event["created_at"])
    row = await conn.fetchrow("SELECT account_id, name, capacity FROM events")
    assert dict(row) == {"account_id": tokens.account_a, "name": "Gala <b>", "capacity": 100}


async def test_list_events_is_the_accounts_own(api, cast):
    later = await api.new_event(cast.a_rw, name="Later", starts_at="2031-01-01T00:00:00Z")
    sooner = await api.new_event(cast.a_rw, name="Sooner", starts_at="2029-01-01T00:00:00Z")
    await api.new_event(cast.b_rw, name="B's")
    body = await api.ok("GET", "/admin/events", cast.a_read)
    assert [e["id"] for e in body["events"]] == [sooner["id"], later["id"]]
    assert [e["name"] for e in (await api.ok("GET", "/admin/events", cast.b_rw))["events"]] == [
        "B's"
    ]


async def test_get_patch_delete_event(api, conn, cast):
    event = await api.new_event(cast.a_rw)
    target = f"/admin/events/{event['id']}"
    assert (await api.ok("GET", target, cast.a_read))["event"] == event

    changed = (await api.ok("PATCH", target, cast.a_rw, {"name": "Renamed", "capacity": 0}))
    assert changed["event"] | {"updated_at": None} == event | {
        "name": "Renamed", "capacity": 0, "updated_at": None
    }
    assert (await api.ok("GET", target, cast.a_rw))["event"] == changed["event"]
    assert (await api.ok("PATCH", target, cast.a_rw, {}))["event"]["name"] == "Renamed"

    response = await api.call("DELETE", target, cast.a_rw)
    assert response.status == 204
    assert await response.read() == b""
    assert await conn.fetchval("SELECT count(*) FROM events") == 0
    assert (await api.call("GET", target, cast.a_rw)).status == 404
    assert (await api.call("DELETE", target, cast.a_rw)).status == 404


async def test_delete_takes_tickets_and_checkins_along(api, conn, cast):
    event = await api.new_event(cast.a_rw)
    ticket = await api.new_ticket(cast.a_rw, event["id"])
    await api.ok("POST", "/scanner/checkins", cast.a_scanner, {"code": ticket["code"]})
    await api.ok("DELETE", f"/admin/events/{event['id']}", cast.a_rw, status=204)
    for table in ("events", "tickets", "checkins"):
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0


async def test_tickets(api, conn, cast, tokens):
    event = await api.new_event(cast.a_rw)
    first = await api.new_ticket(cast.a_rw, event["id"], "Ada <script>")
    second = await api.new_ticket(cast.a_rw, event["id"], "Grace")
    assert PUBLIC_ID["tkt_"].fullmatch(first["id"])
    assert re.fullmatch(r"[A-Z2-9]{16}", first["code"]) and first["code"] != second["code"]
    assert first == {
        "id": first["id"], "event_id": event["id"], "holder_name": "Ada <script>",
        "code": first["code"], "created_at": first["created_at"], "checked_in_at": None,
    }
    for who, area in ((cast.a_read, "admin"), (cast.a_scanner, "scanner")):
        listed = await api.ok("GET", f"/{area}/events/{event['id']}/tickets", who)
        assert listed == {"tickets": [first, second]}
    assert (await api.ok("GET", f"/admin/events/{event['id']}", cast.a_rw))["event"][
        "tickets_issued"
    ] == 2
    rows = await conn.fetch("SELECT account_id, holder_name FROM tickets ORDER BY id")
    assert [tuple(r) for r in rows] == [(tokens.account_a, "Ada <script>"),
                                        (tokens.account_a, "Grace")]


async def test_empty_event_lists_no_tickets(api, cast):
    event = await api.new_event(cast.a_rw)
    assert await api.ok("GET", f"/admin/events/{event['id']}/tickets", cast.a_rw) == {
        "tickets": []
    }


async def test_tickets_stop_at_capacity(api, conn, cast):
    event = await api.new_event(cast.a_rw, capacity=1)
    await api.new_ticket(cast.a_rw, event["id"])
    response = await api.call("POST", f"/admin/events/{event['id']}/tickets", cast.a_rw,
                              body={"holder_name": "Late"})
    assert response.status == 409
    assert await response.json() == {"error": "sold_out"}
    assert await conn.fetchval("SELECT count(*) FROM tickets") == 1


async def test_head_answers_like_get_without_body(api, cast):
    await api.new_event(cast.a_rw)
    response = await api.call("HEAD", "/admin/events", cast.a_read)
    assert response.status == 200
    assert await response.read() == b""


async def test_api_answers_are_not_cached(api, cast):
    response = await api.call("GET", "/admin/events", cast.a_rw)
    assert response.headers["Cache-Control"] == "no-store"


async def test_unknown_path_and_method(api, cast):
    response = await api.call("GET", "/admin/nothing", cast.a_rw)
    assert (response.status, await response.json()) == (404, {"error": "not_found"})
    response = await api.call("PUT", "/admin/events", cast.a_rw, body={})
    assert response.status == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
