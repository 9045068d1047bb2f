"""The issuer's token endpoint for the Pre-Authorized Code grant (OpenID4VCI 1.0 §6) and the by-reference offers
it goes with (§4.1.3).

Why the issuer's own endpoint and not the IdP's: a pre-authorized code stands for one register entry, which only
the issuer knows, and the layering (``service → idp | issuer``) forbids the IdP to read the issuer's tables; the
IdP stays the authorization server of the code flow (scope ``licences``), and the metadata lists both (§12.2.4),
the offer naming this one (``authorization_server``, §4.1.1). Requests are form-encoded (RFC 6749 §4.1.3),
anonymous (§12.3 ``pre-authorized_grant_anonymous_access_supported``); errors are RFC 6749 §5.2's.
"""

from __future__ import annotations

from flask import Response, current_app, jsonify, request

from issuer.offers import PRE_AUTHORIZED_GRANT, OfferRefused
from issuer.vci.common import bp, ctx, error, no_store
from issuer.vci.tokens import TTL


@bp.post("/issuer/token")
def token() -> Response:
    c = ctx()
    if request.form.get("grant_type") != PRE_AUTHORIZED_GRANT:
        return error(400, "unsupported_grant_type", f"this endpoint serves {PRE_AUTHORIZED_GRANT} only")
    try:
        grant = c.offers.redeem(request.form.get("pre-authorized_code"), request.form.get("tx_code"), c.clock())
    except OfferRefused as exc:
        current_app.logger.info("pre-authorized code refused: %s", exc)
        return error(400, exc.error, str(exc))
    response = no_store(jsonify(access_token=c.preauth.issue(grant), token_type="Bearer", expires_in=TTL))  # noqa: S106
    response.headers["Pragma"] = "no-cache"
    return response


@bp.get("/issuer/offers/<offer_id>")
def offer(offer_id: str) -> Response:
    """§4.1.3: the offer behind a ``credential_offer_uri``, served once."""
    document = ctx().offers.fetch(offer_id, ctx().clock())
    if document is None:
        return error(404, "offer_not_found", "no such offer: it was fetched already, used or has expired")
    return no_store(jsonify(document))
