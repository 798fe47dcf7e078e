"""Is this a JSON request? (SPEC 2.2, pure)

Among the media ranges of all Accept headers that name an explicit type and subtype (no `*`)
with q > 0, the one with the highest q wins, the earliest listed on a tie; the request is a
JSON request when that range is application/json or application/<x>+json. Type names are
case-insensitive, parameters other than q are ignored, a range with an unparseable q is
ignored. No Accept header, `*/*` or `application/*` alone: not JSON.
"""

from __future__ import annotations

import re
from functools import lru_cache

_QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")


def is_json_request(accept_values: list[str] | tuple[str, ...]) -> bool:
    if not accept_values:
        return False
    return _classify(tuple(accept_values))


# Clients send the same few Accept lines over and over; random ones only cost a miss.
@lru_cache(maxsize=512)
def _classify(accept_values: tuple[str, ...]) -> bool:
    best_q = 0.0
    best_is_json = False
    for value in accept_values:
        for media_range in _split_outside_quotes(value, ","):
            parsed = _parse_range(media_range)
            if parsed is None:
                continue
            media_type, q = parsed
            if q > best_q:
                best_q, best_is_json = q, _is_json_type(media_type)
    return best_is_json


def _parse_range(media_range: str) -> tuple[str, float] | None:
    media_type, *params = _split_outside_quotes(media_range, ";")
    type_, slash, subtype = media_type.strip().lower().partition("/")
    if not slash or not _is_token(type_) or not _is_token(subtype):
        return None
    q = 1.0
    for param in params:
        name, _, raw = param.partition("=")
        if name.strip().lower() == "q":
            raw = raw.strip()
            if not _QVALUE.fullmatch(raw):
                return None
            q = float(raw)
    return f"{type_}/{subtype}", q


def _is_token(text: str) -> bool:
    return bool(text) and "*" not in text and not any(c.isspace() for c in text)


def _is_json_type(media_type: str) -> bool:
    type_, _, subtype = media_type.partition("/")
    return type_ == "application" and (
        subtype == "json" or (subtype.endswith("+json") and len(subtype) > len("+json"))
    )


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    if '"' not in text:
        return text.split(separator)
    parts, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts
