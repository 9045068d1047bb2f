"""Health codes and family proxies over HTTP: JSON endpoints for the citizen's wallet (a Blueprint).

Every endpoint takes an IdP access token issued for the issuer (``issuer.ports``: the ``licences`` scope of
a first-party client, else 401 ``invalid_token`` / 403 ``insufficient_scope``), as ``Authorization: DPoP``
with its proof when the token is DPoP-bound (RFC 9449 §7; the wallet's are), else ``Bearer`` (RFC 6750).
Errors are ``{"error": code, "error_description": text}``.

    POST /issuer/health-code/nonce
        → 200 {"c_nonce": "…", "c_nonce_expires_in": 300}
        A one-time nonce for the proof below (OpenID4VCI §7): signed and stored nowhere (``issuer.nonces``),
        the same kind as ``POST /issuer/nonce`` gives, so a ``c_nonce`` from either works here.

    POST /issuer/health-code
        {"proof": {"proof_type": "jwt", "jwt": "<openid4vci-proof+jwt>"}, "proxy_id": 7 (optional)}
        → 200 {"credentials": [{"credential": {"code": b64url, "full": b64url}}],   (proxy: proxy-code, proxy-full)
               "elicence_id", "licence_type": "health-code", "label", "authority_id",
               "views": {"code": {"label", "claims": [...]}, ...},
               "summary": {"name", "colour", "expires_at", "authority", "shown_by"?},
               "colour", "expires_at", "proxy_id": 7 | null}
        The same shape as ``POST /issuer/credential`` (``issuer.vci``), plus the colour, so the wallet stores a
        health code as it stores any licence.
        The proof is a JWT signed by the device key, header {"typ": "openid4vci-proof+jwt", "alg": "ES256" |
        "EdDSA", "jwk": <device public key>}, claims {"aud": <service URL>, "iat": <now>, "nonce": <c_nonce>}
        (OpenID4VCI §8.2.1.1). The code is bound to that key. The same device gets the same code until the
        status changes or it nears expiry; another device gets a new code and the previous one is suspended.
        With ``proxy_id`` the caller fetches the code of the relative who granted them that proxy.
        Errors: 400 invalid_proof | invalid_nonce | invalid_request, 401 invalid_token, 403 insufficient_scope |
        access_denied (no such active proxy of yours).

    GET /issuer/health-status
        → 200 {"colour", "reason", "region", "name", "updated_at"} (green / 无异常 when never set)

    GET /issuer/proxies
        → 200 {"granted": [proxy…], "held": [proxy…]}; proxy = {"id", "relative_name", "proxy_name",
               "granted_at", "granted_via": "self" | "counter", "ended_at", "active"}

    POST /issuer/proxies
        → 410 invitation_required: a proxy needs the family member's consent, by invitation (below). (This once
        granted at once and answered with the family member's real name, or 404 for an unknown number.)

    DELETE /issuer/proxies/<id>     (the relative only)
        → 200 {"proxy": proxy, "revoked": ["<e-licence id>", …]}: every code fetched under the proxy is revoked in
        the status list (the ones still valid are listed); counters refuse it ("revoked") after their next sync,
        and the proxy can fetch no more (ending and fetching take the same locks: no fetch outlives the end).

    Family proxies by invitation: ``issuer.health.invitations_web``.

The access-token port is ``AccessTokens.principal_for(token) -> Principal | None`` (``service.app`` injects
the IdP's implementation), the same shape as the OpenID4VCI endpoint's port.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from issuer.errors import KeyProofRefused
from issuer.health.api import ApiError, answer_errors, body, now, person_of, principal, web
from issuer.key_proof import check_key_proof
from issuer.nonces import NONCE_TTL

bp = Blueprint("health", __name__)
answer_errors(bp)


# -- endpoints ----------------------------------------------------------------------------------------
@bp.post("/issuer/health-code/nonce")
def nonce() -> Response:
    response = jsonify(c_nonce=web().nonces.issue(now()), c_nonce_expires_in=NONCE_TTL)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/issuer/health-code")
def health_code() -> Response:
    p = principal()
    data = body()
    proof = data.get("proof")
    if not isinstance(proof, dict) or proof.get("proof_type") != "jwt":
        raise ApiError(400, "invalid_proof", 'proof must be {"proof_type": "jwt", "jwt": "…"}')
    proxy_id = data.get("proxy_id", 0) or 0
    if not isinstance(proxy_id, int) or isinstance(proxy_id, bool) or not 0 <= proxy_id < 2**31:
        raise ApiError(400, "invalid_request", "proxy_id must be a proxy's id (an integer)")
    w, t = web(), now()
    try:
        device = check_key_proof(proof.get("jwt"), audience=w.audience(), now=t,
                                 consume_nonce=lambda n: w.nonces.consume(n, t))
    except KeyProofRefused as exc:
        raise ApiError(400, exc.error, str(exc)) from exc
    me = person_of(p)
    code = w.desk.fetch(me.id_number, me.name, device, now=t, proxy_id=proxy_id, requester_id_number=me.id_number)
    response = jsonify(code.to_json(w.desk.issuer.hub.authority(code.authority_id).name))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/issuer/health-status")
def health_status() -> Response:
    p = principal()
    status = web().desk.status(p.id_number)
    if status is None:
        me = person_of(p)
        return jsonify(colour="green", reason="无异常", region=web().desk.authority.region, name=me.name,
                       updated_at=None)
    return jsonify(status.to_json())


@bp.get("/issuer/proxies")
def list_proxies() -> Response:
    p = principal()
    found = web().desk.proxies(p.id_number)
    return jsonify({k: [g.to_json() for g in v] for k, v in found.items()})


@bp.post("/issuer/proxies")
def grant_proxy() -> Response:
    principal()
    raise ApiError(410, "invitation_required",
                   "家人代办需要对方同意：请发送邀请（POST /issuer/proxy-invitations）。 / A family proxy needs the "
                   "family member's consent: send an invitation (POST /issuer/proxy-invitations).")


@bp.delete("/issuer/proxies/<int:proxy_id>")
def end_proxy(proxy_id: int) -> Response:
    p = principal()
    grant, revoked = web().desk.end_proxy(proxy_id, p.id_number, by=f"citizen:{p.sub}", now=now())
    return jsonify(proxy=grant.to_json(), revoked=list(revoked))


__all__ = ["bp"]
