"""The ID token of the code flow (OIDC Core §3.1.3.6, §2), as an extension of :class:`idp.code_grant.CodeGrant`.

Signed with the key for the client's ``id_token_signed_response_alg`` (ES256 by default, or RS256), with that
key's ``kid``. The ``sub`` is the one this client knows (pairwise or public, §8); ``sid`` is added for
logout (OIDC Front/Back-Channel Logout §2.1). Claims go to UserInfo, not into the ID token (data minimisation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oidc.core import OpenIDCode, UserInfo
from joserfc.jwk import ECKey, RSAKey

from idp.clients import Client
from idp.grants import ClientView, Code

if TYPE_CHECKING:
    from idp.provider import Provider

# The claims an ID token may carry (OIDC Core §2 and the ``sid`` of Back-Channel Logout §2.1).
ID_TOKEN_CLAIMS = ["sub", "acr", "amr", "auth_time", "sid", "iss", "aud", "exp", "iat", "nonce"]


class IdToken(OpenIDCode):
    def __init__(self, provider: Provider, *, require_nonce: bool = False):
        super().__init__(require_nonce=require_nonce)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: object) -> bool:
        return False  # the nonce is echoed, not checked here: the RP checks it (OIDC Core §3.1.3.7)

    def resolve_client_private_key(self, client: Client) -> ECKey | RSAKey:
        return self.provider.signing_key(client.id_token_signed_response_alg)

    def get_client_claims(self, client: Client) -> dict:
        return {"iss": self.provider.issuer, "aud": [client.get_client_id()]}

    def get_encode_header(self, client: Client) -> dict:
        """The client's ``id_token_signed_response_alg`` (ES256 by default, or RS256) and that key's kid."""
        alg = client.id_token_signed_response_alg
        return {"alg": alg, "kid": self.provider.signing_key(alg).kid, "typ": "JWT"}

    def get_authorization_code_claims(self, authorization_code: Code) -> dict:
        claims = super().get_authorization_code_claims(authorization_code)
        claims["sid"] = authorization_code.sid  # OIDC Front/Back-Channel Logout §2.1
        return claims

    def encode_id_token(self, token: dict, request: OAuth2Request) -> str:
        request.user = ClientView(request.user.sub, request.client.get_client_id())  # the sub this client knows
        return super().encode_id_token(token, request)

    def generate_user_info(self, user: ClientView, scope: str) -> UserInfo:
        # Claims go to UserInfo, not into the ID token (data minimisation); the sub is the client's own (§8).
        return UserInfo(sub=self.provider.subject_for(user.client_id, user.sub))
