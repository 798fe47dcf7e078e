"""The SQL for credentials: lookup by digest, create, revoke, list, touch. Every write that
changes a credential also writes its audit row, in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from usetix import credentials, revocation
from usetix.credentials import Credential, Kind, Tier

Executor = asyncpg.Connection | asyncpg.Pool


@dataclass(frozen=True, slots=True)
class CredentialRow:
    """A credential as listed to its account's admins (never the token)."""

    id: int
    account_id: int
    kind: Kind
    tier: Tier
    display_prefix: str
    description: str
    created_at: datetime
    last_used_at: datetime | None
    last_used_address: str | None
    last_used_user_agent: str | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Usage:
    """One credential's latest use, collected in memory and written in batches."""

    credential_id: int
    used_at: datetime
    address: str | None
    user_agent: str | None


_LIST_COLUMNS = (
    "id, account_id, kind, tier, display_prefix, description, created_at,"
    " last_used_at, last_used_address, last_used_user_agent, revoked_at"
)


async def lookup(db: Executor, digest: bytes) -> Credential | None:
    """The live credential with this digest, or None if unknown or revoked."""
    found = await lookup_with_state(db, digest)
    return found[0] if found and not found[1] else None


async def lookup_with_state(db: Executor, digest: bytes) -> tuple[Credential, bool] | None:
    """(credential, revoked) for this digest, or None if no credential ever had it."""
    row = await db.fetchrow(
        "SELECT id, account_id, kind, tier, revoked_at IS NOT NULL AS revoked"
        " FROM credentials WHERE digest = $1",
        digest,
    )
    if row is None:
        return None
    credential = Credential(
        id=row["id"], account_id=row["account_id"], kind=Kind(row["kind"]), tier=Tier(row["tier"])
    )
    return credential, row["revoked"]


async def create(
    conn: asyncpg.Connection,
    *,
    account_id: int,
    kind: Kind,
    tier: Tier,
    description: str,
    actor: str,
    created_by: int | None = None,
    client_address: str | None = None,
) -> tuple[CredentialRow, str]:
    """Mint and store a credential; returns its row and the raw token (shown once)."""
    token = credentials.mint(kind)
    async with conn.transaction():
        row = await conn.fetchrow(
            "INSERT INTO credentials"
            " (account_id, kind, tier, digest, display_prefix, description, created_by)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_LIST_COLUMNS}",
            account_id,
            kind.value,
            tier.value,
            credentials.digest(token),
            credentials.display_prefix(token),
            description,
            created_by,
        )
        await write_audit(
            conn,
            account_id=account_id,
            actor=actor,
            action="credential.create",
            credential_id=row["id"],
            client_address=client_address,
            detail={"kind": kind.value, "tier": tier.value, "description": description},
        )
    return _to_row(row), token


async def revoke(
    conn: asyncpg.Connection,
    credential_id: int,
    *,
    actor: str,
    account_id: int | None = None,
    client_address: str | None = None,
) -> bool:
    """Revoke a live credential (of account_id, when given); False if there was none.
    Returns once every gateway has evicted it (see usetix.revocation)."""
    if conn.is_in_transaction():
        raise RuntimeError("revoke commits on its own: the gateways hear of it at commit")
    async with revocation.eviction_watch(conn) as watch:
        async with conn.transaction():
            row = await conn.fetchrow(
                "UPDATE credentials SET revoked_at = now()"
                " WHERE id = $1 AND revoked_at IS NULL"
                " AND ($2::bigint IS NULL OR account_id = $2)"
                " RETURNING account_id, digest",
                credential_id,
                account_id,
            )
            if row is None:
                return False
            await write_audit(
                conn,
                account_id=row["account_id"],
                actor=actor,
                action="credential.revoke",
                credential_id=credential_id,
                client_address=client_address,
            )
        await watch.wait(row["digest"])
    return True


async def revoke_by_digest(
    conn: asyncpg.Connection, digest: bytes, *, actor: str, client_address: str | None = None
) -> bool:
    """Revoke whatever live credential has this digest (the leaked-token kill switch)."""
    credential_id = await conn.fetchval(
        "SELECT id FROM credentials WHERE digest = $1 AND revoked_at IS NULL", digest
    )
    if credential_id is None:
        return False
    return await revoke(conn, credential_id, actor=actor, client_address=client_address)


async def list_for_account(
    db: Executor, account_id: int, *, kind: Kind | None = None
) -> list[CredentialRow]:
    rows = await db.fetch(
        f"SELECT {_LIST_COLUMNS} FROM credentials"
        " WHERE account_id = $1 AND ($2::text IS NULL OR kind = $2)"
        " ORDER BY created_at DESC, id DESC",
        account_id,
        kind.value if kind else None,
    )
    return [_to_row(row) for row in rows]


async def touch(db: Executor, usages: Iterable[Usage]) -> None:
    """Record the latest use of many credentials in one statement."""
    batch = list(usages)
    if not batch:
        return
    await db.execute(
        "UPDATE credentials AS c SET last_used_at = u.used_at,"
        " last_used_address = u.address, last_used_user_agent = u.user_agent"
        " FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[])"
        "   AS u(id, used_at, address, user_agent)"
        " WHERE c.id = u.id AND (c.last_used_at IS NULL OR c.last_used_at < u.used_at)",
        [u.credential_id for u in batch],
        [u.used_at for u in batch],
        [u.address for u in batch],
        [u.user_agent for u in batch],
    )


async def import_legacy_tokens(
    conn: asyncpg.Connection, token: str | None = None, *, unbounded: bool = False
) -> int | None:
    """Move the old system's plaintext api_tokens into credentials (migration 0004's
    function): every row and then drop the table, or only `token` (the table stays).
    Returns the credentials created, or None when there is no api_tokens table.
    `unbounded` lifts the connection's time limits for this one call (the bulk import of a
    large table, from the command line); the gateway keeps them."""
    if not unbounded:
        return await conn.fetchval("SELECT usetix_import_legacy_tokens($1::text)", token)
    async with conn.transaction():
        await conn.execute("SET LOCAL statement_timeout = 0")
        return await conn.fetchval(
            "SELECT usetix_import_legacy_tokens($1::text)", token, timeout=24 * 3600
        )


async def write_audit(
    conn: asyncpg.Connection,
    *,
    account_id: int,
    actor: str,
    action: str,
    credential_id: int | None = None,
    client_address: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (account_id, actor, action, credential_id, client_address, detail)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
        account_id,
        actor,
        action,
        credential_id,
        client_address,
        json.dumps(detail or {}),
    )


def _to_row(row: asyncpg.Record) -> CredentialRow:
    return CredentialRow(
        id=row["id"],
        account_id=row["account_id"],
        kind=Kind(row["kind"]),
        tier=Tier(row["tier"]),
        display_prefix=row["display_prefix"],
        description=row["description"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        last_used_address=row["last_used_address"],
        last_used_user_agent=row["last_used_user_agent"],
        revoked_at=row["revoked_at"],
    )
