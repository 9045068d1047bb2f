"""免证办 over HTTP: the wallet asks for a fetch handle, a counter redeems it (``issuer.fetch``).

    POST /issuer/fetch-grants   the wallet (its IdP access token, ``licences`` scope, DPoP as at every
                                ``/issuer/*``): {"elicence_id", "audience"?: counter id} → {"handle" (base64url,
                                16 bytes), "expires_at", "expires_in"}
    POST /issuer/fetch          a counter (its client-credentials token, scope ``counter``, as Bearer):
                                {"code": "TB1:..."} → the whole licence: {"elicence_id", "licence_type", "label",
                                "authority", "claims", "portrait" (base64 JPEG or null)}

Errors are JSON ``{"error", "error_description"}`` with the reason codes of ``issuer.fetch.FetchRefused``
(RFC 6750 §3.1 codes and a ``WWW-Authenticate`` challenge for token problems). Both answers are ``no-store``.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Blueprint, Response, current_app, jsonify, request

from credentials import licence_type
from credentials.counter_code import is_counter_id
from issuer.fetch import FetchGrants, FetchRefused
from issuer.ports import CounterTokens, TokenRefused, TokenRequest
from issuer.vci.common import bearer_error, error, no_store, principal
from keys import b64url

bp = Blueprint("fetch", __name__)
MAX_BODY = 16 * 1024


@dataclass
class FetchWeb:
    grants: FetchGrants
    counters: CounterTokens
    clock: Callable[[], int] = field(default=lambda: int(time.time()))


def _ctx() -> FetchWeb:
    return current_app.extensions["tongban.fetch"]


def _body() -> dict | Response:
    if request.mimetype != "application/json":
        return error(415, "invalid_request", "send application/json")
    if request.content_length is not None and request.content_length > MAX_BODY:
        return error(413, "invalid_request", f"the body is larger than {MAX_BODY} bytes")
    doc = request.get_json(silent=True)
    if not isinstance(doc, dict):
        return error(400, "invalid_request", "send a JSON object")
    return doc


@bp.post("/issuer/fetch-grants")
def fetch_grant() -> Response:
    found = principal()
    if isinstance(found, Response):
        return found
    doc = _body()
    if isinstance(doc, Response):
        return doc
    audience = doc.get("audience")
    if audience is not None and not is_counter_id(audience):
        return error(400, "invalid_request", "audience must be a counter id (from the counter's code)")
    c = _ctx()
    try:
        handle, expires_at = c.grants.grant(sub=found.sub, id_number=found.id_number, elicence_id=doc.get("elicence_id"),
                                            audience=audience, now=c.clock())
    except FetchRefused as exc:
        return error(exc.status, exc.reason, str(exc))
    return no_store(jsonify(handle=b64url(handle), expires_at=expires_at, expires_in=expires_at - c.clock()))


@bp.post("/issuer/fetch")
def fetch() -> Response:
    c = _ctx()
    try:
        counter_id = c.counters.counter_for(TokenRequest(request.headers.get("Authorization", ""),
                                                         request.headers.get("DPoP"), request.method, request.path))
    except TokenRefused as exc:
        return bearer_error(exc.status, exc.error, exc.description)
    doc = _body()
    if isinstance(doc, Response):
        return doc
    if set(doc) != {"code"}:
        return error(400, "invalid_request", 'send exactly {"code": "TB1:..."}')
    try:
        fetched, _grant = c.grants.redeem(doc["code"], counter_id=counter_id, now=c.clock())
    except FetchRefused as exc:
        current_app.logger.info("fetch by %s refused: %s", counter_id, exc.reason)
        return error(exc.status, exc.reason, str(exc))
    ltype = licence_type(fetched.licence_type)
    authority = c.grants.hub.authority(fetched.authority_id)
    return no_store(jsonify(
        elicence_id=fetched.elicence_id, licence_type=fetched.licence_type, label=ltype.label if ltype else "",
        authority=authority.name, claims=fetched.claims,
        portrait=base64.b64encode(fetched.portrait).decode("ascii") if fetched.portrait else None))
