"""The domain results of deciding a request. Call sites return or raise these; one builder
(responses.py) turns each into status, headers and body. The exact reason goes to logs and
metric labels; clients get a generic answer."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    """Why a request was refused: also the `outcome` label of the request metric."""

    MISSING_TOKEN = "missing_token"
    MALFORMED_TOKEN = "malformed_token"
    INVALID_TOKEN = "invalid_token"
    REVOKED = "revoked"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    WRONG_CREDENTIAL_KIND = "wrong_credential_kind"


class AuthFailure(Exception):
    """A 401. `challenge_error` is the RFC 6750 error code for WWW-Authenticate (None when
    the request carried no bearer credentials at all)."""

    def __init__(self, reason: Reason, challenge_error: str | None = "invalid_token") -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.challenge_error = challenge_error

    @property
    def public_reason(self) -> str:
        """What the client is told: never whether a token ever existed."""
        if self.reason in (Reason.REVOKED, Reason.WRONG_CREDENTIAL_KIND):
            return Reason.INVALID_TOKEN.value
        return self.reason.value


class BadRequest(Exception):
    """A request the gateway refuses before routing (400, 421, 501)."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail


class StoreUnavailable(Exception):
    """The credential store could not answer (down, pool exhausted, too slow)."""


@dataclass(frozen=True, slots=True)
class UpstreamFailure:
    """The upstream could not be reached (502) or did not answer in time (504)."""

    status: int
    kind: str
