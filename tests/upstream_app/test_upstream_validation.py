"""Bad bodies are 422 {"error": "invalid", "fields": {...}} and reach no table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from upstream_app import validation
from upstream_app.validation import Invalid

GOOD_EVENT = {
    "name": "Launch", "starts_at": "2030-05-01T20:00:00+02:00", "venue": "Hall", "capacity": 5,
}

BAD_EVENTS = [
    ({**GOOD_EVENT, "name": ""}, "name"),
    ({**GOOD_EVENT, "name": "   "}, "name"),
    ({**GOOD_EVENT, "name": 42}, "name"),
    ({**GOOD_EVENT, "name": None}, "name"),
    ({**GOOD_EVENT, "name": "x" * 201}, "name"),
    ({**GOOD_EVENT, "name": "nul\x00byte"}, "name"),
    ({**GOOD_EVENT, "venue": ["Hall"]}, "venue"),
    ({**GOOD_EVENT, "capacity": -1}, "capacity"),
    ({**GOOD_EVENT, "capacity": 1.5}, "capacity"),
    ({**GOOD_EVENT, "capacity": "5"}, "capacity"),
    ({**GOOD_EVENT, "capacity": True}, "capacity"),
    ({**GOOD_EVENT, "capacity": 2**31}, "capacity"),
    ({**GOOD_EVENT, "starts_at": "tomorrow"}, "starts_at"),
    ({**GOOD_EVENT, "starts_at": "2030-05-01T20:00:00"}, "starts_at"),
    ({**GOOD_EVENT, "starts_at": "2030-02-30T20:00:00Z"}, "starts_at"),
    ({**GOOD_EVENT, "starts_at": "0001-01-01T00:00:00+14:00"}, "starts_at"),
    ({**GOOD_EVENT, "starts_at": 1900000000}, "starts_at"),
    ({**GOOD_EVENT, "price": 10}, "price"),
    ({k: v for k, v in GOOD_EVENT.items() if k != "capacity"}, "capacity"),
    ({}, "name"),
]


@pytest.mark.parametrize(("data", "field"), BAD_EVENTS)
def test_bad_event(data, field):
    with pytest.raises(Invalid) as invalid:
        validation.event_create(data)
    assert field in invalid.value.fields


def test_every_bad_field_is_named():
    with pytest.raises(Invalid) as invalid:
        validation.event_create({"name": "", "capacity": -1, "extra": 1})
    assert set(invalid.value.fields) == {"name", "capacity", "starts_at", "venue", "extra"}


def test_good_event():
    parsed = validation.event_create({**GOOD_EVENT, "name": "  Launch  ", "venue": ""})
    assert parsed.name == "Launch"
    assert parsed.venue == ""
    assert parsed.starts_at == datetime(2030, 5, 1, 18, tzinfo=UTC)
    assert parsed.starts_at.utcoffset() == timedelta(hours=2)
    zulu = validation.event_create({**GOOD_EVENT, "starts_at": "2030-05-01T18:00:00Z"})
    assert zulu.starts_at == parsed.starts_at


def test_changes_are_partial():
    assert validation.event_changes({}) == {}
    assert validation.event_changes({"capacity": 0}) == {"capacity": 0}
    with pytest.raises(Invalid):
        validation.event_changes({"capacity": None})


@pytest.mark.parametrize(
    "raw", [b"", b"not json", b"[1, 2]", b'"text"', b"null", b"\xff\xfe\x00", b"[" * 100_000]
)
def test_body_must_be_a_json_object(raw):
    with pytest.raises(Invalid) as invalid:
        validation.parse_body(raw)
    assert invalid.value.fields == {"body": "must be a JSON object"}


def test_codes_are_normalised():
    assert validation.checkin_code({"code": " abcd2345efgh6789 "}) == "ABCD2345EFGH6789"


async def _event_id(api, cast) -> str:
    return (await api.new_event(cast.a_rw))["id"]


# Over HTTP: (method, target, body or raw bytes, field named in the answer).
HTTP_CASES = [
    ("POST", "/admin/events", b"{not json", "body"),
    ("POST", "/admin/events", [GOOD_EVENT], "body"),
    ("POST", "/admin/events", {**GOOD_EVENT, "capacity": -3}, "capacity"),
    ("POST", "/admin/events", {**GOOD_EVENT, "starts_at": "2030-13-01T00:00:00Z"}, "starts_at"),
    ("PATCH", "/admin/events/{event}", {"capacity": "many"}, "capacity"),
    ("PATCH", "/admin/events/{event}", {"id": "evt_other"}, "id"),
    ("PATCH", "/admin/events/{event}", b"", "body"),
    ("POST", "/admin/events/{event}/tickets", {}, "holder_name"),
    ("POST", "/admin/events/{event}/tickets", {"holder_name": ""}, "holder_name"),
    ("POST", "/scanner/checkins", {"code": 12345}, "code"),
    ("POST", "/scanner/checkins", {"code": "\x00"}, "code"),
    ("POST", "/scanner/checkins", {}, "code"),
]


@pytest.mark.parametrize(("method", "target", "body", "field"), HTTP_CASES)
async def test_invalid_body_is_422(api, conn, cast, method, target, body, field):
    event_id = await _event_id(api, cast)
    before = await conn.fetchval("SELECT row_to_json(e)::text FROM events e")
    target = target.format(event=event_id)
    if isinstance(body, bytes):
        response = await api.call(method, target, cast.a_rw, raw=body)
    else:
        response = await api.call(method, target, cast.a_rw, body=body)
    assert response.status == 422
    answer = await response.json()
    assert answer["error"] == "invalid"
    assert field in answer["fields"]
    assert await conn.fetchval("SELECT count(*) FROM events") == 1
    assert await conn.fetchval("SELECT row_to_json(e)::text FROM events e") == before
    assert await conn.fetchval("SELECT count(*) FROM tickets") == 0
    assert await conn.fetchval("SELECT count(*) FROM checkins") == 0


async def test_capacity_cannot_drop_below_tickets_issued(api, conn, cast):
    event_id = await _event_id(api, cast)
    await api.new_ticket(cast.a_rw, event_id)
    await api.new_ticket(cast.a_rw, event_id)
    response = await api.call("PATCH", f"/admin/events/{event_id}", cast.a_rw,
                              body={"capacity": 1})
    assert response.status == 422
    assert "capacity" in (await response.json())["fields"]
    assert await conn.fetchval("SELECT capacity FROM events") == 100
    body = await api.ok("PATCH", f"/admin/events/{event_id}", cast.a_rw, {"capacity": 2})
    assert body["event"]["capacity"] == 2
