"""The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2).

Every use returns a new refresh token; the old one is marked used in the same transaction that stores its
successor (``idp.authorization_server.Server.save_token``). Presenting a used one revokes the whole family.
A DPoP-bound refresh token needs a proof with the same key (RFC 9449 §5).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import grants
from flask import g

from idp.client_auth import AUTH_METHODS
from idp.grants import Token


@dataclass(frozen=True)
class Subject:
    """The user of a refresh: only its ``sub`` is needed."""

    sub: str


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        token = self.server.provider.grants.refresh_token(refresh_token, rotate=True, now=int(time.time()))
        if token is not None and token.jkt and token.jkt != g.get("dpop_jkt"):
            return None  # RFC 9449 §5: a bound refresh token needs a proof with the same key
        return token

    def authenticate_user(self, refresh_token: Token) -> Subject:
        """The family row references the account (ON DELETE CASCADE), so a live token means a live account."""
        return Subject(refresh_token.sub)

    def revoke_old_credential(self, refresh_token: Token) -> None:
        """Already marked used, atomically, in the transaction that stored its successor (``save_token``)."""
