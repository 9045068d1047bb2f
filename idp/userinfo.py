"""The UserInfo endpoint (OIDC Core §5.3) and the access-token validators that protect it.

A Bearer token (RFC 6750 §2.1) is accepted only if it is not DPoP-bound (RFC 9449 §7.1); a DPoP-bound one
needs the ``DPoP`` scheme and a proof for this request carrying ``ath`` for the token (RFC 9449 §7).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6750 import BearerTokenValidator, InvalidTokenError
from authlib.oidc.core import UserInfo, UserInfoEndpoint
from flask import g
from joserfc.jwk import ECKey, RSAKey

from idp.dpop import InvalidDpopProof, replay_guard, verify_proof
from idp.grants import ClientView, Token

if TYPE_CHECKING:
    from idp.provider import Provider

USERINFO_SIGNING_ALG = "ES256"  # for clients that registered userinfo_signed_response_alg (OIDC Core §5.3.2)


class BearerValidator(BearerTokenValidator):
    """RFC 6750: an opaque access token looked up in the store, refused if it is DPoP-bound."""

    def __init__(self, provider: Provider):
        super().__init__()
        self.provider = provider

    def authenticate_token(self, token_string: str) -> Token | None:
        token = self.provider.grants.access_token(token_string)
        if token is not None:
            token.client = self.provider.clients.get(token.client_id)
        return token

    def validate_token(self, token: Token, scopes: list[str] | None, request: object) -> None:
        super().validate_token(token, scopes, request)
        if token.jkt:  # RFC 9449 §7.1: a DPoP-bound token is not a bearer token
            raise InvalidTokenError("this access token is DPoP-bound: use the DPoP scheme")


class DpopValidator(BearerValidator):
    """RFC 9449 §7: the ``DPoP`` scheme; the proof's key must be the one the token is bound to."""

    TOKEN_TYPE = "dpop"  # noqa: S105

    def validate_request(self, request: OAuth2Request) -> None:
        """RFC 9449 §7: the proof must match this request and carry ``ath`` for the presented token."""
        p = self.provider
        proofs = request.headers.get("DPoP")
        token_string = request.headers.get("Authorization", "").split(None, 1)[-1]
        path = urlsplit(request.uri).path
        try:
            g.dpop_jkt = verify_proof(proofs, method=request.method, url=p.issuer + path, now=int(time.time()),
                                      first_use=replay_guard(p.store),
                                      access_token=token_string)
        except InvalidDpopProof as exc:
            raise InvalidTokenError(str(exc)) from exc

    def validate_token(self, token: Token, scopes: list[str] | None, request: object) -> None:
        BearerTokenValidator.validate_token(self, token, scopes, request)
        if not token.jkt or token.jkt != g.get("dpop_jkt"):
            raise InvalidTokenError("the DPoP proof key does not match the token")


def resource_protector(provider: Provider) -> ResourceProtector:
    """Bearer and DPoP access tokens, as the UserInfo endpoint accepts them."""
    protector = ResourceProtector()
    protector.register_token_validator(BearerValidator(provider))
    protector.register_token_validator(DpopValidator(provider))
    return protector


class UserInfoView(UserInfoEndpoint):
    """OIDC Core §5.3: the claims of the token's scopes (§5.4), with the ``sub`` its client knows (§8);
    signed with the ES256 key when the client registered ``userinfo_signed_response_alg``."""

    def get_issuer(self) -> str:
        return self.server.provider.issuer

    def generate_user_info(self, user: ClientView, scope: str) -> UserInfo:
        return self.server.provider.claims(user.sub, scope, user.client_id)

    def resolve_private_key(self) -> ECKey | RSAKey:
        return self.server.provider.signing_key(USERINFO_SIGNING_ALG)
