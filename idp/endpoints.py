"""The identity provider's machine-facing endpoints on the idp Blueprint: discovery (OIDC Discovery §3,
RFC 8414 §2), JWKS, and the Authlib token, UserInfo, revocation, introspection endpoints, PAR and DPoP."""

from __future__ import annotations

import json
import secrets

from flask import Response, g, jsonify, request

from idp.clients import SCOPES
from idp.server import DictRequest
from idp.web import PAR_PREFIX, PAR_TTL, SEALED_HINT, _oauth_api, _printable, _single_params, bp, now, provider, seal_hint


# -- discovery (OIDC Discovery §3, RFC 8414 §2) and JWKS -------------------------------------------
@bp.get("/.well-known/openid-configuration")
def discovery() -> Response:
    iss = provider().issuer
    return jsonify({
        "issuer": iss,
        "authorization_endpoint": iss + "/authorize",
        "token_endpoint": iss + "/token",
        "userinfo_endpoint": iss + "/userinfo",
        "jwks_uri": iss + "/jwks.json",
        "revocation_endpoint": iss + "/revoke",
        "introspection_endpoint": iss + "/introspect",
        "pushed_authorization_request_endpoint": iss + "/par",
        "end_session_endpoint": iss + "/logout",
        "scopes_supported": list(SCOPES),
        "claims_supported": ["sub", "name", "phone_number", "phone_number_verified", "id_number", "acr", "amr",
                             "auth_time", "sid", "iss", "aud", "exp", "iat", "nonce"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],  # OIDC Discovery §3: RS256 required
        "userinfo_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt",
                                                  "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "EdDSA", "RS256"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                       "private_key_jwt", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                          "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": ["ES256", "EdDSA", "RS256"],
        "introspection_endpoint_auth_signing_alg_values_supported": ["ES256", "EdDSA", "RS256"],
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": ["ES256", "EdDSA", "PS256", "RS256"],
        "acr_values_supported": ["real-name", "real-person", "counter-verified"],
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_pushed_authorization_requests": False,
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "ui_locales_supported": ["zh-CN", "en"],
    })


@bp.get("/jwks.json")
def jwks() -> Response:
    return jsonify(provider().jwks())


# -- token, userinfo, revocation, introspection (Authlib) and PAR ----------------------------------
@bp.post("/token")
def token() -> Response:
    proofs = request.headers.getlist("DPoP")
    if proofs:  # RFC 9449 §5: a proof at the token endpoint binds the tokens to its key
        from idp.dpop import InvalidDpopProof, verify_proof

        p = provider()
        try:
            if len(proofs) > 1:
                raise InvalidDpopProof("send one DPoP header")
            g.dpop_jkt = verify_proof(proofs[0], method="POST", url=p.issuer + "/token", now=now(),
                                      first_use=lambda key: p.store.incr(f"dpop:{key}", 600) == 1)
        except InvalidDpopProof as exc:
            return jsonify(error=exc.reason, error_description=str(exc)), 400
    return _oauth_api(provider().server.create_token_response)


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    return provider().server.create_endpoint_response("userinfo")


@bp.post("/revoke")
def revoke() -> Response:
    return _oauth_api(lambda: provider().server.create_endpoint_response("revocation"))


@bp.post("/introspect")
def introspect() -> Response:
    return _oauth_api(lambda: provider().server.create_endpoint_response("introspection"))


@bp.post("/par")
def par() -> Response:
    """RFC 9126 §2: authenticate the client, validate the request as /authorize would, store it briefly."""
    from authlib.oauth2.rfc6749.errors import OAuth2Error as Err

    from idp.server import AUTH_METHODS

    p = provider()
    params = _single_params(request.form)
    if isinstance(params, Response) or not all(_printable(v) for v in params.values()):
        return jsonify(error="invalid_request", error_description="repeated parameter or control characters"), 400
    if "request_uri" in params:
        return jsonify(error="invalid_request", error_description="request_uri is not allowed here"), 400
    try:
        client = p.server.authenticate_client(p.server.create_oauth2_request(None), AUTH_METHODS, "par")
    except Err as exc:
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
    except Err as exc:
        return jsonify(error=exc.error, error_description=exc.get_error_description()), 400
    ref = secrets.token_urlsafe(24)
    params.pop(SEALED_HINT, None)  # only this endpoint writes it
    hint = params.pop("login_hint", None)
    if hint:  # it may be an ID number: stored sealed, as the interaction keeps it (idp.web.seal_hint)
        params[SEALED_HINT] = seal_hint(hint)
    p.store.put("par:" + ref, json.dumps(params), PAR_TTL)
    return jsonify(request_uri=PAR_PREFIX + ref, expires_in=PAR_TTL), 201
