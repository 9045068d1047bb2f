"""The endpoints where a client presents one of its own tokens: revocation (RFC 7009) and introspection
(RFC 7662). Both take either token kind, authenticate the client as the token endpoint does, and reach the
provider through their server (``idp.authorization_server.Server.provider``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from idp.client_auth import AUTH_METHODS
from idp.clients import Client
from idp.grants import Token

if TYPE_CHECKING:
    from idp.provider import Provider


def _query_token(provider: Provider, token_string: str, hint: str | None) -> Token | None:
    """The access or refresh token ``token_string``, with its client; ``hint`` only orders the look-ups (RFC 7009 §2.1)."""
    token = None
    if hint != "refresh_token":  # a token type name, not a secret
        token = provider.grants.access_token(token_string)
    if token is None:
        token = provider.grants.refresh_token(token_string, now=int(time.time()))
    if token is not None:
        token.client = provider.clients.get(token.client_id)
    return token


class Revocation(RevocationEndpoint):
    """RFC 7009 §2: revoking a refresh token revokes its family; an access token only itself."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return _query_token(self.server.provider, token_string, token_type_hint)

    def revoke_token(self, token: Token, request: OAuth2Request) -> None:
        grants = self.server.provider.grants
        if token.kind == "refresh_token":
            grants.revoke_family(token.family_id, "revoked_by_client", int(time.time()))
        else:
            grants.revoke_access_token(request.form["token"])


class Introspection(IntrospectionEndpoint):
    """RFC 7662 §2.2, with ``cnf.jkt`` for DPoP-bound tokens (RFC 9449 §6.2) and the client's own ``sub``."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return _query_token(self.server.provider, token_string, token_type_hint)

    def check_permission(self, token: Token, client: Client, request: object) -> bool:
        return token.client_id == client.get_client_id()  # a client may introspect only its own tokens

    def introspect_token(self, token: Token) -> dict:
        p = self.server.provider
        kind = ("DPoP" if token.jkt else "Bearer") if token.kind == "access_token" else "refresh_token"
        out = {"active": True, "client_id": token.client_id, "token_type": kind, "scope": token.scope,
               "sub": p.subject_for(token.client_id, token.sub), "exp": token.expires_at, "iat": token.issued_at,
               "iss": p.issuer}
        if token.jkt:
            out["cnf"] = {"jkt": token.jkt}  # RFC 9449 §6.2
        return out
