"""Staff sign-in and sign-out for ``/admin`` (a Blueprint): the confidential client ``tongban-admin``
(registered by ``tongban init``) runs the authorization code flow with PKCE S256 through Authlib's Flask client,
then reads ``id_number`` from UserInfo.

Sign-in asks the IdP for ``prompt=login`` and checks the ID token's ``auth_time`` (a shared PC's open IdP session
does not sign the next person in as the last officer). The session cookie ``tb_admin`` holds only an opaque id,
made new at every sign-in (``issuer.admin_sessions``). Sign-out also ends the IdP session (RP-Initiated Logout 1.0
with ``id_token_hint``); the IdP's back-channel logout ends the staff sessions it names.

    GET  /admin/login       → the IdP;   GET /admin/callback   ← the IdP
    POST /admin/logout                                         (CSRF) → the IdP's /logout → /admin/
    POST /admin/backchannel-logout   logout_token (OIDC Back-Channel Logout 1.0 §2.5) → 200, or 400 JSON
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from authlib.integrations.base_client.errors import OAuthError
from flask import Blueprint, Response, current_app, jsonify, redirect, request, session

from issuer.health.admin_context import COOKIE, admin, check_csrf, current_user, no_store
from issuer.logout_token import LogoutTokenError, verify_logout_token

bp = Blueprint("admin_sign_in", __name__)
STAFF_MAX_AGE = 300  # max_age sent with prompt=login: staff authenticate afresh for every /admin sign-in
AUTH_TIME_SKEW = 60  # seconds the IdP's auth_time may precede the sign-in's start (clock drift)
JTI_TTL = 900  # a logout token's jti is remembered longer than any token is accepted (logout_token.MAX_AGE)


@bp.get("/admin/login")
def login() -> Response:
    """Always a fresh authentication (OIDC Core §3.1.2.1 ``prompt=login``, ``max_age``); the callback checks
    ``auth_time`` against the moment this started, since a browser can strip the parameters."""
    session["admin_login_at"] = admin().now()
    return admin().client().authorize_redirect(admin().base_url() + "/admin/callback", prompt="login",
                                               max_age=str(STAFF_MAX_AGE))


def _sign_in_failed(why: str, http_status: int = 400) -> Response:
    return Response(f"登录失败 / Sign-in failed: {why}", status=http_status, mimetype="text/plain")


@bp.get("/admin/callback")
def callback() -> Response:
    client = admin().client()
    started = session.pop("admin_login_at", None)
    try:
        token = client.authorize_access_token()
        info = client.userinfo(token=token)
    except OAuthError as exc:
        return _sign_in_failed(exc.error)
    claims = token.get("userinfo") or {}  # the ID token's claims, validated by Authlib (iss, aud, exp, nonce)
    if info.get("sub") != claims.get("sub"):  # OIDC Core §5.3.2: the ID token's subject
        return _sign_in_failed("subject mismatch")
    auth_time, sid = claims.get("auth_time"), claims.get("sid")
    if (not isinstance(started, int) or not isinstance(auth_time, int) or isinstance(auth_time, bool)
            or auth_time < started - AUTH_TIME_SKEW):
        return _sign_in_failed("请重新输入密码登录 / staff must enter their password at every sign-in")
    if not isinstance(sid, str) or not sid or not isinstance(token.get("id_token"), str):
        return _sign_in_failed("the identity provider sent no session id")
    id_number = info.get("id_number")
    sessions = admin().sessions
    sessions.end(request.cookies.get(COOKIE))  # a new id at every sign-in: no fixation, no left-over session
    session_id = sessions.create(sub=str(info["sub"]), idp_sid=sid, name=str(info.get("name", "")),
                                 subject=admin().desk.hash(id_number) if isinstance(id_number, str) else "",
                                 id_token=token["id_token"], now=admin().now())
    response = redirect("/admin/")
    response.set_cookie(COOKIE, session_id, path="/admin", httponly=True, samesite="Lax",
                        secure=admin().base_url().startswith("https://"))
    return response


@bp.post("/admin/logout")
def logout() -> Response:
    """End the staff session here, then the IdP's (RP-Initiated Logout 1.0 §2: ``id_token_hint`` proves which
    session, so the IdP ends it without asking, notifies its other clients and comes back to ``/admin/``)."""
    base = admin().base_url()
    user = current_user()
    if user is None:  # nothing to end here (expired or already signed out)
        response = redirect("/admin/")
    else:
        check_csrf()
        admin().sessions.end(request.cookies.get(COOKIE))
        try:
            end_session = admin().client().load_server_metadata().get("end_session_endpoint") or base + "/logout"
        except Exception:  # discovery unreachable: this service's IdP serves /logout itself
            current_app.logger.exception("admin: no end_session_endpoint from discovery")
            end_session = base + "/logout"
        response = redirect(end_session + "?" + urlencode({
            "id_token_hint": user.id_token, "client_id": admin().credentials()["client_id"],
            "post_logout_redirect_uri": base + "/admin/"}))
    response.delete_cookie(COOKIE, path="/admin", httponly=True, samesite="Lax", secure=base.startswith("https://"))
    return response


@bp.post("/admin/backchannel-logout")
def backchannel_logout() -> Response:
    """OIDC Back-Channel Logout 1.0 §2.5-2.8: the IdP ended an SSO session; end the staff sessions signed in
    through it (``sid``) or, naming only ``sub``, all of that person's. 200 when done, 400 when the token is
    not valid (nothing ended)."""
    a = admin()
    store = a.store

    def first_use(jti: str) -> bool:
        key = hashlib.sha256(f"{a.base_url()}|{jti}".encode()).hexdigest()
        return store.incr(f"admin-logout-jti:{key}", JTI_TTL) == 1

    try:
        found = verify_logout_token(request.form.get("logout_token"), jwks=a.idp_jwks(), issuer=a.base_url(),
                                    client_id=a.credentials()["client_id"], now=a.now(), first_use=first_use)
    except LogoutTokenError as exc:
        current_app.logger.warning("admin: back-channel logout refused: %s", exc)
        return no_store(jsonify(error=exc.reason, error_description=str(exc))), 400
    ended = a.sessions.end_idp(sid=found.sid, sub=found.sub)
    current_app.logger.info("admin: back-channel logout ended %d staff session(s)", ended)
    return no_store(Response(status=200))


__all__ = ["bp"]
