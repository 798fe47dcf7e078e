from usetix import credential_store, credentials
from usetix.credentials import Kind, Tier


async def test_create_keeps_only_the_digest_and_audits(conn, tokens):
    row, token = await credential_store.create(
        conn, account_id=tokens.account_a, kind=Kind.API, tier=Tier.READ,
        description="Mailchimp sync", actor="test",
    )
    stored = await conn.fetchrow("SELECT * FROM credentials WHERE id = $1", row.id)
    assert stored["digest"] == credentials.digest(token)
    assert token not in repr(dict(stored))
    audit = await conn.fetchrow("SELECT * FROM audit_log WHERE credential_id = $1", row.id)
    assert audit["action"] == "credential.create"
    assert token not in repr(dict(audit))


async def test_lookup_finds_live_and_not_revoked(conn, tokens):
    found = await credential_store.lookup(conn, credentials.digest(tokens.read))
    assert found.account_id == tokens.account_a and found.tier is Tier.READ
    assert await credential_store.lookup(conn, credentials.digest(tokens.revoked)) is None


async def test_revoke_is_scoped_to_the_account(conn, tokens):
    found = await credential_store.lookup(conn, credentials.digest(tokens.rw))
    assert not await credential_store.revoke(
        conn, found.id, actor="test", account_id=tokens.account_b
    )
    assert await credential_store.revoke(conn, found.id, actor="test", account_id=tokens.account_a)
    assert await credential_store.lookup(conn, credentials.digest(tokens.rw)) is None
