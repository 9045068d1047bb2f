"""What the issuer's web endpoints need from the identity provider, as a port (the issuer never imports idp).

``service`` implements ``AccessTokens`` with the IdP's grants and accounts (``service.health.AccessTokens``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Principal:
    """Who an access token speaks for, as the identity provider vouches."""

    sub: str
    client_id: str
    scope: str
    # The registry-verified ID number: present only when the token's scope lets the issuer use it
    # (``id_number``, or ``licences``, whose consent covers issuing the citizen's own licences).
    id_number: str | None


class AccessTokens(Protocol):
    def principal_for(self, token: str) -> Principal | None: ...
