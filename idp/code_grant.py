"""The authorization code grant (RFC 6749 §4.1) with PKCE required and S256 only (RFC 7636, RFC 9700 §2.1.1).

Codes are single-use: ``query_authorization_code`` consumes the code atomically (``idp.grants``), so a replayed
code finds nothing, and the reuse is detected and revokes what the code issued (RFC 6749 §4.1.2). The grant
reaches the provider through its server (``idp.authorization_server.Server.provider``).
"""

from __future__ import annotations

import time

from authlib.oauth2.rfc6749 import OAuth2Request, grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge

from idp.client_auth import AUTH_METHODS
from idp.clients import Client
from idp.grants import Code
from idp.refresh_grant import Subject


class S256Only(CodeChallenge):
    """PKCE with S256 for everyone: a missing challenge or ``plain`` is refused at the authorization endpoint."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: grants.AuthorizationCodeGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256 (plain is not accepted)")
        return super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: grants.AuthorizationCodeGrant, result: object) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        return super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge(self, authorization_code: Code) -> str | None:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: Code) -> str | None:
        return authorization_code.code_challenge_method


class CodeGrant(grants.AuthorizationCodeGrant):
    """RFC 6749 §4.1. ``request.tb`` carries what the interaction decided (scope, sub, session, acr, amr)."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        """``request`` is an ``idp.authorization_server.DictRequest``: ``tb`` holds the interaction's outcome."""
        ctx = request.tb
        data = request.payload.data
        self.server.provider.grants.save_code(code, Code(
            client_id=request.client.get_client_id(), redirect_uri=data["redirect_uri"],
            scope=ctx["scope"], sub=ctx["sub"], auth_time=ctx["auth_time"], sid=ctx["sid"], acr=ctx["acr"],
            amr=ctx["amr"], nonce=data.get("nonce"), code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
        ))

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        found = self.server.provider.grants.consume_code(code, int(time.time()))
        if found is None or found.client_id != client.get_client_id():
            return None
        return found

    def delete_authorization_code(self, authorization_code: Code) -> None:
        """Nothing to do: the code was consumed atomically when it was looked up."""

    def authenticate_user(self, authorization_code: Code) -> Subject:
        """No query: the code names its ``sub``, and the family row that ``save_token`` inserts references the
        account, so a code for an account deleted meanwhile fails there (``invalid_grant``)."""
        return Subject(authorization_code.sub)
