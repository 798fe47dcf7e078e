"""Raw tokens exist only in the client's hands (SEC-11) and are minted well (SEC-15)."""

from __future__ import annotations

import logging
import math

from credpath import plaintext_in_schema, run_cli, status_of

from usetix import credentials
from usetix.credentials import B64TOKEN, BASE62, BODY_LENGTH, PREFIXES, Kind


async def test_no_raw_token_in_the_database_caches_or_logs(
    start_instance, http, conn, settings, db_url, tokens, caplog
):
    caplog.set_level(logging.DEBUG)
    minted = (
        await run_cli(
            settings, db_url, "create-token", "--account", str(tokens.account_a),
            "--tier", "write", "--description", "ci",
        )
    ).strip()
    raw = {minted, tokens.rw, tokens.read, tokens.b, tokens.scanner, tokens.revoked}
    gw = await start_instance(gateway={"last_used_flush_interval": 0.1})
    for token in raw:
        await status_of(http, gw, token, path="/scanner/events")
    await gw.close()  # flushes last-used; every table now holds what it will

    assert await plaintext_in_schema(conn, raw) == []
    stored = await conn.fetch("SELECT digest, display_prefix FROM credentials")
    assert {bytes(r["digest"]) for r in stored} >= {credentials.digest(t) for t in raw}
    assert all(len(r["display_prefix"]) <= 9 for r in stored)

    verifier = gw.verifier
    inspected = repr(verifier.cache) + repr(verifier.stats) + repr(verifier.cache.__dict__)
    inspected += caplog.text
    for token in raw:
        assert token not in inspected
        assert token[4:] not in inspected
    assert all(len(key) == 32 for key in verifier.cache._positive)


def test_minted_tokens_are_unique_well_formed_and_strong():
    """SEC-15: 100,000 tokens: all distinct, all b64token, prefixed, checksummed."""
    minted = [credentials.mint(Kind.API) for _ in range(50_000)]
    minted += [credentials.mint(Kind.SCANNER) for _ in range(50_000)]
    assert len(set(minted)) == len(minted)
    for token in minted:
        assert B64TOKEN.fullmatch(token)
        assert token[:4] in PREFIXES.values()
        assert credentials.has_valid_shape(token)
    assert set("".join(token[4 : 4 + BODY_LENGTH] for token in minted)) == set(BASE62)
    assert BODY_LENGTH * math.log2(len(BASE62)) >= 128  # bits drawn from `secrets`
