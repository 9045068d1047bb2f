"""The credential issuer's HTTP edge, after OpenID for Verifiable Credential Issuance 1.0 (OpenID4VCI).

Endpoints (paths relative to the service's issuer URL):

* ``GET /.well-known/openid-credential-issuer`` — Credential Issuer Metadata (§12.2).
* ``POST /issuer/nonce`` — Nonce Endpoint (§7): a ``c_nonce``, single use, ``NONCE_TTL`` seconds, signed and
  stored nowhere (``issuer.nonces``: an unauthenticated endpoint must not write per call); the credential
  request records it as used, for its remaining life, once a valid proof carries it.
* ``GET /issuer/records`` (DPoP or Bearer, ``issuer.ports``) — tongban's own: the licences the authorities' registers hold for the
  token's citizen (type, label, authority, validity; no claims, never the ID number).
* ``POST /issuer/credential`` (DPoP or Bearer) — Credential Endpoint (§8) with a ``jwt`` key proof (§8.2.1.1,
  Appendix F.1): ``typ`` ``openid4vci-proof+jwt``, ``alg`` ES256, the device key in the ``jwk`` header,
  ``aud`` = the credential issuer identifier, ``nonce`` = a fresh ``c_nonce``, ``iat`` within
  ``PROOF_MAX_AGE`` seconds. Errors follow §8.3.1.2 (``invalid_proof``, ``invalid_nonce``,
  ``invalid_credential_request``, ``unknown_credential_configuration``); token errors RFC 6750 §3.1.

Where this departs from OpenID4VCI 1.0, and why:

* Credential format: ``tongban-cose`` (this project's compact CWT in COSE_Sign1, see
  ``credentials.credential``) is not one of the formats of Appendix A; the metadata says so by name.
* One issuance returns *every view* of the licence (full, and one per counter purpose) in one
  ``credentials`` entry: ``{"credential": {view: base64url(COSE bytes)}}`` instead of one credential per
  entry, because the views are one licence and share a status entry; the wallet needs all of them to
  choose a disclosure offline.
* The request names the register entry to issue (``record``), a tongban parameter: a citizen may hold
  several licences of one type in principle, and the wallet lists them first (``/issuer/records``).
* The response adds ``elicence_id``, ``licence_type``, ``views`` (labels and disclosed claim names) and
  ``summary`` (holder name, validity, authority) so the wallet can show the card without parsing CBOR.
* The key proof comes as a single ``proof`` object (as drafts before 1.0 had, and the web wallet sends) or as
  1.0's ``proofs`` with exactly one ``jwt``: one device key per licence, no batch issuance.
* No Credential Offer, no deferred issuance, no notification endpoint, no encryption of the response.
* Authorization is the service's own OpenID provider (scope ``licences``), reached through the
  ``principal_for`` port the composition root injects: the issuer does not import the IdP.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Blueprint, Response, current_app, jsonify, request

from credentials import licence_type
from credentials.catalogue import LICENCE_TYPES
from issuer.errors import IssuerError, KeyProofRefused
from issuer.health import HEALTH_CODE
from issuer.key_proof import check_key_proof
from issuer.nonces import NONCE_TTL, CNonces
from issuer.ports import ISSUER_SCOPE, Principal, TokenRefused, TokenRequest
from issuer.records import Records
from issuer.service import Issuer
from keys import PublicKey, b64url
from storage.kv import KeyValueStore

SCOPE = ISSUER_SCOPE
FORMAT = "tongban-cose"

bp = Blueprint("vci", __name__)


@dataclass
class CredentialIssuer:
    """What the endpoints need, wired by ``service.app``."""

    url: str
    issuer: Issuer
    records: Records
    store: KeyValueStore
    principal_for: Callable[[TokenRequest], Principal]  # raises TokenRefused (issuer.ports)
    nonces: CNonces
    clock: Callable[[], int] = field(default=lambda: int(time.time()))


def _ctx() -> CredentialIssuer:
    return current_app.extensions["tongban.vci"]


def _error(status: int, error: str, description: str, **headers: str) -> Response:
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers.update(headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def _bearer_error(status: int, error: str, description: str) -> Response:
    challenge = f'DPoP error="{error}", Bearer error="{error}", error_description="{description}"'
    if error == "insufficient_scope":
        challenge += f', scope="{SCOPE}"'
    return _error(status, error, description, **{"WWW-Authenticate": challenge})


def _principal() -> Principal | Response:
    try:
        principal = _ctx().principal_for(TokenRequest(request.headers.get("Authorization", ""),
                                                      request.headers.get("DPoP"), request.method, request.path))
    except TokenRefused as exc:
        return _bearer_error(exc.status, exc.error, exc.description)
    if SCOPE not in principal.scope.split() or principal.id_number is None:
        return _bearer_error(403, "insufficient_scope", f"the access token lacks the {SCOPE} scope")
    return principal


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


# -- metadata (§12.2) -----------------------------------------------------------------------------
@bp.get("/.well-known/openid-credential-issuer")
def metadata() -> Response:
    url = _ctx().url
    configurations = {
        t.name: {
            "format": FORMAT,
            "scope": SCOPE,
            "cryptographic_binding_methods_supported": ["jwk"],
            "credential_signing_alg_values_supported": ["ES256"],
            "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
            "credential_metadata": {
                "display": [{"name": t.label.split(" / ")[0], "locale": "zh-CN"},
                            {"name": t.label.split(" / ")[-1], "locale": "en"}],
                "views": {v.name: {"label": v.label, "claims": list(v.claims)} for v in t.views},
            },
        }
        for t in LICENCE_TYPES
        if t.name != HEALTH_CODE  # health codes come from /issuer/health-code (issuer.health.web), not a register
    }
    return jsonify({
        "credential_issuer": url,
        "authorization_servers": [url],
        "credential_endpoint": url + "/issuer/credential",
        "nonce_endpoint": url + "/issuer/nonce",
        "display": [{"name": "通办电子证照", "locale": "zh-CN"}, {"name": "tongban e-licences", "locale": "en"}],
        "credential_configurations_supported": configurations,
    })


# -- nonce (§7) -----------------------------------------------------------------------------------
@bp.post("/issuer/nonce")
def nonce() -> Response:
    ctx = _ctx()
    return _no_store(jsonify(c_nonce=ctx.nonces.issue(ctx.clock()), c_nonce_expires_in=NONCE_TTL))


# -- the citizen's register entries ---------------------------------------------------------------
@bp.get("/issuer/records")
def held_records() -> Response:
    principal = _principal()
    if isinstance(principal, Response):
        return principal
    ctx = _ctx()
    out = []
    for record in ctx.records.held_by(principal.id_number):
        authority = ctx.issuer.hub.authority(record.authority_id)
        out.append({"id": record.record_id, "licence_type": record.licence_type, "label": record.label,
                    "authority": authority.name, "valid_until": record.claims.get("valid_until")})
    return _no_store(jsonify(records=out))


# -- credential (§8) ------------------------------------------------------------------------------
def _check_proof(proof: object, ctx: CredentialIssuer, now: int) -> PublicKey | Response:
    """§8.2.1.1 / Appendix F.1: verify the key proof and consume its c_nonce; return the device key."""
    if not isinstance(proof, dict) or proof.get("proof_type") != "jwt" or not isinstance(proof.get("jwt"), str):
        return _error(400, "invalid_proof", 'proof must be {"proof_type": "jwt", "jwt": ...}')
    try:
        return check_key_proof(proof["jwt"], audience=ctx.url, now=now, algorithms=("ES256",),
                               consume_nonce=lambda value: ctx.nonces.consume(value, now))
    except KeyProofRefused as exc:
        current_app.logger.info("credential proof refused: %s", exc)
        return _error(400, exc.error, str(exc))


@bp.post("/issuer/credential")
def credential() -> Response:
    principal = _principal()
    if isinstance(principal, Response):
        return principal
    ctx, now = _ctx(), _ctx().clock()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "invalid_credential_request", "send a JSON object")
    type_name = body.get("credential_configuration_id")
    ltype = licence_type(type_name) if isinstance(type_name, str) else None
    if ltype is None:
        return _error(400, "unknown_credential_configuration", "credential_configuration_id names no licence type")
    record = ctx.records.get(body.get("record"))
    # Someone else's record and no record look the same from outside.
    if record is None or record.holder_id_number != principal.id_number or record.licence_type != ltype.name:
        return _error(400, "invalid_credential_request", "no such licence on record for you")
    proof = body.get("proof")
    proofs = body.get("proofs")  # OpenID4VCI 1.0 §8.2: {"jwt": [one proof]}; one key per licence here
    if proofs is not None:
        if proof is not None or not (isinstance(proofs, dict) and set(proofs) == {"jwt"} and isinstance(proofs["jwt"], list)
                                     and len(proofs["jwt"]) == 1):
            return _error(400, "invalid_proof", 'send either proof or proofs {"jwt": [one JWT]}')
        proof = {"proof_type": "jwt", "jwt": proofs["jwt"][0]}
    holder_key = _check_proof(proof, ctx, now)
    if isinstance(holder_key, Response):
        return holder_key
    previous = ctx.records.last_issued(record.record_id)
    try:
        issued = ctx.issuer.issue(ltype.name, record.claims, holder_key=holder_key, now=now,
                                  authority_id=record.authority_id, replaces=previous)
        ctx.records.set_last_issued(record.record_id, issued.elicence_id)
        if previous is not None:
            ctx.issuer.retire(previous, now=now)  # the copy on the earlier device stops at the next sync
    except IssuerError as exc:
        current_app.logger.warning("issuing record %s failed: %s", record.record_id, exc)
        return _error(400, "invalid_credential_request", "the authority's record cannot be issued; contact the authority")
    views = {name: b64url(raw) for name, raw in issued.views.items()}
    authority = ctx.issuer.hub.authority(issued.authority_id)
    current_app.logger.info("issued %s to %s", issued.elicence_id, json.dumps(principal.sub))
    return _no_store(jsonify({
        "credentials": [{"credential": views}],
        "elicence_id": issued.elicence_id,
        "licence_type": issued.licence_type,
        "label": ltype.label,
        "views": {v.name: {"label": v.label, "claims": list(v.claims)} for v in ltype.views if v.name in views},
        "summary": {"name": record.claims.get("name"), "valid_until": record.claims.get("valid_until"),
                    "authority": authority.name},
    }))
