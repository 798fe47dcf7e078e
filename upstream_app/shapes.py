"""The JSON shapes of the API's objects (pure). Ids are strings, timestamps ISO 8601 in UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from upstream_app.queries import Checkin, Event, Ticket
from usetix.identity import Identity


def timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def event(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "name": e.name,
        "starts_at": timestamp(e.starts_at),
        "venue": e.venue,
        "capacity": e.capacity,
        "tickets_issued": e.tickets_issued,
        "created_at": timestamp(e.created_at),
        "updated_at": timestamp(e.updated_at),
    }


def ticket(t: Ticket) -> dict[str, Any]:
    return {
        "id": t.id,
        "event_id": t.event_id,
        "holder_name": t.holder_name,
        "code": t.code,
        "created_at": timestamp(t.created_at),
        "checked_in_at": timestamp(t.checked_in_at),
    }


def checkin(c: Checkin) -> dict[str, Any]:
    return {
        "id": c.id,
        "ticket": ticket(c.ticket),
        "checked_in_at": timestamp(c.checked_in_at),
        "credential": {
            "kind": c.credential_kind,
            "id": None if c.credential_id is None else str(c.credential_id),
        },
    }


def account(identity: Identity, name: str) -> dict[str, Any]:
    return {
        "account": {"id": str(identity.account_id), "name": name},
        "credential": {
            "kind": identity.credential_kind,
            "id": str(identity.credential_id),
            "tier": identity.tier,
        },
    }
