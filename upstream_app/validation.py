"""Request bodies in, plain values out, or Invalid naming each bad field (pure)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAX_TEXT = 200
MAX_CAPACITY = 2**31 - 1  # Postgres integer
MIN_YEAR, MAX_YEAR = 1900, 9998


class Invalid(Exception):
    """The body cannot be used; fields maps each offending field to a short message."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(fields)
        self.fields = fields


@dataclass(frozen=True, slots=True)
class EventInput:
    name: str
    starts_at: datetime
    venue: str
    capacity: int


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object in a request body."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        # ValueError covers bad UTF-8 and bad JSON; absurd nesting exhausts the recursion limit.
        raise Invalid({"body": "must be a JSON object"}) from None
    if not isinstance(data, dict):
        raise Invalid({"body": "must be a JSON object"})
    return data


def event_create(data: dict[str, Any]) -> EventInput:
    values = _fields(data, _EVENT_FIELDS, required=True)
    return EventInput(**values)


def event_changes(data: dict[str, Any]) -> dict[str, Any]:
    """The fields a PATCH sets; an empty object changes nothing."""
    return _fields(data, _EVENT_FIELDS, required=False)


def ticket_create(data: dict[str, Any]) -> str:
    return _fields(data, {"holder_name": _name}, required=True)["holder_name"]


def checkin_code(data: dict[str, Any]) -> str:
    # Codes are printed upper-case; door staff typing one in should not have to care.
    return _fields(data, {"code": _code}, required=True)["code"]


def _fields(data: dict[str, Any], parsers: dict[str, Any], *, required: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for field in data.keys() - parsers.keys():
        errors[field] = "unknown field"
    for field, parser in parsers.items():
        if field not in data:
            if required:
                errors[field] = "is required"
            continue
        try:
            values[field] = parser(data[field])
        except ValueError as exc:
            errors[field] = str(exc)
    if errors:
        raise Invalid(dict(sorted(errors.items())))
    return values


def _text(value: Any, *, allow_empty: bool) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if not allow_empty and not value.strip():
        raise ValueError("must not be blank")
    if len(value) > MAX_TEXT:
        raise ValueError(f"must be at most {MAX_TEXT} characters")
    # Postgres text cannot hold NUL, and no control character belongs in a name or venue.
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters")
    return value.strip()


def _name(value: Any) -> str:
    return _text(value, allow_empty=False)


def _venue(value: Any) -> str:
    # Online events have no venue; an empty string is a deliberate answer.
    return _text(value, allow_empty=True)


def _starts_at(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 timestamp string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 timestamp") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A wall-clock time without an offset is ambiguous for an event people travel to.
        raise ValueError("must include a UTC offset (e.g. Z or +02:00)")
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        # Far ends of the calendar overflow when shifted to UTC; no event lives there.
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return moment


def _capacity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer")
    if not 0 <= value <= MAX_CAPACITY:
        raise ValueError(f"must be between 0 and {MAX_CAPACITY}")
    return value


def _code(value: Any) -> str:
    return _text(value, allow_empty=False).upper()


_EVENT_FIELDS = {"name": _name, "starts_at": _starts_at, "venue": _venue, "capacity": _capacity}
