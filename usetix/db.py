"""Connection pool factory and the migration runner (numbered plain-SQL files, an advisory
lock so concurrent starters do not race, one transaction per file)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from usetix.config import DatabaseSettings

log = logging.getLogger(__name__)

# Any constant shared by every process that migrates this database.
MIGRATION_LOCK_KEY = 0x5E71C5


def connect_options(db: DatabaseSettings) -> dict[str, Any]:
    """Options for every connection: bounded queries on both ends of the wire."""
    return {
        "command_timeout": db.command_timeout,
        "server_settings": {
            "statement_timeout": str(int(db.statement_timeout * 1000)),
            "application_name": "usetix",
        },
    }


async def create_pool(dsn: str, db: DatabaseSettings, **extra: Any) -> asyncpg.Pool:
    """A pool configured from `db`; keyword arguments of asyncpg.create_pool override the
    settings (e.g. a one-connection pool for a helper), and `server_settings` are merged
    into ours rather than replacing them, so the statement timeout is never lost by accident."""
    options: dict[str, Any] = {
        "min_size": min(db.pool_min_size, db.pool_max_size),
        "max_size": db.pool_max_size,
        "max_inactive_connection_lifetime": db.pool_max_inactive_lifetime,
        **connect_options(db),
    }
    server_settings = options["server_settings"] | extra.pop("server_settings", {})
    options |= extra
    options["server_settings"] = server_settings
    return await asyncpg.create_pool(dsn, **options)


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) for each file in usetix/migrations, in order."""
    folder = resources.files("usetix") / "migrations"
    files = sorted(p for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(p.name.removesuffix(".sql"), p.read_text(encoding="utf-8")) for p in files]


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply pending migrations in the connection's current schema; returns what ran."""
    applied_now = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, sql in migration_files():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version) VALUES ($1)", version
                )
            log.info("applied migration %s", version)
            applied_now.append(version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
    return applied_now


def with_search_path(url: str, schema: str) -> str:
    """The URL with its connections' search_path set to schema (asyncpg passes unknown query
    parameters on as server settings), so every pool and process on it sees that schema."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "search_path"]
    query.append(("search_path", schema))
    return urlunsplit(parts._replace(query=urlencode(query)))


@asynccontextmanager
async def scratch_schema(server_url: str, prefix: str) -> AsyncIterator[str]:
    """A URL to a fresh, fully migrated schema, dropped afterwards: the isolation unit of
    the tests (one per test) and the benchmarks (one per run)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        url = with_search_path(server_url, schema)
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield url
    finally:
        if admin.is_closed():  # the server was restarted under it (fault tests)
            admin = await asyncpg.connect(server_url)
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()
