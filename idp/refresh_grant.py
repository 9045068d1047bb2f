"""The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2).

Every use returns a new refresh token. The whole rotation (claim the presented token, insert its successor,
keep the response for a retry, store the access token) is one transaction in ``idp.refresh_tokens``, done
while the request is validated, so Authlib's later steps only shape the response. A retry of a lost response
within the grace window gets the same pair; presenting a used token otherwise revokes the whole family
(``idp.rotation``). A DPoP-bound refresh token needs a proof with the same key (RFC 9449 §5).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6749.hooks import hooked
from flask import g

from idp.client_auth import AUTH_METHODS
from idp.errors import ScopeNotGranted, TokenRefused
from idp.rotation import Attempt


@dataclass(frozen=True)
class Subject:
    """The user of a refresh: only its ``sub`` is needed."""

    sub: str


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def validate_token_request(self) -> None:
        """Authenticate the client (RFC 6749 §6), then rotate: the result is committed when this returns."""
        client = self._validate_request_client()
        self.request.client = client
        value = self.request.form.get("refresh_token")
        if value is None:
            raise InvalidRequestError("Missing 'refresh_token' in request.")
        attempt = Attempt(client.get_client_id(), self.request.payload.scope, g.get("dpop_jkt"), int(time.time()))
        try:
            self.request.refresh_token = self.server.provider.refresh.rotate(value, attempt)
        except ScopeNotGranted as exc:
            raise InvalidScopeError() from exc
        except TokenRefused as exc:
            raise InvalidGrantError(str(exc) if exc.reason == "refresh_reuse" else None) from exc

    @hooked
    def create_token_response(self) -> tuple[int, dict, list]:
        rotated = self.request.refresh_token
        self.request.user = Subject(rotated.sub)
        token = {"token_type": "DPoP" if g.get("dpop_jkt") else "Bearer", "access_token": rotated.access_token,
                 "expires_in": rotated.expires_in, "refresh_token": rotated.refresh_token, "scope": rotated.scope}
        return 200, token, self.TOKEN_RESPONSE_HEADER
