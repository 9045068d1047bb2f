"""Nonce (OpenID4VCI 1.0 §7), the citizen's register entries (tongban's), and the Credential Endpoint (§8).

A credential request is authorised by either kind of access token: the IdP's (a signed-in citizen; the request
names the register entry, ``record``) or the issuer's own from a pre-authorized code (bound to one entry and to
the configurations its offer named). Key proofs: ``proof`` (one, as drafts before 1.0 and the web wallet send)
or ``proofs.jwt`` (1.0): one proof for tongban-cose, up to ``BATCH_SIZE`` for SD-JWT VC, each by another device
key, all with the same ``c_nonce``, which is spent once, after every proof verified (``issuer.key_proof``).
"""

from __future__ import annotations

import json

from flask import Response, current_app, jsonify, request

from credentials import licence_type
from credentials.status_list import SUSPENDED, VALID
from issuer import store
from issuer.errors import IssuerError, KeyProofRefused
from issuer.key_proof import check_key_proof
from issuer.nonces import NONCE_TTL
from issuer.offers import Grant
from issuer.ports import Principal
from issuer.records import Record
from issuer.sd_jwt_issuance import SdJwtFormat
from issuer.vci.common import bp, ctx, error, no_store, principal
from issuer.vci.configurations import CONFIGURATIONS, COSE, Configuration
from keys import PublicKey, b64url

STATUS_WORDS = {VALID: "valid", SUSPENDED: "suspended"}  # anything else: revoked


@bp.post("/issuer/nonce")
def nonce() -> Response:
    c = ctx()
    return no_store(jsonify(c_nonce=c.nonces.issue(c.clock()), c_nonce_expires_in=NONCE_TTL))


@bp.get("/issuer/records")
def held_records() -> Response:
    """The licences the authorities' registers hold for the token's citizen (no claims, never the ID number), each
    with the licence last issued from it and that licence's status: the wallet compares them with the copies on
    the phone to tell the citizen, on opening, that a licence was revoked, suspended or issued anew."""
    found = principal()
    if isinstance(found, Response):
        return found
    c = ctx()
    out = []
    for record in c.records.held_by(found.id_number):
        authority = c.issuer.hub.authority(record.authority_id)
        last = c.records.last_issued(record.record_id)
        out.append({"id": record.record_id, "licence_type": record.licence_type, "label": record.label,
                    "authority": authority.name, "valid_until": record.claims.get("valid_until"),
                    "last_issued": last, "last_status": STATUS_WORDS.get(store.find(c.issuer.engine, last).status,
                                                                         "revoked") if last else None})
    return no_store(jsonify(records=out))


def _caller() -> Principal | Grant | Response:
    """A pre-authorized access token of ours (Bearer), else the IdP's (``principal``)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        grant = ctx().preauth.lookup(value.strip())
        if grant is not None:
            return grant
    return principal()


def _record(caller: Principal | Grant, config: Configuration, body: dict) -> Record | Response:
    c = ctx()
    if isinstance(caller, Grant):
        if config.id not in caller.configurations:
            return error(400, "invalid_credential_request", "the offer did not include this credential configuration")
        if body.get("record", caller.record_id) != caller.record_id:
            return error(400, "invalid_credential_request", "the access token is for another licence")
        record = c.records.get(caller.record_id)
    else:
        record = c.records.get(body.get("record"))
        if record is not None and record.holder_id_number != caller.id_number:
            record = None  # someone else's record and no record look the same from outside
    if record is None or record.licence_type != config.ltype.name:
        return error(400, "invalid_credential_request", "no such licence on record for you")
    return record


def _proof_jwts(body: dict, config: Configuration) -> list | Response:
    proof, proofs = body.get("proof"), body.get("proofs")
    if proofs is not None:
        if proof is not None or not (isinstance(proofs, dict) and set(proofs) == {"jwt"}
                                     and isinstance(proofs["jwt"], list) and 0 < len(proofs["jwt"]) <= config.batch):
            return error(400, "invalid_proof", f'send either proof or proofs {{"jwt": [1 to {config.batch} JWTs]}}')
        return list(proofs["jwt"])
    if not isinstance(proof, dict) or proof.get("proof_type") != "jwt" or not isinstance(proof.get("jwt"), str):
        return error(400, "invalid_proof", 'proof must be {"proof_type": "jwt", "jwt": ...}')
    return [proof["jwt"]]


def _device_keys(body: dict, config: Configuration, now: int) -> list[PublicKey] | Response:
    """§8.2.1.1 / Appendix F.1: every proof verified, distinct keys, one c_nonce shared and consumed last."""
    jwts = _proof_jwts(body, config)
    if isinstance(jwts, Response):
        return jwts
    c, nonces, found = ctx(), [], []
    try:
        for token in jwts:
            found.append(check_key_proof(token, audience=c.url, now=now, algorithms=("ES256",),
                                         consume_nonce=lambda value: nonces.append(value) or True))
    except KeyProofRefused as exc:
        current_app.logger.info("credential proof refused: %s", exc)
        return error(400, exc.error, str(exc))
    if len({key.kid for key in found}) != len(found):
        return error(400, "invalid_proof", "each proof of a batch must be signed by another device key")
    if len(set(nonces)) != 1 or not c.nonces.consume(nonces[0], now):
        return error(400, "invalid_nonce", "the c_nonce is unknown, used or expired, or the proofs carry different "
                                           "ones; fetch a new one")
    return found


@bp.post("/issuer/credential")
def credential() -> Response:
    caller = _caller()
    if isinstance(caller, Response):
        return caller
    c, now = ctx(), ctx().clock()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "invalid_credential_request", "send a JSON object")
    config_id = body.get("credential_configuration_id")
    config = CONFIGURATIONS.get(config_id) if isinstance(config_id, str) else None  # a list would not hash
    if config is None:
        return error(400, "unknown_credential_configuration", "credential_configuration_id names no configuration")
    record = _record(caller, config, body)
    if isinstance(record, Response):
        return record
    device_keys = _device_keys(body, config, now)
    if isinstance(device_keys, Response):
        return device_keys
    # The licence most recently issued from this record *in this format* is replaced (a new phone): the copy on the
    # earlier device stops at the next sync. Formats are tracked apart, so taking both does not revoke either.
    slot = record.record_id if config.format == COSE else f"{record.record_id}|{config.format}"
    previous = c.records.last_issued(slot)
    try:
        issued = c.issuer.issue(config.ltype.name, record.claims, holder_key=device_keys[0], now=now,
                                authority_id=record.authority_id, replaces=previous,
                                more_keys=tuple(device_keys[1:]),
                                sign=None if config.format == COSE else SdJwtFormat(c.url))
        c.records.set_last_issued(slot, issued.elicence_id)
        if previous is not None:
            c.issuer.retire(previous, now=now)
    except IssuerError as exc:
        current_app.logger.warning("issuing record %s as %s failed: %s", record.record_id, config.id, exc)
        return error(400, "invalid_credential_request", "the authority's record cannot be issued in this format; "
                                                        "contact the authority")
    who = caller.sub if isinstance(caller, Principal) else "pre-authorized offer"
    current_app.logger.info("issued %s (%s) to %s", issued.elicence_id, config.id, json.dumps(who))
    if config.format != COSE:
        return no_store(jsonify({"credentials": [{"credential": s} for s in issued.sd_jwts]}))
    ltype = licence_type(issued.licence_type)
    views = {name: b64url(raw) for name, raw in issued.views.items()}
    authority = c.issuer.hub.authority(issued.authority_id)
    return no_store(jsonify({
        "credentials": [{"credential": views}],
        "elicence_id": issued.elicence_id,
        "licence_type": issued.licence_type,
        "label": ltype.label,
        "views": {v.name: {"label": v.label, "claims": list(v.claims)} for v in ltype.views if v.name in views},
        "summary": {"name": record.claims.get("name"), "valid_until": record.claims.get("valid_until"),
                    "authority": authority.name},
    }))
