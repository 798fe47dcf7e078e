"""Authorization header lines -> token, or why not (SPEC 2.5; BH-025..028, BI-02..05).

Pure: no server, no database. A row either yields the token (the exact characters that will
be hashed) or names the reason and the RFC 6750 challenge error."""

from __future__ import annotations

import pytest

from gateway.bearer import parse_authorization
from gateway.outcomes import AuthFailure, Reason
from usetix.credentials import Kind, mint

TOKEN = mint(Kind.API)
SCANNER = mint(Kind.SCANNER)
LEGACY = "legacyTokenValue_0123-abc.def~ghi+jk/lm=="  # old table: any b64token, 16..256
MAX = 256

MISSING = (Reason.MISSING_TOKEN, None)
MALFORMED = (Reason.MALFORMED_TOKEN, "invalid_token")
NO_BEARER = (Reason.MALFORMED_TOKEN, None)  # another scheme: no bearer credentials at all


def _flip_checksum(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


ACCEPTED: list[tuple[str, list[str], str]] = [
    ("plain", [f"Bearer {TOKEN}"], TOKEN),
    ("BH-025 lower scheme", [f"bearer {TOKEN}"], TOKEN),
    ("BH-025 upper scheme", [f"BEARER {TOKEN}"], TOKEN),
    ("BH-025 mixed scheme", [f"BeArEr {TOKEN}"], TOKEN),
    ("BH-026 two spaces (1*SP)", [f"Bearer  {TOKEN}"], TOKEN),
    ("many spaces", [f"Bearer     {TOKEN}"], TOKEN),
    ("BH-026 leading and trailing spaces", [f"   Bearer {TOKEN}   "], TOKEN),
    ("leading and trailing tabs", [f"\tBearer {TOKEN}\t"], TOKEN),
    ("scanner token", [f"Bearer {SCANNER}"], SCANNER),
    ("legacy b64token", [f"Bearer {LEGACY}"], LEGACY),
    ("legacy at 16 chars", ["Bearer " + "a" * 16], "a" * 16),
    ("legacy at max length", ["Bearer " + "a" * MAX], "a" * MAX),
    ("trailing = padding", ["Bearer " + "a" * 16 + "=="], "a" * 16 + "=="),
    ("BH-025 token case is kept (the store compares exactly)", [f"Bearer {TOKEN.swapcase()}"],
     TOKEN.swapcase()),
]

REFUSED: list[tuple[str, list[str], tuple[Reason, str | None]]] = [
    ("BI-01 no header", [], MISSING),
    # BI-02 / BH-027: scheme only, empty.
    ("BI-02 scheme only", ["Bearer"], MALFORMED),
    ("BI-02 scheme and one space", ["Bearer "], MALFORMED),
    ("BI-02 scheme and three spaces", ["Bearer   "], MALFORMED),
    ("BI-02 tab separator (decision: SP only)", [f"Bearer\t{TOKEN}"], MALFORMED),
    ("space then tab", [f"Bearer \t{TOKEN}"], MALFORMED),
    ("BH-027 empty value", [""], NO_BEARER),
    ("only spaces", ["   "], NO_BEARER),
    ('BH-027 quoted empty token', ['Bearer ""'], MALFORMED),
    # BI-05: other schemes carry no bearer credentials.
    ("BI-05 Basic", ["Basic dXNlcjpwYXNz"], NO_BEARER),
    ("BI-05 Token", [f"Token {TOKEN}"], NO_BEARER),
    ("BI-05 BearerT (no separator)", [f"Bearer{TOKEN}"], NO_BEARER),
    ("Bearer with a colon", [f"Bearer: {TOKEN}"], NO_BEARER),
    ("Digest", ['Digest username="a"'], NO_BEARER),
    # BH-026: extra words, inner space.
    ("BH-026 extra word", [f"Bearer {TOKEN} extra"], MALFORMED),
    ("BH-026 inner space", [f"Bearer {TOKEN[:10]} {TOKEN[10:]}"], MALFORMED),
    ("BH-029 comma-joined", [f"Bearer {TOKEN}, Bearer {SCANNER}"], MALFORMED),
    ("trailing comma", [f"Bearer {TOKEN},"], MALFORMED),
    # BI-06 / BH-029: never first or last wins.
    ("BI-06 two headers, both valid", [f"Bearer {TOKEN}", f"Bearer {SCANNER}"], MALFORMED),
    ("BI-06 two identical headers", [f"Bearer {TOKEN}", f"Bearer {TOKEN}"], MALFORMED),
    ("BI-06 valid then junk", [f"Bearer {TOKEN}", "Bearer x"], MALFORMED),
    ("BI-06 empty then valid", ["", f"Bearer {TOKEN}"], MALFORMED),
    # BI-04: characters outside b64token.
    ("BI-04 comma", ["Bearer abcdefgh,ijklmnopq"], MALFORMED),
    ("BI-04 double quote", ['Bearer "abcdefghijklmnopq"'], MALFORMED),
    ("BI-04 percent-encoded", ["Bearer %41bcdefghijklmnopq"], MALFORMED),
    ("BI-04 = mid-token", ["Bearer abcdefgh=ijklmnopq"], MALFORMED),
    ("only =", ["Bearer " + "=" * 20], MALFORMED),
    ("BI-04 semicolon", ["Bearer abcdefgh;ijklmnopq"], MALFORMED),
    ("BI-04 5 KB of A (over-long)", ["Bearer " + "A" * 5000], MALFORMED),
    ("one over max length", ["Bearer " + "a" * (MAX + 1)], MALFORMED),
    ("legacy too short", ["Bearer " + "a" * 15], MALFORMED),
    # BH-028: non-ASCII as aiohttp hands it over (UTF-8 decoded, or surrogate-escaped bytes).
    ("BH-028 surrogate-escaped 0xff 0xfe", [f"Bearer \udcff\udcfe{TOKEN}"], MALFORMED),
    ("BH-028 e-acute", ["Bearer tést" + "a" * 16], MALFORMED),
    ("BH-028 smart quotes", [f"Bearer \u201c{TOKEN}\u201d"], MALFORMED),
    ("full-width digit", ["Bearer " + "a" * 16 + "\uff15"], MALFORMED),
    ("non-ASCII scheme", [f"Bëarer {TOKEN}"], NO_BEARER),
    ("NUL inside", [f"Bearer {TOKEN[:10]}\x00{TOKEN[10:]}"], MALFORMED),
    ("DEL inside", [f"Bearer {TOKEN[:10]}\x7f{TOKEN[10:]}"], MALFORMED),
    # SPEC 3: a prefixed token whose checksum fails is refused without a lookup.
    ("checksum fails", [f"Bearer {_flip_checksum(TOKEN)}"], MALFORMED),
    ("scanner checksum fails", [f"Bearer {_flip_checksum(SCANNER)}"], MALFORMED),
    ("prefixed, one char short", [f"Bearer {TOKEN[:-1]}"], MALFORMED),
    ("prefixed, one char long", [f"Bearer {TOKEN}a"], MALFORMED),
    ("prefixed with - in the body", [f"Bearer usx_{'-' * 30}{TOKEN[-6:]}"], MALFORMED),
]


@pytest.mark.parametrize(("values", "token"), [r[1:] for r in ACCEPTED],
                         ids=[r[0] for r in ACCEPTED])
def test_accepted(values: list[str], token: str) -> None:
    assert parse_authorization(values, MAX) == token


@pytest.mark.parametrize(("values", "expected"), [r[1:] for r in REFUSED],
                         ids=[r[0] for r in REFUSED])
def test_refused(values: list[str], expected: tuple[Reason, str | None]) -> None:
    with pytest.raises(AuthFailure) as caught:
        parse_authorization(values, MAX)
    assert (caught.value.reason, caught.value.challenge_error) == expected


def test_max_length_is_the_configured_one() -> None:
    token = "a" * 100
    assert parse_authorization([f"Bearer {token}"], 100) == token
    with pytest.raises(AuthFailure):
        parse_authorization([f"Bearer {token}"], 99)
