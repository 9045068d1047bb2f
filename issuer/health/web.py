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

    Family proxies by invitation (``issuer.health.invitations``): the citizen invites a family member to show
    the citizen's health code; the family member accepts in their own wallet.

    POST /issuer/proxy-invitations  {"to": "<mobile phone or ID number of the family member>"}
        → 202 {"id": "<opaque>", "status": "pending", "expires_in": 604800}, Location: /issuer/proxy-invitations/<id>
        The same status and body (apart from the random id) whether or not the number belongs to anybody; the
        name is told only after acceptance. Errors: 400 invalid_request (not a phone or ID number; your own),
        429 too_many_invitations with Retry-After (10 per account a day, 30 per address an hour).

    GET /issuer/proxy-invitations
        → 200 {"sent": [{"id", "to": "138****8000", "status": "pending" | "accepted" | "declined" | "expired",
                         "created_at", "expires_at", "decided_at", "name": the family member's name once accepted
                         else null, "proxy_id": the grant once accepted else null}…],
               "received": [{"id", "inviter": "张*", "status": "pending", "created_at", "expires_at",
                             "allows": "<what accepting allows, in plain words>"}…]}   (newest first, at most 50)

    PATCH /issuer/proxy-invitations/<id>   {"status": "accepted" | "declined"}   (the invitee only)
        → 200 {"invitation": received-invitation, "proxy": proxy (accepted) | null}. Accepting makes the grant
        (granted_via "self"); the same answer again returns the same result.
        Errors: 404 invitation_not_found (no such invitation for you), 409 invitation_closed (already answered
        otherwise or withdrawn), 410 invitation_expired (pending for 7 days), 400 invalid_request.

    DELETE /issuer/proxy-invitations/<id>  (the inviter only)
        → 200 {"invitation": sent-invitation with status "withdrawn"}; idempotent.
        Errors: 404 invitation_not_found, 409 invitation_closed (already answered: end the proxy instead).

The access-token port is ``AccessTokens.principal_for(token) -> Principal | None`` (``service.app`` injects
the IdP's implementation), the same shape as the OpenID4VCI endpoint's port.
"""

from __future__ import annotations

import binascii
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Blueprint, Response, current_app, jsonify, request

from issuer.errors import IssuerError, NotAuthorisedError, ValidationError
from issuer.health.colours import INVITATION_LIFETIME
from issuer.health.errors import InvitationClosed, InvitationExpired, InvitationNotFound, ProxyError, UnknownPerson
from issuer.health.invitations import ProxyInvitations
from issuer.health.models import Person
from issuer.health.service import HealthDesk
from issuer.nonces import NONCE_TTL, CNonces
from issuer.ports import ISSUER_SCOPE, AccessTokens, Principal, TokenRefused, TokenRequest
from keys import KeyFormatError, PublicKey, b64url_decode
from storage.kv import MemoryStore

PROOF_TYP = "openid4vci-proof+jwt"
PROOF_MAX_AGE = 300

bp = Blueprint("health", __name__)


# Invitations: (counter, limit, window in seconds). A fixed window per key (``incr`` with a TTL, as idp.throttle).
INVITE_LIMITS = (("account", 10, 24 * 3600), ("address", 30, 3600))


class Counters(Protocol):
    def incr(self, key: str, ttl: int) -> int: ...
    def ttl(self, key: str) -> int | None: ...


@dataclass
class HealthWeb:
    desk: HealthDesk
    tokens: AccessTokens
    nonces: CNonces  # shared with issuer.vci's nonce endpoint
    audience: Callable[[], str]
    counters: Counters = field(default_factory=MemoryStore)  # rate limits: the service passes its key-value store
    invitations: ProxyInvitations = field(init=False)

    def __post_init__(self) -> None:
        self.invitations = ProxyInvitations(self.desk)


class ApiError(Exception):
    def __init__(self, status: int, error: str, description: str, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description
        self.headers = headers or {}


def web() -> HealthWeb:
    return current_app.extensions["tongban.health"]


# -- the proof of possession of the device key (OpenID4VCI §8.2.1.1) -----------------------------------
def verify_proof(token: Any, *, audience: str, now: int, consume_nonce: Callable[[str], bool]) -> PublicKey:
    """Return the device key a ``openid4vci-proof+jwt`` proves possession of; raise ApiError otherwise."""
    def bad(description: str, error: str = "invalid_proof") -> ApiError:
        return ApiError(400, error, description)

    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 8192:
        raise bad("proof.jwt must be a compact JWS")
    head_b64, body_b64, sig_b64 = token.split(".")
    try:
        header = json.loads(b64url_decode(head_b64))
        claims = json.loads(b64url_decode(body_b64))
        signature = b64url_decode(sig_b64)
    except (ValueError, binascii.Error, UnicodeDecodeError, KeyFormatError) as exc:
        raise bad("proof.jwt is not base64url JSON") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise bad("proof header and claims must be JSON objects")
    if header.get("typ") != PROOF_TYP:
        raise bad(f"proof typ must be {PROOF_TYP}")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or "d" in jwk or "kid" in header or "x5c" in header:
        raise bad("the proof must carry the device's public key as a jwk header (and nothing else)")
    try:
        key = PublicKey.from_jwk(jwk)
    except KeyFormatError as exc:
        raise bad(f"proof jwk: {exc}") from exc
    if header.get("alg") != key.alg:
        raise bad("proof alg must match its key (ES256 for P-256, EdDSA for Ed25519)")
    if not key.verify(signature, f"{head_b64}.{body_b64}".encode()):
        raise bad("the proof's signature does not verify")
    aud = claims.get("aud")
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        raise bad("proof aud must be this service")
    iat = claims.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool) or abs(now - iat) > PROOF_MAX_AGE:
        raise bad("proof iat is missing or not within 5 minutes of now")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce or len(nonce) > 128 or not consume_nonce(nonce):
        raise bad("the proof's nonce is unknown, used or expired: fetch a new c_nonce", "invalid_nonce")
    return key


# -- request plumbing ---------------------------------------------------------------------------------
def principal(require_id: bool = True) -> Principal:
    try:
        found = web().tokens.principal_for(token_request())
    except TokenRefused as exc:
        raise ApiError(exc.status, exc.error, exc.description) from exc
    if require_id and not found.id_number:
        raise ApiError(403, "insufficient_scope", f"the access token lacks the {ISSUER_SCOPE} scope")
    return found


def token_request() -> TokenRequest:
    return TokenRequest(request.headers.get("Authorization", ""), request.headers.get("DPoP"), request.method,
                        request.path)


def body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", "the body must be a JSON object")
    return data


def person_of(p: Principal) -> Person:
    found = web().desk.people.find(p.id_number) if web().desk.people else None
    return found or Person(p.id_number, "")


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    response = jsonify(error=exc.error, error_description=exc.description)
    response.status_code = exc.status
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = f'DPoP error="{exc.error}", Bearer error="{exc.error}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(exc.headers)
    return response


_INVITATION_ERRORS = {InvitationNotFound: 404, InvitationClosed: 409, InvitationExpired: 410}


@bp.errorhandler(IssuerError)
def _issuer_error(exc: IssuerError) -> Response:
    if type(exc) in _INVITATION_ERRORS:
        status, error = _INVITATION_ERRORS[type(exc)], exc.reason
    elif isinstance(exc, UnknownPerson):
        status, error = 404, "unknown_person"
    elif isinstance(exc, ProxyError | NotAuthorisedError):
        status, error = 403, "access_denied"
    elif isinstance(exc, ValidationError):
        status, error = 400, "invalid_request"
    else:
        status, error = 400, exc.reason
    return _api_error(ApiError(status, error, str(exc)))


def now() -> int:
    return int(time.time())


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
    device = verify_proof(proof.get("jwt"), audience=w.audience(), now=t,
                          consume_nonce=lambda n: w.nonces.consume(n, t))
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


# -- family proxies by invitation ------------------------------------------------------------------------
def rate_limit(w: HealthWeb, account: str, address: str) -> None:
    """Count one invitation against the account and the address; 429 with Retry-After past a limit."""
    for (kind, limit, window), key in zip(INVITE_LIMITS, (account, address), strict=True):
        name = f"proxy-invite:{kind}:{key}"
        if w.counters.incr(name, window) > limit:
            retry = w.counters.ttl(name) or window
            raise ApiError(429, "too_many_invitations",
                           f"邀请过于频繁，请{max(1, (retry + 59) // 60)}分钟后再试。 / Too many invitations: try again "
                           f"in {max(1, (retry + 59) // 60)} minute(s).", headers={"Retry-After": str(retry)})


@bp.post("/issuer/proxy-invitations")
def invite() -> Response:
    p = principal()
    to = body().get("to")
    w, me = web(), person_of(p)
    invitation_id = w.invitations.invite(me, to, recorded_by=f"citizen:{p.sub}", now=now(), admit=lambda: rate_limit(
        w, w.desk.hash(me.id_number), request.remote_addr or "unknown"))
    response = jsonify(id=invitation_id, status="pending", expires_in=INVITATION_LIFETIME)
    response.status_code = 202
    response.headers["Location"] = f"/issuer/proxy-invitations/{invitation_id}"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/issuer/proxy-invitations")
def list_invitations() -> Response:
    p = principal()
    w, t = web(), now()
    response = jsonify(sent=[i.to_json() for i in w.invitations.sent(p.id_number, t)],
                       received=[i.to_json() for i in w.invitations.received(person_of(p), t)])
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.patch("/issuer/proxy-invitations/<invitation_id>")
def answer_invitation(invitation_id: str) -> Response:
    p = principal()
    answer = body().get("status")
    invitation, grant = web().invitations.answer(invitation_id, person_of(p), answer, now())
    return jsonify(invitation=invitation.to_json(), proxy=grant.to_json() if grant else None)


@bp.delete("/issuer/proxy-invitations/<invitation_id>")
def withdraw_invitation(invitation_id: str) -> Response:
    p = principal()
    return jsonify(invitation=web().invitations.withdraw(invitation_id, p.id_number, now()).to_json())


__all__ = ["AccessTokens", "ApiError", "HealthWeb", "Principal", "bp", "rate_limit", "verify_proof"]
