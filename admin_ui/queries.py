"""admin_ui's own SQL: pairing codes and the audit listing. Credentials themselves go through
usetix.credential_store (create, revoke, list), never around it."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from admin_ui import pairing
from usetix import credential_store
from usetix.credential_store import CredentialRow, Executor
from usetix.credentials import Kind, Tier

# Scanner devices check tickets in (POST /scanner/checkins), so they need the write tier.
SCANNER_TIER = Tier.READ_WRITE


@dataclass(frozen=True, slots=True)
class AuditEntry:
    created_at: datetime
    actor: str
    action: str
    credential_id: int | None
    credential_kind: str | None
    credential_prefix: str | None
    credential_description: str | None
    client_address: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PendingPairing:
    description: str
    created_at: datetime
    expires_at: datetime


async def find_credential(
    db: Executor, *, account_id: int, credential_id: int, kind: Kind
) -> CredentialRow | None:
    """One credential of this account and kind (an account's list is short: reuse it)."""
    rows = await credential_store.list_for_account(db, account_id, kind=kind)
    return next((row for row in rows if row.id == credential_id), None)


async def list_audit(db: Executor, account_id: int, *, limit: int = 200) -> list[AuditEntry]:
    rows = await db.fetch(
        "SELECT a.created_at, a.actor, a.action, a.credential_id, a.client_address, a.detail,"
        " c.kind, c.display_prefix, c.description"
        " FROM audit_log a LEFT JOIN credentials c ON c.id = a.credential_id"
        " WHERE a.account_id = $1 ORDER BY a.created_at DESC, a.id DESC LIMIT $2",
        account_id,
        limit,
    )
    return [
        AuditEntry(
            created_at=row["created_at"],
            actor=row["actor"],
            action=row["action"],
            credential_id=row["credential_id"],
            credential_kind=row["kind"],
            credential_prefix=row["display_prefix"],
            credential_description=row["description"],
            client_address=row["client_address"],
            detail=json.loads(row["detail"]),
        )
        for row in rows
    ]


async def create_pairing_code(
    conn: asyncpg.Connection,
    *,
    account_id: int,
    user_id: int,
    actor: str,
    description: str,
    ttl_seconds: int,
    client_address: str | None,
) -> tuple[str, datetime]:
    """A new single-use pairing code (shown once; only its digest is kept) and its expiry."""
    # Rows long dead are swept so their selectors can be drawn again.
    await conn.execute("DELETE FROM pairing_codes WHERE expires_at < now() - interval '1 day'")
    for _ in range(8):
        selector, code = pairing.generate()
        try:
            async with conn.transaction():
                row = await conn.fetchrow(
                    "INSERT INTO pairing_codes"
                    " (account_id, selector, code_digest, description, created_by, expires_at)"
                    " VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))"
                    " RETURNING id, expires_at",
                    account_id,
                    selector,
                    pairing.digest(code),
                    description,
                    user_id,
                    ttl_seconds,
                )
                await credential_store.write_audit(
                    conn,
                    account_id=account_id,
                    actor=actor,
                    action="pairing_code.create",
                    client_address=client_address,
                    detail={
                        "pairing_code_id": row["id"],
                        "description": description,
                        "expires_at": row["expires_at"].isoformat(),
                    },
                )
        except asyncpg.UniqueViolationError:
            continue
        return code, row["expires_at"]
    raise RuntimeError("no free pairing-code selector")  # pragma: no cover


async def list_pending_pairings(db: Executor, account_id: int) -> list[PendingPairing]:
    rows = await db.fetch(
        "SELECT description, created_at, expires_at FROM pairing_codes"
        " WHERE account_id = $1 AND used_at IS NULL AND expires_at > now()"
        " AND failed_attempts < $2 ORDER BY created_at DESC",
        account_id,
        pairing.MAX_FAILED_ATTEMPTS,
    )
    return [PendingPairing(**dict(row)) for row in rows]


async def redeem_pairing_code(
    conn: asyncpg.Connection, text: str, *, client_address: str | None
) -> tuple[CredentialRow, str] | None:
    """Exchange a live code for a new scanner device token, once; None for any failure
    (unknown, expired, used, burned or wrong), so callers cannot tell them apart."""
    code = pairing.normalise(text)
    if code is None:
        return None
    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT p.id, p.account_id, p.code_digest, p.description, p.created_by,"
            " p.used_at, p.failed_attempts, p.expires_at > now() AS live, u.email"
            " FROM pairing_codes p LEFT JOIN users u ON u.id = p.created_by"
            " WHERE p.selector = $1 FOR UPDATE OF p",
            pairing.selector_of(code),
        )
        if row is None:
            return None
        if (
            not row["live"]
            or row["used_at"] is not None
            or row["failed_attempts"] >= pairing.MAX_FAILED_ATTEMPTS
        ):
            return None
        if not hmac.compare_digest(row["code_digest"], pairing.digest(code)):
            attempts = await conn.fetchval(
                "UPDATE pairing_codes SET failed_attempts = failed_attempts + 1"
                " WHERE id = $1 RETURNING failed_attempts",
                row["id"],
            )
            if attempts >= pairing.MAX_FAILED_ATTEMPTS:
                await credential_store.write_audit(
                    conn,
                    account_id=row["account_id"],
                    actor="scanner pairing",
                    action="pairing_code.burned",
                    client_address=client_address,
                    detail={"pairing_code_id": row["id"], "failed_attempts": attempts},
                )
            return None
        credential, token = await credential_store.create(
            conn,
            account_id=row["account_id"],
            kind=Kind.SCANNER,
            tier=SCANNER_TIER,
            description=row["description"],
            actor=f"pairing code from {row['email'] or 'a deleted user'}",
            created_by=row["created_by"],
            client_address=client_address,
        )
        await conn.execute(
            "UPDATE pairing_codes SET used_at = now(), credential_id = $2 WHERE id = $1",
            row["id"],
            credential.id,
        )
        await credential_store.write_audit(
            conn,
            account_id=row["account_id"],
            actor="scanner pairing",
            action="scanner.pair",
            credential_id=credential.id,
            client_address=client_address,
            detail={"pairing_code_id": row["id"]},
        )
    return credential, token
