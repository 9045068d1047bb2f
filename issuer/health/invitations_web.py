"""Family proxies by invitation over HTTP (a Blueprint; ``issuer.health.invitations`` holds the rules): the
citizen invites a family member to show the citizen's health code; the family member accepts in their own wallet.
Same token and error conventions as ``issuer.health.web``.

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

"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from issuer.health.api import ApiError, HealthWeb, answer_errors, body, now, person_of, principal, web
from issuer.health.colours import INVITATION_LIFETIME

bp = Blueprint("health_invitations", __name__)
answer_errors(bp)

# (counter, limit, window in seconds). A fixed window per key (``incr`` with a TTL, as idp.throttle).
INVITE_LIMITS = (("account", 10, 24 * 3600), ("address", 30, 3600))


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


__all__ = ["INVITE_LIMITS", "bp", "rate_limit"]
