import re

import pytest

from usetix import credentials
from usetix.credentials import B64TOKEN, Kind


@pytest.mark.parametrize("kind,prefix", [(Kind.API, "usx_"), (Kind.SCANNER, "uss_")])
def test_minted_token_has_prefix_body_and_valid_checksum(kind, prefix):
    token = credentials.mint(kind)
    assert token.startswith(prefix)
    assert re.fullmatch(prefix + r"[0-9A-Za-z]{36}", token)
    assert credentials.has_valid_shape(token)


def test_many_tokens_are_unique_b64tokens():
    # SEC-15 scaled down for the fast suite: uniqueness and alphabet; 30 base62 chars = 178 bits.
    minted = {credentials.mint(Kind.API) for _ in range(20_000)}
    assert len(minted) == 20_000
    assert all(B64TOKEN.fullmatch(t) for t in minted)


def test_one_changed_character_fails_the_checksum():
    token = credentials.mint(Kind.API)
    flipped = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    assert not credentials.has_valid_shape(flipped)


@pytest.mark.parametrize(
    "token,valid",
    [
        ("a" * 15, False),
        ("a" * 16, True),
        ("a" * 256, True),
        ("a" * 257, False),
        ("legacy-token.value~1+2/3==", True),
        ("legacy=token-value-x", False),
        ("token,with,commas1", False),
        ("tok\u00e9n-with-accent-x", False),
        ("usx_" + "a" * 36, False),
        ("usx_short", False),
    ],
)
def test_shape_rules(token, valid):
    assert credentials.has_valid_shape(token) is valid


def test_digest_is_sha256_and_display_prefix_is_short():
    token = credentials.mint(Kind.API)
    assert len(credentials.digest(token)) == 32
    assert credentials.display_prefix(token) == token[:8] + "…"
