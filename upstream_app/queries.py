"""The SQL for events, tickets and check-ins. Every function takes the account id and puts it
in the WHERE clause of its first statement: a row of another account is simply not found, by
the same single statement that misses a row that does not exist."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from usetix.credentials import BASE62
from usetix.identity import Identity

PUBLIC_ID_LENGTH = 20  # base62: about 119 random bits
# Printed on tickets and typed at doors: no 0/O or 1/I to confuse. 16 chars: 80 random bits.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 16


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    name: str
    starts_at: datetime
    venue: str
    capacity: int
    tickets_issued: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Ticket:
    id: str
    event_id: str
    holder_name: str
    code: str
    created_at: datetime
    checked_in_at: datetime | None


@dataclass(frozen=True, slots=True)
class Checkin:
    id: str
    ticket: Ticket
    checked_in_at: datetime
    credential_kind: str
    credential_id: int | None


class SoldOut(Exception):
    """The event already has as many tickets as its capacity."""


class BelowIssued(Exception):
    """A new capacity would be lower than the tickets already issued."""

    def __init__(self, issued: int) -> None:
        super().__init__(issued)
        self.issued = issued


class AlreadyCheckedIn(Exception):
    def __init__(self, checkin: Checkin) -> None:
        super().__init__(checkin.id)
        self.checkin = checkin


def new_public_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(BASE62) for _ in range(PUBLIC_ID_LENGTH))


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def account_name(conn: asyncpg.Connection, *, account_id: int) -> str | None:
    return await conn.fetchval("SELECT name FROM accounts WHERE id = $1", account_id)


_EVENT_COLUMNS = (
    "e.public_id AS id, e.name, e.starts_at, e.venue, e.capacity,"
    " (SELECT count(*) FROM tickets t WHERE t.event_id = e.id) AS tickets_issued,"
    " e.created_at, e.updated_at"
)


async def list_events(conn: asyncpg.Connection, *, account_id: int) -> list[Event]:
    rows = await conn.fetch(
        f"SELECT {_EVENT_COLUMNS} FROM events e WHERE e.account_id = $1"
        " ORDER BY e.starts_at, e.id",
        account_id,
    )
    return [Event(**dict(row)) for row in rows]


async def get_event(conn: asyncpg.Connection, *, account_id: int, event_id: str) -> Event | None:
    row = await conn.fetchrow(
        f"SELECT {_EVENT_COLUMNS} FROM events e WHERE e.public_id = $1 AND e.account_id = $2",
        event_id,
        account_id,
    )
    return Event(**dict(row)) if row else None


async def create_event(
    conn: asyncpg.Connection,
    *,
    account_id: int,
    name: str,
    starts_at: datetime,
    venue: str,
    capacity: int,
) -> Event:
    row = await conn.fetchrow(
        "INSERT INTO events AS e (public_id, account_id, name, starts_at, venue, capacity)"
        f" VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_EVENT_COLUMNS}",
        new_public_id("evt_"),
        account_id,
        name,
        starts_at,
        venue,
        capacity,
    )
    return Event(**dict(row))


async def update_event(
    conn: asyncpg.Connection, *, account_id: int, event_id: str, changes: dict[str, Any]
) -> Event | None:
    """Apply changes (any of name, starts_at, venue, capacity); None when not found.
    Raises BelowIssued when the capacity would drop under the tickets already issued."""
    async with conn.transaction():
        locked = await _lock_event(conn, account_id=account_id, event_id=event_id)
        if locked is None:
            return None
        capacity = changes.get("capacity")
        if capacity is not None:
            issued = await _issued(conn, locked["id"])
            if capacity < issued:
                raise BelowIssued(issued)
        # Every column is NOT NULL, so NULL can only mean "not given": COALESCE keeps it.
        row = await conn.fetchrow(
            "UPDATE events AS e SET name = COALESCE($2, name),"
            " starts_at = COALESCE($3, starts_at), venue = COALESCE($4, venue),"
            " capacity = COALESCE($5, capacity), updated_at = now()"
            f" WHERE e.id = $1 RETURNING {_EVENT_COLUMNS}",
            locked["id"],
            changes.get("name"),
            changes.get("starts_at"),
            changes.get("venue"),
            capacity,
        )
    return Event(**dict(row))


async def _lock_event(
    conn: asyncpg.Connection, *, account_id: int, event_id: str
) -> asyncpg.Record | None:
    """Lock the event row for this transaction: ticket issuance and capacity changes on one
    event take turns, so a count taken after the lock stays true until commit."""
    return await conn.fetchrow(
        "SELECT id, capacity FROM events WHERE public_id = $1 AND account_id = $2 FOR UPDATE",
        event_id,
        account_id,
    )


async def _issued(conn: asyncpg.Connection, event_pk: int) -> int:
    # A statement of its own, after the lock: a subquery in the locking SELECT would count
    # with the snapshot taken before waiting for the lock, and miss the tickets sold meanwhile.
    return await conn.fetchval("SELECT count(*) FROM tickets WHERE event_id = $1", event_pk)


async def delete_event(conn: asyncpg.Connection, *, account_id: int, event_id: str) -> bool:
    """True when deleted (its tickets and check-ins go with it)."""
    deleted = await conn.fetchval(
        "DELETE FROM events WHERE public_id = $1 AND account_id = $2 RETURNING id",
        event_id,
        account_id,
    )
    return deleted is not None


_TICKET_COLUMNS = (
    "t.public_id AS id, e.public_id AS event_id, t.holder_name, t.code, t.created_at,"
    " c.checked_in_at"
)
_TICKET_FROM = (
    "tickets t JOIN events e ON e.id = t.event_id LEFT JOIN checkins c ON c.ticket_id = t.id"
)


async def list_tickets(
    conn: asyncpg.Connection, *, account_id: int, event_id: str
) -> list[Ticket] | None:
    """The event's tickets, or None when the event is not found."""
    # One statement whether or not the event exists: a NULL ticket marks "event, no tickets".
    rows = await conn.fetch(
        "SELECT t.public_id AS id, e.public_id AS event_id, t.holder_name, t.code,"
        " t.created_at, c.checked_in_at"
        " FROM events e LEFT JOIN tickets t ON t.event_id = e.id"
        " LEFT JOIN checkins c ON c.ticket_id = t.id"
        " WHERE e.public_id = $1 AND e.account_id = $2"
        " ORDER BY t.created_at, t.id",
        event_id,
        account_id,
    )
    if not rows:
        return None
    return [Ticket(**dict(row)) for row in rows if row["id"] is not None]


async def create_ticket(
    conn: asyncpg.Connection, *, account_id: int, event_id: str, holder_name: str
) -> Ticket | None:
    """Issue a ticket; None when the event is not found, SoldOut at capacity."""
    async with conn.transaction():
        event = await _lock_event(conn, account_id=account_id, event_id=event_id)
        if event is None:
            return None
        if await _issued(conn, event["id"]) >= event["capacity"]:
            raise SoldOut(event_id)
        row = await conn.fetchrow(
            "INSERT INTO tickets (public_id, account_id, event_id, holder_name, code)"
            " VALUES ($1, $2, $3, $4, $5)"
            " RETURNING public_id AS id, holder_name, code, created_at",
            new_public_id("tkt_"),
            account_id,
            event["id"],
            holder_name,
            new_code(),
        )
    return Ticket(**dict(row), event_id=event_id, checked_in_at=None)


async def check_in(conn: asyncpg.Connection, *, identity: Identity, code: str) -> Checkin | None:
    """Check the ticket with this code in; None when the account has no such ticket.
    Raises AlreadyCheckedIn (carrying the first check-in) on a second scan."""
    async with conn.transaction():
        ticket = await conn.fetchrow(
            f"SELECT t.id AS pk, {_TICKET_COLUMNS} FROM {_TICKET_FROM}"
            " WHERE t.code = $1 AND t.account_id = $2",
            code,
            identity.account_id,
        )
        if ticket is None:
            return None
        inserted = await conn.fetchrow(
            "INSERT INTO checkins"
            " (public_id, account_id, ticket_id, credential_kind, credential_id)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ticket_id) DO NOTHING"
            " RETURNING public_id, checked_in_at, credential_kind, credential_id",
            new_public_id("chk_"),
            identity.account_id,
            ticket["pk"],
            identity.credential_kind,
            identity.credential_id,
        )
        if inserted is None:
            first = await conn.fetchrow(
                "SELECT public_id, checked_in_at, credential_kind, credential_id"
                " FROM checkins WHERE ticket_id = $1",
                ticket["pk"],
            )
            raise AlreadyCheckedIn(_checkin(first, ticket))
    return _checkin(inserted, ticket)


def _checkin(row: asyncpg.Record, ticket: asyncpg.Record) -> Checkin:
    fields = {k: ticket[k] for k in ("id", "event_id", "holder_name", "code", "created_at")}
    return Checkin(
        id=row["public_id"],
        ticket=Ticket(**fields, checked_in_at=row["checked_in_at"]),
        checked_in_at=row["checked_in_at"],
        credential_kind=row["credential_kind"],
        credential_id=row["credential_id"],
    )
