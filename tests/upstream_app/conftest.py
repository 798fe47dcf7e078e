"""The upstream app driven the way the gateway drives it: requests carrying identity headers
signed with usetix.identity.sign over the exact method and target, on a real Postgres."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from upstream_helpers import Api

from upstream_app.app import create_app
from usetix import credential_store, credentials
from usetix.config import Settings
from usetix.credentials import Kind, Tier
from usetix.identity import Identity


@dataclass(frozen=True)
class Cast:
    """Identities as the gateway would assert them for the tokens fixture's credentials."""

    a_rw: Identity
    a_read: Identity
    a_scanner: Identity
    a_scanner_read: Identity
    b_rw: Identity


async def _identity(conn: asyncpg.Connection, token: str) -> Identity:
    found = await credential_store.lookup(conn, credentials.digest(token))
    assert found is not None
    return Identity(
        account_id=found.account_id, credential_kind=found.kind.value,
        credential_id=found.id, tier=found.tier.value,
    )


@pytest.fixture
async def cast(conn: asyncpg.Connection, tokens: Any) -> Cast:
    _, scanner_read = await credential_store.create(
        conn, account_id=tokens.account_a, kind=Kind.SCANNER, tier=Tier.READ,
        description="door 2", actor="test",
    )
    return Cast(
        a_rw=await _identity(conn, tokens.rw),
        a_read=await _identity(conn, tokens.read),
        a_scanner=await _identity(conn, tokens.scanner),
        a_scanner_read=await _identity(conn, scanner_read),
        b_rw=await _identity(conn, tokens.b),
    )


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> TestClient:
    return await aiohttp_client(create_app(settings))


@pytest.fixture
def api(client: TestClient, settings: Settings) -> Api:
    return Api(client, settings)
