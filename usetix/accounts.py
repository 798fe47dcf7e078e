"""The SQL for accounts and their admin users."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from usetix.passwords import hash_password


@dataclass(frozen=True, slots=True)
class User:
    id: int
    account_id: int
    email: str
    password_hash: str


class DuplicateEmail(Exception):
    """Another admin user already has this email address."""


async def create_account(db: asyncpg.Connection | asyncpg.Pool, name: str) -> int:
    return await db.fetchval("INSERT INTO accounts (name) VALUES ($1) RETURNING id", name)


async def account_exists(db: asyncpg.Connection | asyncpg.Pool, account_id: int) -> bool:
    return bool(await db.fetchval("SELECT 1 FROM accounts WHERE id = $1", account_id))


async def create_user(
    db: asyncpg.Connection | asyncpg.Pool, *, account_id: int, email: str, password: str
) -> int:
    password_hash = await hash_password(password)
    try:
        return await db.fetchval(
            "INSERT INTO users (account_id, email, password_hash) VALUES ($1, $2, $3)"
            " RETURNING id",
            account_id,
            email.strip(),
            password_hash,
        )
    except asyncpg.UniqueViolationError:
        raise DuplicateEmail(email) from None


async def user_by_email(db: asyncpg.Connection | asyncpg.Pool, email: str) -> User | None:
    row = await db.fetchrow(
        "SELECT id, account_id, email, password_hash FROM users WHERE lower(email) = lower($1)",
        email.strip(),
    )
    return User(**dict(row)) if row else None
