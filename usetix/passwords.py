"""Admin passwords: Argon2id (argon2-cffi), computed off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

# Verified when the email is unknown, so "no such user" costs as much as "wrong password".
_DUMMY_HASH = _hasher.hash("usetix-timing-equaliser")


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(None, _hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; always spends one full verification."""
    return await asyncio.get_running_loop().run_in_executor(
        None, _verify, password_hash or _DUMMY_HASH, password, password_hash is not None
    )


def _verify(password_hash: str, password: str, real: bool) -> bool:
    try:
        return _hasher.verify(password_hash, password) and real
    except (VerificationError, InvalidHashError):
        return False
