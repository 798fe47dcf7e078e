"""Another account's resource is answered exactly as a missing one (SPEC 2.7): same status,
same body bytes, same headers, and it is left untouched."""

from __future__ import annotations

import pytest

MISSING_EVENT = "evt_" + "Z" * 20
MISSING_CODE = "ABCDEFGHJKLMNPQR"

# (method, target with {event}, body with {code} where it applies)
ENDPOINTS = [
    ("GET", "/admin/events/{event}", None),
    ("HEAD", "/admin/events/{event}", None),
    ("PATCH", "/admin/events/{event}", {"name": "Hijacked", "capacity": 0}),
    ("DELETE", "/admin/events/{event}", None),
    ("GET", "/admin/events/{event}/tickets", None),
    ("POST", "/admin/events/{event}/tickets", {"holder_name": "Intruder"}),
    ("GET", "/scanner/events/{event}/tickets", None),
    ("POST", "/scanner/checkins", {"code": "{code}"}),
]


def _fill(body, code):
    return None if body is None else {k: v.replace("{code}", code) if isinstance(v, str) else v
                                      for k, v in body.items()}


async def _snapshot(conn) -> list:
    return [
        await conn.fetch(f"SELECT * FROM {table} ORDER BY id")
        for table in ("events", "tickets", "checkins")
    ]


def _answer(response, body: bytes) -> tuple:
    headers = sorted((k, v) for k, v in response.headers.items() if k.lower() != "date")
    return response.status, body, headers


@pytest.mark.parametrize(("method", "target", "body"), ENDPOINTS)
@pytest.mark.parametrize("missing", ["well-formed", "malformed"])
async def test_foreign_is_missing(api, conn, cast, method, target, body, missing):
    event = await api.new_event(cast.a_rw)
    ticket = await api.new_ticket(cast.a_rw, event["id"])
    before = await _snapshot(conn)
    who = cast.b_rw

    answers = []
    absent = (MISSING_EVENT, MISSING_CODE) if missing == "well-formed" else ("not-an-id", "??")
    for event_id, code in ((event["id"], ticket["code"]), absent):
        response = await api.call(method, target.format(event=event_id), who,
                                  body=_fill(body, code))
        answers.append(_answer(response, await response.read()))

    foreign, missing = answers
    assert foreign == missing
    assert foreign[0] == 404
    if method != "HEAD":
        assert foreign[1] == b'{"error": "not_found"}'
    assert await _snapshot(conn) == before


async def test_the_owner_still_sees_it(api, cast):
    event = await api.new_event(cast.a_rw)
    assert (await api.call("GET", f"/admin/events/{event['id']}", cast.b_rw)).status == 404
    assert (await api.call("GET", f"/admin/events/{event['id']}", cast.a_read)).status == 200
