"""Authlib's authorization server, extended where tongban's rules are stricter than Authlib's defaults.

* PKCE (RFC 7636) is required for every client and only ``S256`` is accepted (RFC 9700 §2.1.1).
* Codes are consumed atomically; reuse revokes what the code issued (``idp.grants``).
* Refresh tokens rotate with reuse detection (RFC 9700 §4.14.2).
* ``iss`` is added to every authorization response, errors included (RFC 9207 §2).
* Client authentication: client_secret_basic, client_secret_post, private_key_jwt (RFC 7523 §2.2), none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import OAuth2Request, grants
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenValidator, InvalidTokenError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core import OpenIDCode, UserInfo, UserInfoEndpoint
from flask import g
from joserfc.jwk import KeySet

from idp.dpop import InvalidDpopProof, verify_proof
from idp.grants import ACCESS_TTL, ClientView, Code, RefreshReused

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


@dataclass(frozen=True)
class Subject:
    sub: str


class DictRequest(OAuth2Request):
    """An authorization request rebuilt from stored parameters (after login, consent, or from PAR)."""

    def __init__(self, uri: str, params: dict[str, str], headers: dict | None = None):
        super().__init__("GET", uri, headers=headers or {})
        self.payload = BasicOAuth2Payload(dict(params))
        self._params = dict(params)
        self.tb: dict = {}

    @property
    def args(self) -> dict:
        return self._params

    @property
    def form(self) -> dict:
        return {}


class S256Only(CodeChallenge):
    """PKCE with S256 for everyone: a missing challenge or ``plain`` is refused at the authorization endpoint."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):  # noqa: ANN001, ANN201
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256 (plain is not accepted)")
        return super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant, result):  # noqa: ANN001, ANN201
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        return super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge(self, authorization_code: Code) -> str | None:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: Code) -> str | None:
        return authorization_code.code_challenge_method


def build_server(provider) -> AuthorizationServer:  # noqa: ANN001 - idp.provider.Provider
    """The Authlib server with every grant, extension and endpoint tongban supports."""
    p = provider

    class Server(AuthorizationServer):
        def create_oauth2_request(self, request):  # noqa: ANN001, ANN201
            return request if isinstance(request, OAuth2Request) else super().create_oauth2_request(request)

    def save_token(token: dict, request) -> None:  # noqa: ANN001
        now = int(time.time())
        jkt = g.get("dpop_jkt")
        if jkt:
            token["token_type"] = "DPoP"  # noqa: S105 - RFC 9449 §5
        rt = request.refresh_token
        if rt is not None:
            try:
                p.grants.issue(token, client_id=rt.client_id, sub=rt.sub, sid=rt.sid, now=now, rotated=rt, jkt=jkt)
            except RefreshReused as exc:
                p.grants.revoke_family(rt.family_id, "refresh_reuse", now)
                raise InvalidGrantError("refresh token already used") from exc
        else:
            code: Code = request.authorization_code
            p.grants.issue(token, client_id=code.client_id, sub=code.sub, sid=code.sid, now=now, code=code, jkt=jkt,
                           bind_family=request.client.public)

    server = Server(query_client=p.clients.get, save_token=save_token)
    server.load_config({
        "OAUTH2_REFRESH_TOKEN_GENERATOR": True,
        "OAUTH2_TOKEN_EXPIRES_IN": {"authorization_code": ACCESS_TTL, "refresh_token": ACCESS_TTL},
    })

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

        def save_authorization_code(self, code: str, request) -> None:  # noqa: ANN001
            ctx = request.tb
            data = request.payload.data
            p.grants.save_code(code, Code(
                client_id=request.client.get_client_id(), redirect_uri=data["redirect_uri"],
                scope=ctx["scope"], sub=ctx["sub"], auth_time=ctx["auth_time"], sid=ctx["sid"], acr=ctx["acr"],
                amr=ctx["amr"], nonce=data.get("nonce"), code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
            ))

        def query_authorization_code(self, code: str, client) -> Code | None:  # noqa: ANN001
            found = p.grants.consume_code(code, int(time.time()))
            if found is None or found.client_id != client.get_client_id():
                return None
            return found

        def delete_authorization_code(self, authorization_code: Code) -> None:
            """Nothing to do: the code was consumed atomically when it was looked up."""

        def authenticate_user(self, authorization_code: Code):  # noqa: ANN201
            return p.accounts.get(authorization_code.sub)

    class RefreshGrant(grants.RefreshTokenGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
        INCLUDE_NEW_REFRESH_TOKEN = True

        def authenticate_refresh_token(self, refresh_token: str):  # noqa: ANN201
            token = p.grants.refresh_token(refresh_token, rotate=True, now=int(time.time()))
            if token is not None and token.jkt and token.jkt != g.get("dpop_jkt"):
                return None  # RFC 9449 §5: a bound refresh token needs a proof with the same key
            return token

        def authenticate_user(self, refresh_token):  # noqa: ANN001, ANN201
            """The family row references the account (ON DELETE CASCADE), so a live token means a live account."""
            return Subject(refresh_token.sub)

        def revoke_old_credential(self, refresh_token) -> None:  # noqa: ANN001
            """Already marked used, atomically, in the transaction that stored its successor (``save_token``)."""

    class IdToken(OpenIDCode):
        def exists_nonce(self, nonce: str, request) -> bool:  # noqa: ANN001
            return False  # the nonce is echoed, not checked here: the RP checks it (OIDC Core §3.1.3.7)

        def resolve_client_private_key(self, client):  # noqa: ANN001, ANN201
            return p.signing_key(client.id_token_signed_response_alg)

        def get_client_claims(self, client) -> dict:  # noqa: ANN001
            return {"iss": p.issuer, "aud": [client.get_client_id()]}

        def get_encode_header(self, client) -> dict:  # noqa: ANN001
            """The client's ``id_token_signed_response_alg`` (ES256 by default, or RS256) and that key's kid."""
            alg = client.id_token_signed_response_alg
            return {"alg": alg, "kid": p.signing_key(alg).kid, "typ": "JWT"}

        def get_authorization_code_claims(self, authorization_code: Code) -> dict:
            claims = super().get_authorization_code_claims(authorization_code)
            claims["sid"] = authorization_code.sid  # OIDC Front/Back-Channel Logout §2.1
            return claims

        def encode_id_token(self, token, request):  # noqa: ANN001, ANN201
            request.user = ClientView(request.user.sub, request.client.get_client_id())  # the sub this client knows
            return super().encode_id_token(token, request)

        def generate_user_info(self, user, scope: str) -> UserInfo:  # noqa: ANN001
            # Claims go to UserInfo, not into the ID token (data minimisation); the sub is the client's own (§8).
            return UserInfo(sub=p.subject_for(user.client_id, user.sub))

    server.register_grant(CodeGrant, [S256Only(required=True), IdToken(require_nonce=False)])
    server.register_grant(RefreshGrant)

    class Issuer(IssuerParameter):
        def get_issuer(self) -> str:
            return p.issuer

    server.register_extension(Issuer())

    class PrivateKeyJwt(JWTBearerClientAssertion):
        CLIENT_AUTH_METHOD = "private_key_jwt"

        def get_audiences(self) -> list[str]:
            return [p.issuer + "/token", p.issuer]

        def validate_jti(self, claims, jti: str) -> bool:  # noqa: ANN001
            return p.store.incr(f"jti:{claims['sub']}:{jti}", 600) == 1

        def resolve_client_public_key(self, client):  # noqa: ANN001, ANN201
            # A client registered without keys cannot use private_key_jwt: say so (RFC 6749 §5.2), never a 500.
            if not client.jwks or not client.jwks.get("keys"):
                raise InvalidClientError(description="this client has no registered keys for private_key_jwt")
            try:
                return KeySet.import_key_set(client.jwks)
            except (ValueError, TypeError, KeyError) as exc:
                raise InvalidClientError(description="this client's registered keys cannot be used") from exc

    server.register_client_auth_method(PrivateKeyJwt.CLIENT_AUTH_METHOD, PrivateKeyJwt())

    def query_token(token_string: str, hint: str | None):  # noqa: ANN202
        now = int(time.time())
        token = None
        if hint != "refresh_token":  # noqa: S105 - a token type name
            token = p.grants.access_token(token_string)
        if token is None:
            token = p.grants.refresh_token(token_string, rotate=False, now=now)
        if token is not None:
            token.client = p.clients.get(token.client_id)
        return token

    class Revocation(RevocationEndpoint):
        CLIENT_AUTH_METHODS = AUTH_METHODS

        def query_token(self, token_string, token_type_hint):  # noqa: ANN001, ANN201
            return query_token(token_string, token_type_hint)

        def revoke_token(self, token, request) -> None:  # noqa: ANN001
            if token.kind == "refresh_token":  # noqa: S105
                p.grants.revoke_family(token.family_id, "revoked_by_client", int(time.time()))
            else:
                p.grants.revoke_access_token(request.form["token"])

    class Introspection(IntrospectionEndpoint):
        CLIENT_AUTH_METHODS = AUTH_METHODS

        def query_token(self, token_string, token_type_hint):  # noqa: ANN001, ANN201
            return query_token(token_string, token_type_hint)

        def check_permission(self, token, client, request) -> bool:  # noqa: ANN001
            return token.client_id == client.get_client_id()  # a client may introspect only its own tokens

        def introspect_token(self, token) -> dict:  # noqa: ANN001
            kind = ("DPoP" if token.jkt else "Bearer") if token.kind == "access_token" else "refresh_token"  # noqa: S105
            out = {"active": True, "client_id": token.client_id, "token_type": kind, "scope": token.scope,
                   "sub": p.subject_for(token.client_id, token.sub), "exp": token.expires_at, "iat": token.issued_at,
                   "iss": p.issuer}
            if token.jkt:
                out["cnf"] = {"jkt": token.jkt}  # RFC 9449 §6.2
            return out

    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)

    class Validator(BearerTokenValidator):
        def authenticate_token(self, token_string: str):  # noqa: ANN201
            token = p.grants.access_token(token_string)
            if token is not None:
                token.client = p.clients.get(token.client_id)
            return token

        def validate_token(self, token, scopes, request) -> None:  # noqa: ANN001
            super().validate_token(token, scopes, request)
            if token.jkt:  # RFC 9449 §7.1: a DPoP-bound token is not a bearer token
                raise InvalidTokenError("this access token is DPoP-bound: use the DPoP scheme")

    class DpopValidator(Validator):
        TOKEN_TYPE = "dpop"  # noqa: S105

        def validate_request(self, request) -> None:  # noqa: ANN001
            """RFC 9449 §7: the proof must match this request and carry ``ath`` for the presented token."""
            proofs = request.headers.get("DPoP")
            token_string = request.headers.get("Authorization", "").split(None, 1)[-1]
            path = urlsplit(request.uri).path
            try:
                g.dpop_jkt = verify_proof(proofs, method=request.method, url=p.issuer + path, now=int(time.time()),
                                          first_use=lambda key: p.store.incr(f"dpop:{key}", 600) == 1,
                                          access_token=token_string)
            except InvalidDpopProof as exc:
                raise InvalidTokenError(str(exc)) from exc

        def validate_token(self, token, scopes, request) -> None:  # noqa: ANN001
            BearerTokenValidator.validate_token(self, token, scopes, request)
            if not token.jkt or token.jkt != g.get("dpop_jkt"):
                raise InvalidTokenError("the DPoP proof key does not match the token")

    protector = ResourceProtector()
    protector.register_token_validator(Validator())
    protector.register_token_validator(DpopValidator())

    class UserInfoView(UserInfoEndpoint):
        def get_issuer(self) -> str:
            return p.issuer

        def generate_user_info(self, user, scope: str) -> UserInfo:  # noqa: ANN001
            return p.claims(user.sub, scope, user.client_id)

        def resolve_private_key(self):  # noqa: ANN201
            return p.signing_key()

    server.register_endpoint(UserInfoView(resource_protector=protector))
    return server
