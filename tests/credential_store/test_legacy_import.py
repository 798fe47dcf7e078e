"""Legacy tokens (the old system's plaintext api_tokens table) hashed in place, under traffic:
every token keeps working before, during and after; afterwards no plaintext is left; the
import is idempotent; a stored digest is no token (SEC-12, FT-08, SPEC 3)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

import asyncpg
import pytest
from credpath import call, plaintext_in_schema, run_cli, status_of

from usetix import credentials

LEGACY_TABLE = """
CREATE TABLE api_tokens (
  id          bigserial PRIMARY KEY,
  account_id  bigint NOT NULL,
  token       varchar NOT NULL,
  permission  varchar NOT NULL,
  description varchar,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
CREATE UNIQUE INDEX index_api_tokens_on_token ON api_tokens (token);
"""
ROWS = 10_000
MISSING_ACCOUNT = 900_001  # known to the old system only


async def load_legacy(conn: asyncpg.Connection, rows: list[tuple]) -> None:
    await conn.execute(LEGACY_TABLE)
    await conn.executemany(
        "INSERT INTO api_tokens (account_id, token, permission, description, revoked_at)"
        " VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END)",
        rows,
    )


@pytest.fixture
async def legacy(conn, tokens) -> list[tuple]:
    """10,000 rows in the old shape: two accounts (one unknown here), both permissions,
    every 10th revoked. Tokens are plain b64token values with no prefix."""
    rows = []
    for i in range(ROWS):
        account = MISSING_ACCOUNT if i % 7 == 0 else tokens.account_a
        permission = "read" if i % 2 else "read_write"
        rows.append((account, secrets.token_urlsafe(24), permission, f"sync {i}", i % 10 == 9))
    await load_legacy(conn, rows)
    return rows


def live(rows: list[tuple], permission: str) -> list[str]:
    return [row[1] for row in rows if row[2] == permission and not row[4]]


async def test_legacy_tokens_survive_the_import_under_traffic(
    start_instance, http, upstream, conn, settings, db_url, tokens, legacy
):
    gw = await start_instance()
    rw, read = live(legacy, "read_write"), live(legacy, "read")
    revoked = [row[1] for row in legacy if row[4]]
    # Before: looked up in the old table (and moved into credentials on first use).
    assert await status_of(http, gw, rw[0], method="POST") == 200
    assert await status_of(http, gw, read[0], method="POST") == 401
    assert await status_of(http, gw, revoked[0]) == 401

    failures: list[tuple[str, int]] = []
    stop = asyncio.Event()

    async def traffic(pool: list[str], expected: int) -> int:
        sent = 0
        while not stop.is_set():
            token = pool[sent % len(pool)]
            status = await status_of(http, gw, token)
            if status != expected:
                failures.append((token[:4], status))
            sent += 1
        return sent

    workers = [
        asyncio.create_task(traffic(rw[1:200], 200)),
        asyncio.create_task(traffic(read[1:200], 200)),
        asyncio.create_task(traffic(revoked[1:50], 401)),
        asyncio.create_task(traffic([tokens.rw], 200)),
    ]
    await asyncio.sleep(0.2)
    out = await run_cli(settings, db_url, "import-legacy-tokens")
    await asyncio.sleep(0.2)
    stop.set()
    sent = await asyncio.gather(*workers)
    assert failures == []
    assert all(count > 0 for count in sent)
    assert out.startswith("imported ")

    assert await conn.fetchval("SELECT to_regclass('api_tokens')") is None
    imported = await conn.fetchval(
        "SELECT count(*) FROM credentials WHERE display_prefix LIKE '%…' AND created_by IS NULL"
        " AND description LIKE 'sync %'"
    )
    assert imported == ROWS
    # After: every kind of legacy token answers as it did, with a real credential id.
    status, _, _ = await call(http, gw, rw[-1], method="POST")
    assert status == 200
    sent_as = upstream.received[-1][2]
    row = await conn.fetchrow(
        "SELECT id, kind, tier, account_id, display_prefix FROM credentials WHERE digest = $1",
        credentials.digest(rw[-1]),
    )
    assert sent_as == f"api:{row['id']}"
    shown = (row["kind"], row["tier"], row["display_prefix"])
    assert shown == ("api", "read_write", rw[-1][:4] + "…")
    assert await status_of(http, gw, read[-1]) == 200
    assert (await call(http, gw, read[-1], method="POST"))[2]["reason"] == "insufficient_scope"
    assert await status_of(http, gw, revoked[-1]) == 401
    assert await conn.fetchval(
        "SELECT name FROM accounts WHERE id = $1", MISSING_ACCOUNT
    ) == f"Legacy account {MISSING_ACCOUNT}"
    # A stored digest is not a token.
    assert await status_of(http, gw, hashlib.sha256(rw[-1].encode()).hexdigest()) == 401

    # No plaintext anywhere: not in a table, an index or the audit log.
    assert await plaintext_in_schema(conn, {row[1] for row in legacy}) == []
    assert await conn.fetchval(
        "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema()"
        " AND indexname = 'index_api_tokens_on_token'"
    ) == 0
    audited = await conn.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'credential.import'"
    )
    assert audited == ROWS


async def test_import_is_idempotent(start_instance, http, conn, settings, db_url, tokens):
    rows = [(tokens.account_a, secrets.token_urlsafe(24), "read", "old", False) for _ in range(3)]
    await load_legacy(conn, rows)
    assert await run_cli(settings, db_url, "import-legacy-tokens") == (
        "imported 3 legacy token(s); the api_tokens table is dropped\n"
    )
    assert await run_cli(settings, db_url, "import-legacy-tokens") == (
        "no api_tokens table: nothing to import\n"
    )
    await load_legacy(conn, rows)  # the same dump loaded again
    assert await run_cli(settings, db_url, "import-legacy-tokens") == (
        "imported 0 legacy token(s); the api_tokens table is dropped\n"
    )
    gw = await start_instance()
    for row in rows:
        assert await status_of(http, gw, row[1]) == 200


async def test_unknown_permission_stops_the_bulk_import_and_changes_nothing(conn, tokens):
    rows = [(tokens.account_a, secrets.token_urlsafe(24), "admin", None, False)]
    await load_legacy(conn, rows)
    before = await conn.fetchval("SELECT count(*) FROM credentials")
    with pytest.raises(asyncpg.RaiseError, match="permission other than read"):
        await conn.fetchval("SELECT usetix_import_legacy_tokens()")
    assert await conn.fetchval("SELECT count(*) FROM credentials") == before
    assert await conn.fetchval("SELECT to_regclass('api_tokens')") is not None
