"""Discovery: Credential Issuer Metadata (OpenID4VCI 1.0 §12.2) and the issuer's own authorization server's
metadata (RFC 8414 §3; it serves the pre-authorized code grant only, §6.1)."""

from __future__ import annotations

from flask import Response, jsonify

from issuer.offers import PRE_AUTHORIZED_GRANT
from issuer.vci.common import SCOPE, bp, ctx
from issuer.vci.configurations import BATCH_SIZE, CONFIGURATIONS, describe


def issuer_metadata(url: str, authorization_server: str) -> dict:
    return {
        "credential_issuer": url,
        # The IdP (authorization code flow, scope ``licences``) and the issuer's own (pre-authorized codes).
        "authorization_servers": [url, authorization_server],
        "credential_endpoint": url + "/issuer/credential",
        "nonce_endpoint": url + "/issuer/nonce",
        "batch_credential_issuance": {"batch_size": BATCH_SIZE},
        "display": [{"name": "通办电子证照", "locale": "zh-CN"}, {"name": "tongban e-licences", "locale": "en"}],
        "credential_configurations_supported": {cid: describe(c, url, SCOPE) for cid, c in CONFIGURATIONS.items()},
    }


def authorization_server_metadata(url: str, authorization_server: str) -> dict:
    return {
        "issuer": authorization_server,
        "token_endpoint": url + "/issuer/token",
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "pre-authorized_grant_anonymous_access_supported": True,  # OpenID4VCI §12.3: no client authentication
        "token_endpoint_auth_methods_supported": ["none"],
        "response_types_supported": [],  # no authorization endpoint: the IdP runs the code flow
    }


@bp.get("/.well-known/openid-credential-issuer")
def credential_issuer_metadata() -> Response:
    c = ctx()
    return jsonify(issuer_metadata(c.url, c.authorization_server))


@bp.get("/.well-known/oauth-authorization-server/issuer")
def oauth_metadata() -> Response:
    """RFC 8414 §3.1: the metadata of issuer identifier ``<url>/issuer`` is at the well-known path + ``/issuer``."""
    c = ctx()
    return jsonify(authorization_server_metadata(c.url, c.authorization_server))
