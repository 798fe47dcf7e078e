"""Demo data for a first look (`usetix run` with admin_ui.seed_demo on; never in production)."""

from __future__ import annotations

import secrets

import asyncpg

from usetix import accounts

DEMO_ACCOUNT = "Demo Events Ltd"
DEMO_EMAIL = "admin@demo.usetix.test"
# Any constant of our own: two supervisors starting at once must not both seed.
SEED_LOCK_KEY = 0x5E7D3E0


async def seed_demo(conn: asyncpg.Connection) -> tuple[str, str] | None:
    """When there is no account yet, create a demo account and admin user with a random
    password and return (email, password) to print once; otherwise None."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SEED_LOCK_KEY)
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM accounts)"):
            return None
        password = secrets.token_urlsafe(12)
        account_id = await accounts.create_account(conn, DEMO_ACCOUNT)
        await accounts.create_user(conn, account_id=account_id, email=DEMO_EMAIL, password=password)
    return DEMO_EMAIL, password
