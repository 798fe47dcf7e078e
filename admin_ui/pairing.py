"""Scanner pairing codes (pure): generation, normalisation and digest.

A code reads `XXXX-XXXXXXXX` in Crockford base32 (no I, L, O, U: nothing to misread at a
door). The first group is a selector that finds the code's row, so failed guesses count
against that one code and burn it; the whole code is 60 bits, 40 of them secret, and only its
SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SELECTOR_LENGTH = 4
SECRET_LENGTH = 8
# Failed attempts after which a code is burned, whatever its remaining lifetime.
MAX_FAILED_ATTEMPTS = 5

_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0", "-": None, " ": None})


def generate() -> tuple[str, str]:
    """(selector, the full code as shown to the admin)."""
    selector = "".join(secrets.choice(ALPHABET) for _ in range(SELECTOR_LENGTH))
    secret = "".join(secrets.choice(ALPHABET) for _ in range(SECRET_LENGTH))
    return selector, f"{selector}-{secret}"


def normalise(text: str) -> str | None:
    """The canonical code (no dash, upper case, look-alikes mapped), or None if it cannot be
    one."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    code = text.strip().upper().translate(_READ_AS)
    if len(code) != SELECTOR_LENGTH + SECRET_LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def selector_of(code: str) -> str:
    return code[:SELECTOR_LENGTH]


def digest(code: str) -> bytes:
    """Digest of a normalised code (or of a shown one: the dash is dropped first)."""
    canonical = normalise(code)
    if canonical is None:
        raise ValueError("not a pairing code")
    return hashlib.sha256(canonical.encode("ascii")).digest()
