"""Removing a licence from a phone: the holder asks the issuer to revoke the copy bound to that phone's device key.

``POST /issuer/removal`` (tongban's; OpenID4VCI 1.0 has no holder-initiated revocation) with the citizen's IdP
access token and ``{"record": <register entry>, "proof": <JWT>}``. The proof is signed by the device key like a
key proof (§8.2.1.1, ``issuer.key_proof``) but with its own ``typ`` (``tongban-removal+jwt``, so a proof made for
issuance cannot remove and one made for removal cannot issue), the issuer as ``aud``, a fresh ``c_nonce``
(§7, spent once: a replayed request is refused) and the ``record`` it is about (signed, so it cannot be moved).

What is revoked: the licence most recently issued from that register entry, in each format, *only if* it is bound
to the key that signed the proof; the entry must be the token's citizen's. So a citizen cannot remove another
citizen's licence (the entry is not theirs), and a phone cannot remove the copy on another phone (a newer copy
on another phone is bound to another key; older copies were already revoked when it was issued). Revocation is
final (the status list says so at the next sync); adding the licence again issues a new one.
"""

from __future__ import annotations

from flask import Response, current_app, jsonify, request

from credentials.status_list import INVALID
from issuer import store
from issuer.errors import KeyProofRefused
from issuer.key_proof import check_key_proof
from issuer.vci.common import bp, ctx, error, no_store, principal
from issuer.vci.configurations import CONFIGURATIONS, COSE

REMOVAL_TYP = "tongban-removal+jwt"


def _slots(record_id: str, licence_type: str) -> list[str]:
    """Where ``issuer.vci.credential`` notes the last licence issued from an entry: one slot per format."""
    formats = {c.format for c in CONFIGURATIONS.values() if c.ltype.name == licence_type}
    return [record_id if f == COSE else f"{record_id}|{f}" for f in sorted(formats)]


@bp.post("/issuer/removal")
def remove() -> Response:
    found = principal()
    if isinstance(found, Response):
        return found
    c, now = ctx(), ctx().clock()
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("record"), str) or not isinstance(body.get("proof"), str):
        return error(400, "invalid_request", 'send {"record": <register entry id>, "proof": <JWT>}')
    record = c.records.get(body["record"])
    if record is None or record.holder_id_number != found.id_number:
        return error(404, "no_such_copy", "no licence of yours on this phone")  # not yours and unknown look the same
    try:
        device = check_key_proof(body["proof"], audience=c.url, now=now, algorithms=("ES256",), typ=REMOVAL_TYP,
                                 bound={"record": record.record_id}, consume_nonce=lambda n: c.nonces.consume(n, now))
    except KeyProofRefused as exc:
        current_app.logger.info("removal proof refused: %s", exc)
        return error(400, exc.error, str(exc))
    copies = [eid for slot in _slots(record.record_id, record.licence_type)
              if (eid := c.records.last_issued(slot)) and store.holder_kid(c.issuer.engine, eid) == device.kid]
    if not copies:
        return error(404, "no_such_copy", "no licence of yours on this phone")
    for eid in copies:
        if store.find(c.issuer.engine, eid).status != INVALID:
            c.issuer.set_status(eid, now=now)
    current_app.logger.info("holder removed %s from a phone", ", ".join(copies))
    return no_store(jsonify(revoked=copies))
