"""The `usetix` command as a user runs it: a real subprocess on the test's schema."""

import os
import subprocess
import sys

from usetix import credentials


def usetix(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "usetix.cli", *args],
        env={**os.environ, "DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_account_token_list_revoke_round_trip(db_url, conn):
    account = usetix(db_url, "create-account", "Box Office").stdout.strip()
    assert account.isdigit()
    created = usetix(
        db_url, "create-token", "--account", account, "--tier", "write", "--description", "sync"
    )
    token = created.stdout.strip()
    assert created.returncode == 0 and credentials.has_valid_shape(token)
    row = await conn.fetchrow(
        "SELECT id, tier FROM credentials WHERE digest = $1", credentials.digest(token)
    )
    assert row["tier"] == "read_write"
    listed = usetix(db_url, "list-tokens", "--account", account).stdout
    assert listed.startswith(f"{row['id']}\tapi\tread_write\t{token[:8]}…")
    assert token not in listed and "active" in listed
    assert usetix(db_url, "revoke-token", str(row["id"])).returncode == 0
    assert "revoked " in usetix(db_url, "list-tokens", "--account", account).stdout


async def test_unknown_account_is_an_error_for_every_command(db_url):
    for args in (
        ("list-tokens", "--account", "999999"),
        ("create-token", "--account", "999999", "--tier", "read", "--description", "x"),
    ):
        result = usetix(db_url, *args)
        assert result.returncode == 1
        assert "no account with id 999999" in result.stderr
