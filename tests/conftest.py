"""Shared fixtures: one real Postgres per test run, one fresh schema per test.

TEST_DATABASE_URL points at an existing server when set; otherwise one embedded server
(pgserver) is started for the run. Each test gets its own schema with every migration applied,
reached through a URL whose search_path names it, so every pool, app and subprocess the test
starts sees only that test's data.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from usetix import credential_store, db
from usetix.config import Settings, load_settings
from usetix.credentials import Kind, Tier


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """The URL of the run's Postgres server (database level, no schema)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    from usetix.embedded import start_embedded, stop_embedded

    with tempfile.TemporaryDirectory(prefix="usetix-pg-") as folder:
        data = Path(folder) / "data"
        try:
            yield start_embedded(data, database="usetix_test")
        finally:
            # Stop the server before its folder is removed, or it outlives the run.
            stop_embedded(data)


@pytest.fixture
async def db_url(server_url: str) -> AsyncIterator[str]:
    """A URL to a fresh, fully migrated schema of this test's own."""
    async with db.scratch_schema(server_url, "t") as url:
        yield url


@pytest.fixture
def settings(db_url: str) -> Settings:
    """Default settings pointed at this test's schema, with secrets and free ports."""
    base = load_settings({})
    return base.replace(
        database={"url": db_url, "pool_min_size": 1, "pool_max_size": 5},
        secrets={"identity_key": secrets.token_hex(32), "session_key": secrets.token_hex(32)},
        gateway={"port": 0, "ops_port": 0, "allowed_hosts": ()},
        upstream_app={"port": 0},
        admin_ui={"port": 0, "secure_cookies": False},
    )


@pytest.fixture
async def conn(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to this test's schema, for arranging and checking rows."""
    connection = await asyncpg.connect(db_url)
    try:
        yield connection
    finally:
        await connection.close()


@dataclass(frozen=True)
class Tokens:
    """The cast of the real-world cases: accounts A and B and their credentials."""

    account_a: int
    account_b: int
    rw: str
    read: str
    b: str
    scanner: str
    revoked: str


@pytest.fixture
async def tokens(conn: asyncpg.Connection) -> Tokens:
    account_a = await conn.fetchval("INSERT INTO accounts (name) VALUES ('A') RETURNING id")
    account_b = await conn.fetchval("INSERT INTO accounts (name) VALUES ('B') RETURNING id")

    async def mint(account: int, tier: Tier, kind: Kind = Kind.API) -> str:
        _, token = await credential_store.create(
            conn, account_id=account, kind=kind, tier=tier, description="test", actor="test"
        )
        return token

    revoked = await mint(account_a, Tier.READ_WRITE)
    await conn.execute(
        "UPDATE credentials SET revoked_at = now() WHERE id = (SELECT max(id) FROM credentials)"
    )
    return Tokens(
        account_a=account_a,
        account_b=account_b,
        rw=await mint(account_a, Tier.READ_WRITE),
        read=await mint(account_a, Tier.READ),
        b=await mint(account_b, Tier.READ_WRITE),
        scanner=await mint(account_a, Tier.READ_WRITE, Kind.SCANNER),
        revoked=revoked,
    )
