"""What the issuer's web endpoints need from the identity provider, as a port (the issuer never imports idp).

``service`` implements ``AccessTokens`` with the IdP's grants and accounts (``service.health.AccessTokens``).
It is the one place where a token becomes a principal, so the audience and the proof-of-possession rules
live there, for every ``/issuer/*`` endpoint at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# The issuer's audience. Only first-party clients (the citizen's wallet) can be registered for it, so a
# token an ordinary app obtained, whatever its other scopes, is never accepted at /issuer/*.
ISSUER_SCOPE = "licences"


@dataclass(frozen=True)
class Principal:
    """Who an access token speaks for, as the identity provider vouches."""

    sub: str
    client_id: str
    scope: str
    # The registry-verified ID number: present only when the token's scope lets the issuer use it
    # (``licences``, whose consent covers issuing the citizen's own licences).
    id_number: str | None


@dataclass(frozen=True)
class TokenRequest:
    """What a resource request carried (RFC 6750 §2.1 / RFC 9449 §7): the two headers, its method and path."""

    authorization: str
    dpop: str | None
    method: str
    path: str


class TokenRefused(Exception):  # an HTTP answer: 401 invalid_token / invalid_request, 403 insufficient_scope
    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


class AccessTokens(Protocol):
    def principal_for(self, request: TokenRequest) -> Principal:
        """The principal, or ``TokenRefused``: unknown, expired or revoked token; a token not issued for the
        issuer; a DPoP-bound token without its proof (or sent as Bearer)."""
        ...


class CounterTokens(Protocol):
    def counter_for(self, request: TokenRequest) -> str:
        """The counter id (= its client id) a counter access token speaks for (``idp.client_credentials``), or
        ``TokenRefused``: no token, unknown or expired, or a token of a citizen or an ordinary app."""
        ...
