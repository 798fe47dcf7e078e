"""SPEC 2.5 decision: route class x credential kind x tier x method (pure)."""

from __future__ import annotations

import pytest

from gateway.outcomes import AuthFailure, Reason
from gateway.policy import decide
from usetix.credentials import Credential, Kind, Tier

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"]
READS = {"GET", "HEAD"}
ALLOW = None


def expected(route_class: str, kind: Kind, tier: Tier, method: str) -> tuple | None:
    """The rule as the SPEC states it, row by row."""
    if kind is Kind.SCANNER and route_class == "account":
        return (Reason.WRONG_CREDENTIAL_KIND, "invalid_token", "invalid_token")
    if tier is Tier.READ and method not in READS:
        return (Reason.INSUFFICIENT_SCOPE, "insufficient_scope", "insufficient_scope")
    return ALLOW


CASES = [
    (route_class, kind, tier, method)
    for route_class in ("account", "scanner")
    for kind in Kind
    for tier in Tier
    for method in METHODS
]


@pytest.mark.parametrize(("route_class", "kind", "tier", "method"), CASES)
def test_decide(route_class: str, kind: Kind, tier: Tier, method: str) -> None:
    credential = Credential(id=1, account_id=7, kind=kind, tier=tier)
    want = expected(route_class, kind, tier, method)
    if want is ALLOW:
        assert decide(route_class, credential, method) is None
        return
    with pytest.raises(AuthFailure) as caught:
        decide(route_class, credential, method)
    failure = caught.value
    assert (failure.reason, failure.challenge_error, failure.public_reason) == want


def test_the_matrix_has_both_outcomes_for_every_route_class() -> None:
    # Guard against a table that silently became all-allow or all-deny.
    for route_class in ("account", "scanner"):
        outcomes = {expected(route_class, k, t, m) is ALLOW for _, k, t, m in CASES}
        assert outcomes == {True, False}


@pytest.mark.parametrize(
    ("reason", "public"),
    [
        (Reason.MISSING_TOKEN, "missing_token"),
        (Reason.MALFORMED_TOKEN, "malformed_token"),
        (Reason.INVALID_TOKEN, "invalid_token"),
        # Never say whether a token existed, or what kind it was.
        (Reason.REVOKED, "invalid_token"),
        (Reason.WRONG_CREDENTIAL_KIND, "invalid_token"),
        (Reason.INSUFFICIENT_SCOPE, "insufficient_scope"),
    ],
)
def test_public_reason(reason: Reason, public: str) -> None:
    assert AuthFailure(reason).public_reason == public
