"""Token format (mint, checksum, shape), hashing, and the Credential value object.

A new token is `<kind prefix><30 base62 chars from the OS CSPRNG><6-char base62 CRC32 of the
rest>`. The checksum lets the gateway (and secret scanners) throw typos and junk away without
a database lookup. Tokens from the old system have no prefix and are any RFC 6750 b64token
of 16..256 characters; they are looked up like any other.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib
from dataclasses import dataclass
from enum import StrEnum

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BODY_LENGTH = 30
CHECKSUM_LENGTH = 6
LEGACY_MIN_LENGTH = 16
LEGACY_MAX_LENGTH = 256

# RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class Kind(StrEnum):
    API = "api"
    SCANNER = "scanner"


class Tier(StrEnum):
    READ = "read"
    READ_WRITE = "read_write"


PREFIXES: dict[Kind, str] = {Kind.API: "usx_", Kind.SCANNER: "uss_"}
_KIND_BY_PREFIX = {prefix: kind for kind, prefix in PREFIXES.items()}
TOKEN_LENGTH = 4 + BODY_LENGTH + CHECKSUM_LENGTH


@dataclass(frozen=True, slots=True)
class Credential:
    """What the gateway knows about a presented token: never the token itself."""

    id: int
    account_id: int
    kind: Kind
    tier: Tier


def mint(kind: Kind) -> str:
    """A new raw token of this kind (the only place one is created)."""
    head = PREFIXES[kind] + random_base62(BODY_LENGTH)
    return head + checksum(head)


def random_base62(count: int) -> str:
    """`count` uniformly random base62 characters from the OS CSPRNG (one urandom call
    instead of one per character)."""
    chars: list[str] = []
    while len(chars) < count:
        for byte in secrets.token_bytes(2 * count):
            # 248 = 4 * 62: bytes above it are dropped so every character is equally likely.
            if byte < 248:
                chars.append(BASE62[byte % 62])
                if len(chars) == count:
                    break
    return "".join(chars)


def checksum(text: str) -> str:
    value = zlib.crc32(text.encode("ascii"))
    digits = []
    for _ in range(CHECKSUM_LENGTH):
        value, remainder = divmod(value, 62)
        digits.append(BASE62[remainder])
    return "".join(reversed(digits))


def has_valid_shape(token: str, max_length: int = LEGACY_MAX_LENGTH) -> bool:
    """True when the token could exist: a prefixed token with a good checksum, or a
    legacy b64token of the allowed length. Decided without any I/O."""
    if not (LEGACY_MIN_LENGTH <= len(token) <= max_length) or not B64TOKEN.fullmatch(token):
        return False
    if token[:4] in _KIND_BY_PREFIX:
        return (
            len(token) == TOKEN_LENGTH
            and token[4:].isalnum()
            and checksum(token[:-CHECKSUM_LENGTH]) == token[-CHECKSUM_LENGTH:]
        )
    return True


def digest(token: str) -> bytes:
    """SHA-256 of the token: what the database keeps and the cache is keyed by."""
    return hashlib.sha256(token.encode("ascii")).digest()


def display_prefix(token: str) -> str:
    """Enough to recognise a token in a list, far too little to use it."""
    if token[:4] in _KIND_BY_PREFIX:
        return token[:8] + "…"
    return token[:4] + "…"
