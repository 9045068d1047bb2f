"""OpenID Provider metadata (OIDC Discovery 1.0 §3, RFC 8414 §2) built from what is registered, so the
document cannot drift from the server: endpoint URLs from the Blueprint's routes, grant and response types
from the Authlib server's registered grants, client authentication methods from the grant and endpoint
classes, scopes, claims and algorithms from the modules that enforce them.
"""

from __future__ import annotations

from flask import Response, current_app, jsonify

from idp.accounts import ASSURANCE
from idp.client_auth import ASSERTION_ALGS
from idp.clients import SCOPES, SUBJECT_TYPES
from idp.code_grant import CodeGrant, S256Only
from idp.dpop import ALGORITHMS as DPOP_ALGS
from idp.id_token import ID_TOKEN_CLAIMS
from idp.interaction import PROMPTS
from idp.provider import ID_TOKEN_ALGS, SCOPE_CLAIMS
from idp.token_endpoints import Introspection, Revocation
from idp.userinfo import USERINFO_SIGNING_ALG
from idp.web_helpers import provider

# Metadata name -> the view (Blueprint endpoint name) that serves it.
ENDPOINTS = {
    "authorization_endpoint": "authorize",
    "token_endpoint": "token",
    "userinfo_endpoint": "userinfo",
    "jwks_uri": "jwks",
    "revocation_endpoint": "revoke",
    "introspection_endpoint": "introspect",
    "pushed_authorization_request_endpoint": "par",
    "end_session_endpoint": "logout",
}
RESPONSE_MODES = ["query"]  # Authlib's default for response_type=code; no other mode is accepted
UI_LOCALES = ["zh-CN", "en"]  # every page is bilingual, Chinese first


def endpoint_url(issuer: str, endpoint: str) -> str:
    """``issuer`` + the path the idp Blueprint routes ``endpoint`` on (the issuer may sit behind a proxy, so
    the configured issuer, not the request's host, is the base; ``url_for`` would use the request's)."""
    rule = next(current_app.url_map.iter_rules("idp." + endpoint))
    return issuer + rule.rule


def metadata() -> dict:
    """The provider's metadata document (call inside a request or app context)."""
    p = provider()
    server = p.server
    claims = ["sub", *(c for scope in SCOPES for c in SCOPE_CLAIMS.get(scope, ())), *ID_TOKEN_CLAIMS]
    return {
        "issuer": p.issuer,
        **{name: endpoint_url(p.issuer, view) for name, view in ENDPOINTS.items()},
        "scopes_supported": list(SCOPES),
        "claims_supported": list(dict.fromkeys(claims)),
        "response_types_supported": server.response_types(),
        "response_modes_supported": RESPONSE_MODES,
        "grant_types_supported": server.grant_types(),
        "subject_types_supported": list(SUBJECT_TYPES),
        "id_token_signing_alg_values_supported": list(ID_TOKEN_ALGS),  # OIDC Discovery §3: RS256 required
        "userinfo_signing_alg_values_supported": [USERINFO_SIGNING_ALG],
        "token_endpoint_auth_methods_supported": list(CodeGrant.TOKEN_ENDPOINT_AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": list(Revocation.CLIENT_AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": list(Introspection.CLIENT_AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "code_challenge_methods_supported": list(S256Only.SUPPORTED_CODE_CHALLENGE_METHOD),
        "dpop_signing_alg_values_supported": list(DPOP_ALGS),
        "acr_values_supported": list(ASSURANCE),
        "prompt_values_supported": list(PROMPTS),
        "claims_parameter_supported": False,  # the claims parameter is ignored (OIDC Core §5.5 is optional)
        "request_parameter_supported": False,  # idp.authorize answers request_not_supported (OIDC Core §6)
        "request_uri_parameter_supported": False,  # ... and request_uri_not_supported, except PAR references
        "require_pushed_authorization_requests": False,
        "authorization_response_iss_parameter_supported": True,  # idp.authorization_server.Issuer (RFC 9207)
        "backchannel_logout_supported": True,  # idp.logout (OIDC Back-Channel Logout 1.0 §2.1)
        "backchannel_logout_session_supported": True,
        "ui_locales_supported": UI_LOCALES,
    }


def discovery() -> Response:
    return jsonify(metadata())
