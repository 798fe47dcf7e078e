"""Authorization header -> raw bearer token, or an AuthFailure (pure).

Decisions (SPEC 2.5, RFC 6750/9110): the scheme is case-insensitive; one or more spaces (SP,
never a tab) separate it from the token; whitespace around the whole value is ignored. More
than one Authorization header, another scheme, a missing, empty or over-long token, characters
outside b64token, or a prefixed token whose checksum fails: malformed, decided without any I/O.
A non-Bearer scheme carries no bearer credentials, so its challenge has no error code.
"""

from __future__ import annotations

from gateway.outcomes import AuthFailure, Reason
from usetix.credentials import has_valid_shape


def parse_authorization(values: list[str], max_length: int) -> str:
    if not values:
        raise AuthFailure(Reason.MISSING_TOKEN, challenge_error=None)
    if len(values) > 1:
        raise AuthFailure(Reason.MALFORMED_TOKEN)
    value = values[0].strip(" \t")
    scheme, token = _split_scheme(value)
    if scheme.lower() != "bearer":
        raise AuthFailure(Reason.MALFORMED_TOKEN, challenge_error=None)
    if token is None or not has_valid_shape(token, max_length):
        raise AuthFailure(Reason.MALFORMED_TOKEN)
    return token


def _split_scheme(value: str) -> tuple[str, str | None]:
    """(scheme, token); token is None when the separator or the token is not acceptable."""
    end = 0
    while end < len(value) and value[end] not in " \t":
        end += 1
    scheme, rest = value[:end], value[end:]
    if not rest or rest[0] != " ":
        return scheme, None
    token = rest.lstrip(" ")
    return scheme, token or None
