"""Client authentication at the token, revocation, introspection and PAR endpoints (RFC 6749 §2.3).

``client_secret_basic`` and ``client_secret_post`` (RFC 6749 §2.3.1) and ``none`` (public clients, which
must use PKCE) are Authlib's; ``private_key_jwt`` (OIDC Core §9, RFC 7523 §2.2) is :class:`PrivateKeyJwt`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

if TYPE_CHECKING:
    from idp.clients import Client
    from idp.provider import Provider

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
# The client assertion algorithms advertised in discovery (RFC 8414 §2): asymmetric only.
ASSERTION_ALGS = ["ES256", "EdDSA", "Ed25519", "RS256"]  # Ed25519: RFC 9864 name of EdDSA on Ed25519
JTI_TTL = 600  # seconds a client assertion's jti is remembered (RFC 7523 §3 item 7: no replay)


class PrivateKeyJwt(JWTBearerClientAssertion):
    """RFC 7523 §2.2 client assertions signed with a key the client registered (``jwks``)."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, provider: Provider):
        super().__init__()
        self.provider = provider

    def get_audiences(self) -> list[str]:
        """RFC 7523 §3 item 3: the token endpoint's URL or the issuer identifier."""
        return [self.provider.issuer + "/token", self.provider.issuer]

    def process_assertion_claims(self, assertion: str, resolve_key: object) -> dict:
        """RFC 7523 §3: verify the assertion with an algorithm from ``ASSERTION_ALGS`` only (RFC 8725 §3.1: the
        verifier, not the token's header, decides which algorithms are acceptable; no ``none``, no HMAC with a
        public key as the secret)."""
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGS)
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidClientError(description="the client assertion is not signed with an accepted key and "
                                     f"algorithm ({', '.join(ASSERTION_ALGS)})") from exc
        self.verify_claims(token.claims)
        return token.claims

    def validate_jti(self, claims: dict, jti: str) -> bool:
        return self.provider.store.incr(f"jti:{claims['sub']}:{jti}", JTI_TTL) == 1

    def resolve_client_public_key(self, client: Client) -> KeySet:
        # A client registered without keys cannot use private_key_jwt: say so (RFC 6749 §5.2), never a 500.
        if not client.jwks or not client.jwks.get("keys"):
            raise InvalidClientError(description="this client has no registered keys for private_key_jwt")
        try:
            return KeySet.import_key_set(client.jwks)
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidClientError(description="this client's registered keys cannot be used") from exc
