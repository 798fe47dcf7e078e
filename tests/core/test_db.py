"""usetix.db.create_pool: configured from the settings; explicit keyword arguments win."""

from __future__ import annotations

import asyncio

import pytest

from usetix import db
from usetix.config import Settings

STATEMENT_TIMEOUT_MS = "SELECT setting FROM pg_settings WHERE name = 'statement_timeout'"


async def test_create_pool_uses_the_settings(settings: Settings) -> None:
    pool = await db.create_pool(settings.database.url, settings.database)
    try:
        assert pool.get_min_size() == settings.database.pool_min_size
        assert pool.get_max_size() == settings.database.pool_max_size
        expected = str(int(settings.database.statement_timeout * 1000))
        assert await pool.fetchval(STATEMENT_TIMEOUT_MS) == expected
        assert await pool.fetchval("SHOW application_name") == "usetix"
    finally:
        await pool.close()


async def test_explicit_keywords_override_the_settings(settings: Settings) -> None:
    pool = await db.create_pool(
        settings.database.url,
        settings.database,
        min_size=0,
        max_size=1,
        command_timeout=0.2,
        server_settings={"application_name": "usetix-test-helper"},
    )
    try:
        assert (pool.get_min_size(), pool.get_max_size()) == (0, 1)
        assert await pool.fetchval("SHOW application_name") == "usetix-test-helper"
        # server_settings are merged into ours, so the statement timeout is still set.
        expected = str(int(settings.database.statement_timeout * 1000))
        assert await pool.fetchval(STATEMENT_TIMEOUT_MS) == expected
        with pytest.raises(asyncio.TimeoutError):
            await pool.execute("SELECT pg_sleep(2)")
    finally:
        await pool.close()
