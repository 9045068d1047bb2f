"""The identity provider's machine-facing endpoints: JWKS, and the Authlib token (RFC 6749 §3.2, with DPoP
proofs, RFC 9449 §5), UserInfo, revocation and introspection endpoints, and PAR (RFC 9126). Discovery is
``idp.discovery``; ``idp.web`` routes them all."""

from __future__ import annotations

import json
import secrets

from authlib.oauth2.rfc6749.errors import OAuth2Error
from flask import Response, g, jsonify, request

from idp.authorization_server import DictRequest
from idp.client_auth import AUTH_METHODS
from idp.dpop import JTI_TTL, InvalidDpopProof, verify_proof
from idp.web_helpers import PAR_PREFIX, PAR_TTL, SEALED_HINT, now, oauth_api, printable, provider, seal_hint, single_params


def jwks() -> Response:
    """The ID token and UserInfo signing keys (RFC 7517 §5), every ring's keys still in their window."""
    return jsonify(provider().jwks())


def token() -> Response:
    proofs = request.headers.getlist("DPoP")
    if proofs:  # RFC 9449 §5: a proof at the token endpoint binds the tokens to its key
        p = provider()
        try:
            if len(proofs) > 1:
                raise InvalidDpopProof("send one DPoP header")
            g.dpop_jkt = verify_proof(proofs[0], method="POST", url=p.issuer + "/token", now=now(),
                                      first_use=lambda key: p.store.incr(f"dpop:{key}", JTI_TTL) == 1)
        except InvalidDpopProof as exc:
            return jsonify(error=exc.reason, error_description=str(exc)), 400
    return oauth_api(provider().server.create_token_response)


def userinfo() -> Response:
    return provider().server.create_endpoint_response("userinfo")


def revoke() -> Response:
    return oauth_api(lambda: provider().server.create_endpoint_response("revocation"))


def introspect() -> Response:
    return oauth_api(lambda: provider().server.create_endpoint_response("introspection"))


def par() -> Response:
    """RFC 9126 §2: authenticate the client, validate the request as /authorize would, store it briefly."""
    p = provider()
    params = single_params(request.form)
    if isinstance(params, Response) or not all(printable(v) for v in params.values()):
        return jsonify(error="invalid_request", error_description="repeated parameter or control characters"), 400
    if "request_uri" in params:
        return jsonify(error="invalid_request", error_description="request_uri is not allowed here"), 400
    try:
        client = p.server.authenticate_client(p.server.create_oauth2_request(None), AUTH_METHODS, "par")
    except OAuth2Error as exc:
        return jsonify(error=exc.error, error_description=exc.get_error_description()), 401
    params.pop("client_secret", None)
    params.pop("client_assertion", None)
    params.pop("client_assertion_type", None)
    if params.get("client_id", client.client_id) != client.client_id:
        return jsonify(error="invalid_request", error_description="client_id does not match"), 400
    params["client_id"] = client.client_id
    req = DictRequest(request.url, params)
    try:
        grant = p.server.get_authorization_grant(req)
        grant.validate_authorization_request()
    except OAuth2Error as exc:
        return jsonify(error=exc.error, error_description=exc.get_error_description()), 400
    ref = secrets.token_urlsafe(24)
    params.pop(SEALED_HINT, None)  # only this endpoint writes it
    hint = params.pop("login_hint", None)
    if hint:  # it may be an ID number: stored sealed, as the interaction keeps it (idp.web_helpers.seal_hint)
        params[SEALED_HINT] = seal_hint(hint)
    p.store.put("par:" + ref, json.dumps(params), PAR_TTL)
    return jsonify(request_uri=PAR_PREFIX + ref, expires_in=PAR_TTL), 201
