"""SPEC 2.2 as a truth table: is this a JSON request? (pure, no server)

Each row is the list of Accept header lines as they arrived, in order."""

from __future__ import annotations

import pytest

from gateway.negotiation import is_json_request

JSON = True
NOT = False

ROWS: list[tuple[str, tuple[str, ...], bool]] = [
    # The documented curl, and the obvious spellings.
    ("plain", ("application/json",), JSON),
    ("type case", ("Application/JSON",), JSON),
    ("upper", ("APPLICATION/JSON",), JSON),
    ("charset param ignored", ("application/json; charset=utf-8",), JSON),
    ("params and q", ("application/json;charset=utf-8;q=0.5",), JSON),
    ("spaces around", ("  application/json  ",), JSON),
    ("+json suffix", ("application/problem+json",), JSON),
    ("+json vendor", ("application/vnd.usetix.v1+json",), JSON),
    ("+json upper", ("application/LD+JSON",), JSON),
    ("bare +json is no subtype", ("application/+json",), NOT),
    ("text/json is not application", ("text/json",), NOT),
    # BH-043: q=0 means not acceptable; no substring matching.
    ("BH-043 q=0 first", ("application/json;q=0, text/html",), NOT),
    ("BH-043 q=0 last", ("text/html, application/json; q=0",), NOT),
    ("q=0 alone", ("application/json;q=0",), NOT),
    ("q=0.000 alone", ("application/json;q=0.000",), NOT),
    ("BH-043 jsonp", ("application/jsonp",), NOT),
    ("BH-043 json-seq", ("application/json-seq",), NOT),
    ("BH-043 NotjsonNoWay", ("text/html, NotjsonNoWay",), NOT),
    ("BH-043 text/plain (decision: not JSON)", ("text/plain",), NOT),
    ("json inside another subtype", ("application/notjson",), NOT),
    ("json as a parameter", ("text/html; format=application/json",), NOT),
    # BH-045: wildcards and absence.
    ("BH-045 no Accept header", (), NOT),
    ("BH-045 empty Accept line", ("",), NOT),
    ("BH-045 */*", ("*/*",), NOT),
    ("BH-045 application/*", ("application/*",), NOT),
    ("BH-045 */*;q=0.8", ("*/*;q=0.8",), NOT),
    ("wildcard ranked above json does not count", ("*/*, application/json;q=0.1",), JSON),
    ("application/* above json does not count", ("application/*;q=1, application/json;q=0.2",),
     JSON),
    ("*/json is not explicit", ("*/json",), NOT),
    # BH-046: highest q wins; ties go to the earliest listed.
    (
        "BH-046 browser list, json lower",
        ("text/html,application/xhtml+xml,application/xml;q=0.9,application/json;q=0.8,*/*;q=0.7",),
        NOT,
    ),
    ("BH-046 jquery style", ("application/json, text/javascript, */*; q=0.01",), JSON),
    ("BH-046 json higher q", ("text/html;q=0.5, application/json;q=0.9",), JSON),
    ("BH-046 tie, json first", ("application/json;q=0.9, text/html;q=0.9",), JSON),
    ("tie, html first", ("text/html;q=0.9, application/json;q=0.9",), NOT),
    ("tie at 1 by default, html first", ("text/html, application/json",), NOT),
    ("tie at 1 by default, json first", ("application/json, text/html",), JSON),
    ("q=1 equals default", ("text/html;q=1, application/json",), NOT),
    ("q=1.000 equals default", ("application/json;q=1.000, text/html",), JSON),
    ("three-decimal q wins", ("text/html;q=0.501, application/json;q=0.5",), NOT),
    ("three-decimal q loses", ("text/html;q=0.499, application/json;q=0.5",), JSON),
    # BH-046 SSE: an event stream alone, or listed first, is not a JSON request.
    ("BH-046 text/event-stream", ("text/event-stream",), NOT),
    ("BH-010 event-stream before json (tie)", ("text/event-stream, application/json",), NOT),
    ("event-stream below json", ("text/event-stream;q=0.5, application/json",), JSON),
    # BH-047: several lines read as one list, in arrival order.
    ("BH-047 html line then json line", ("text/html", "application/json"), NOT),
    ("BH-047 json line then html line", ("application/json", "text/html"), JSON),
    ("lines: json higher q on the second", ("text/html;q=0.5", "application/json"), JSON),
    ("lines: empty then json", ("", "application/json"), JSON),
    # Unparseable q: that range is ignored, the others still count.
    ("bad q ignored", ("application/json;q=abc",), NOT),
    ("bad q on json, html remains", ("application/json;q=2, text/html;q=0.1",), NOT),
    ("bad q on html, json remains", ("text/html;q=x, application/json;q=0.1",), JSON),
    ("q above 1", ("application/json;q=1.5",), NOT),
    ("q with four decimals", ("application/json;q=0.1234",), NOT),
    ("negative q", ("application/json;q=-1",), NOT),
    ("empty q", ("application/json;q=",), NOT),
    ("Q upper-case name", ("text/html;Q=0.1, application/json",), JSON),
    ("q with spaces around =", ("text/html; q = 0.1, application/json;q=0.5",), JSON),
    # Garbage never counts and never crashes.
    ("no slash", ("json",), NOT),
    ("only commas", (",,,",), NOT),
    ("empty subtype", ("application/",), NOT),
    ("empty type", ("/json",), NOT),
    ("inner space", ("application/ json",), NOT),
    ("quoted comma in param", ('text/html;foo="a,b";q=0.1, application/json;q=0.5',), JSON),
    ("non-ASCII range", ("application/jsön",), NOT),
    ("surrogate-escaped bytes", ("application/json\udcff",), NOT),
]


@pytest.mark.parametrize(("accept", "expected"), [row[1:] for row in ROWS],
                         ids=[row[0] for row in ROWS])
def test_is_json_request(accept: tuple[str, ...], expected: bool) -> None:
    assert is_json_request(accept) is expected


def test_list_and_tuple_agree() -> None:
    # The app passes a list (CIMultiDict.getall); the cache key is a tuple.
    assert is_json_request(["text/html", "application/json"]) is False
    assert is_json_request(["application/json", "text/html"]) is True
