"""Authlib's authorization server, extended where tongban's rules are stricter than Authlib's defaults.

* PKCE (RFC 7636) is required for every client and only ``S256`` is accepted (RFC 9700 §2.1.1): ``idp.code_grant``.
* Codes are consumed atomically; reuse revokes what the code issued (``idp.grants``).
* Refresh tokens rotate with reuse detection (RFC 9700 §4.14.2), and a retry of a lost response within a
  grace window gets the same pair: ``idp.refresh_grant``.
* ``iss`` is added to every authorization response, errors included (RFC 9207 §2).
* Client credentials (RFC 6749 §4.4) for counter clients only, ``private_key_jwt`` only: ``idp.client_credentials``.
* Client authentication: client_secret_basic, client_secret_post, private_key_jwt (RFC 7523 §2.2), none:
  ``idp.client_auth``.
* Revocation (RFC 7009), introspection (RFC 7662): ``idp.token_endpoints``; UserInfo (OIDC Core §5.3) with
  Bearer and DPoP tokens (RFC 6750, RFC 9449): ``idp.userinfo``; the ID token (OIDC Core §3.1.3.6): ``idp.id_token``.

As in Authlib's own examples, every grant, endpoint and extension is a module-level class registered on one
:class:`Server`; the classes Authlib instantiates reach the provider as ``self.server.provider``, the ones
registered as instances are given it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidGrantError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import g

from idp.client_auth import PrivateKeyJwt
from idp.client_credentials import COUNTER_TOKEN_TTL, CounterCredentialsGrant
from idp.code_grant import CodeGrant, S256Only
from idp.errors import TokenRefused
from idp.grants import ACCESS_TTL, Code, new_token
from idp.id_token import IdToken
from idp.refresh_grant import RefreshGrant
from idp.token_endpoints import Introspection, Revocation
from idp.userinfo import UserInfoView, resource_protector

if TYPE_CHECKING:
    from idp.clients import Client
    from idp.provider import Provider


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


class Issuer(IssuerParameter):
    """RFC 9207 §2: ``iss`` in every authorization response."""

    def __init__(self, provider: Provider):
        self.provider = provider

    def get_issuer(self) -> str:
        return self.provider.issuer


class Server(AuthorizationServer):
    """The authorization server of one provider; grants and endpoints find the provider as ``server.provider``."""

    def __init__(self, provider: Provider):
        super().__init__()
        self.provider = provider
        self.grant_classes: list[type] = []

    def query_client(self, client_id: str) -> Client | None:
        return self.provider.clients.get(client_id)

    def create_oauth2_request(self, request: object) -> OAuth2Request:
        """Our own ``DictRequest`` as it is; a Flask request (or None: the current one) wrapped by Authlib."""
        return request if isinstance(request, OAuth2Request) else super().create_oauth2_request(request)

    def save_token(self, token: dict, request: OAuth2Request) -> None:
        """Store the tokens of a code exchange; DPoP-bound when the request carried a proof. (A refresh stored
        its tokens while it was validated: ``idp.refresh_grant``.)"""
        jkt = g.get("dpop_jkt")
        if jkt:
            token["token_type"] = "DPoP"  # noqa: S105 - RFC 9449 §5
        code: Code = request.authorization_code
        try:
            self.provider.grants.open_family(token, code, now=int(time.time()), jkt=jkt,
                                             bind_family=request.client.public)
        except TokenRefused as exc:
            raise InvalidGrantError(str(exc)) from exc

    def register_grant(self, grant_cls: type, extensions: list | None = None) -> None:
        super().register_grant(grant_cls, extensions)
        self.grant_classes.append(grant_cls)

    def grant_types(self) -> list[str]:
        """The registered grants' ``grant_type`` values (for discovery, RFC 8414 §2)."""
        return [cls.GRANT_TYPE for cls in self.grant_classes]

    def response_types(self) -> list[str]:
        """The registered grants' ``response_type`` values (for discovery, RFC 8414 §2)."""
        return [t for cls in self.grant_classes for t in sorted(getattr(cls, "RESPONSE_TYPES", ()))]


def build_server(provider: Provider) -> Server:
    """The Authlib server with every grant, extension and endpoint tongban supports."""
    server = Server(provider)
    server.load_config({
        "OAUTH2_ACCESS_TOKEN_GENERATOR": new_token,
        "OAUTH2_REFRESH_TOKEN_GENERATOR": new_token,
        "OAUTH2_TOKEN_EXPIRES_IN": {"authorization_code": ACCESS_TTL, "refresh_token": ACCESS_TTL,
                                    "client_credentials": COUNTER_TOKEN_TTL},
    })
    server.register_grant(CodeGrant, [S256Only(required=True), IdToken(provider, require_nonce=False)])
    server.register_grant(RefreshGrant)
    server.register_grant(CounterCredentialsGrant)  # counters only (Client.check_grant_type), 免证办
    server.register_extension(Issuer(provider))
    server.register_client_auth_method(PrivateKeyJwt.CLIENT_AUTH_METHOD, PrivateKeyJwt(provider))
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    server.register_endpoint(UserInfoView(resource_protector=resource_protector(provider)))
    return server
