"""Given a verified credential, may it make this request? (SPEC 2.5, pure)"""

from __future__ import annotations

from gateway.outcomes import AuthFailure, Reason
from usetix.credentials import Credential, Kind, Tier

BEARER_ROUTE_CLASSES = frozenset({"account", "scanner"})
READ_METHODS = frozenset({"GET", "HEAD"})


def decide(route_class: str, credential: Credential, method: str) -> None:
    """Return when allowed; raise AuthFailure otherwise."""
    if credential.kind is Kind.SCANNER and route_class != "scanner":
        # A scanner device token is not an account API credential.
        raise AuthFailure(Reason.WRONG_CREDENTIAL_KIND)
    if credential.tier is Tier.READ and method not in READ_METHODS:
        # 401, not RFC 6750's 403: the published documentation promises 401.
        raise AuthFailure(Reason.INSUFFICIENT_SCOPE, challenge_error="insufficient_scope")
