"""The passkey endpoints the sign-in and account pages call from ``static/passkeys.js`` (``idp.passkeys`` does the
ceremonies): sign in with a passkey alone, add one on ``/account``, remove one. ``idp.web`` routes them.

Each is a form POST with the page's CSRF token; the ceremony endpoints answer JSON (``{"error", "message"}`` on
refusal: the script shows the message). Challenges are bound to this browser (``web_helpers.browser_binding``, the
CSRF cookie) and, for registration, to the signed-in account. Adding or removing a passkey changes how the account
can be entered, so it needs a sign-in within ``REAUTH_SECONDS`` (a session cookie stolen earlier is not enough).
"""

from __future__ import annotations

import hashlib
import time
from urllib.parse import urlencode

from flask import Response, jsonify, redirect, request, session

from idp.errors import LockedOut, PasskeyRefused
from idp.passkeys import AMR
from idp.web_helpers import browser_binding, current_session, page, provider, set_sid_cookie, sign_in_as, source_address
from keys import csrf_token_matches

REAUTH_SECONDS = 300
STALE = ("为保护账户，请先重新登录再更改通行密钥。 / To change your passkeys, sign in again first "
         "(your last sign-in was more than 5 minutes ago).")


def _refused(message: str, error: str, status: int = 400) -> Response:
    response = jsonify(error=error, message=message)
    response.status_code = status
    return response


def _csrf_ok() -> bool:
    return csrf_token_matches(request.form.get("csrf_token", ""), session.get("csrf"))


def _binding(purpose: str, sub: str = "") -> str:
    return hashlib.sha256(f"{purpose}:{sub}:{browser_binding()}".encode()).hexdigest()


def _fresh(sso) -> bool:
    return int(time.time()) - sso.auth_time <= REAUTH_SECONDS


# -- sign-in with a passkey alone (a discoverable credential) --------------------------------------------------
def login_options() -> Response:
    if not _csrf_ok():
        return _refused("页面已过期，请刷新。 / The page expired: reload it.", "csrf")
    try:
        return jsonify(provider().passkeys.authentication_options("login", _binding("login")))
    except PasskeyRefused as exc:
        return _refused(str(exc), exc.reason)


def login_passkey() -> Response:
    if not _csrf_ok():
        return _refused("页面已过期，请刷新。 / The page expired: reload it.", "csrf")
    p, now = provider(), int(time.time())
    try:
        passkey = p.passkeys.authenticate("login", _binding("login"), request.form.get("credential"), now,
                                          source=source_address())
    except LockedOut as exc:
        response = _refused(str(exc), exc.reason, 429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except PasskeyRefused as exc:
        return _refused(str(exc), exc.reason, 401)
    if p.accounts.get(passkey.sub) is None:  # the account went while its passkey row was being read
        return _refused("账户不存在。 / The account no longer exists.", "passkey_unknown", 401)
    p.audit.record("login", now=now, sub=passkey.sub, method="passkey")
    target, sid = sign_in_as(passkey.sub, list(AMR), request.form.get("ia", ""), now)
    return set_sid_cookie(jsonify(redirect=target), sid)


# -- /account: add and remove -----------------------------------------------------------------------------------
def register_options() -> Response:
    sso = current_session()
    if sso is None:
        return _refused("请先登录。 / Sign in first.", "login_required", 401)
    if not _csrf_ok():
        return _refused("页面已过期，请刷新。 / The page expired: reload it.", "csrf")
    if not _fresh(sso):
        return _refused(STALE, "reauth_required", 403)
    p = provider()
    account = p.accounts.get(sso.sub)
    if account is None:
        return _refused("请先登录。 / Sign in first.", "login_required", 401)
    id_number = p.accounts.id_number(account)
    masked_name = account.name[:1] + "*" * max(1, len(account.name) - 1)
    try:
        options = p.passkeys.registration_options(sso.sub, _binding("register", sso.sub),
                                                  user_name=id_number[:4] + "*" * 10 + id_number[-4:],
                                                  display_name=f"{masked_name} · 通办")
    except PasskeyRefused as exc:
        return _refused(str(exc), exc.reason)
    return jsonify(options)


def register_passkey() -> Response:
    sso = current_session()
    if sso is None:
        return _refused("请先登录。 / Sign in first.", "login_required", 401)
    if not _csrf_ok():
        return _refused("页面已过期，请刷新。 / The page expired: reload it.", "csrf")
    if not _fresh(sso):
        return _refused(STALE, "reauth_required", 403)
    try:
        provider().passkeys.register(sso.sub, _binding("register", sso.sub), request.form.get("credential"),
                                     request.form.get("name"), int(time.time()))
    except PasskeyRefused as exc:
        return _refused(str(exc), exc.reason)
    return jsonify(redirect="/account?passkey=added")


def remove_passkey() -> Response:
    """A form POST from ``/account`` (works without JavaScript); a stale sign-in is sent to sign in again."""
    sso = current_session()
    if sso is None:
        return redirect("/login")
    if not _csrf_ok():
        return page("message.html", 400, title="请求已失效 / Request expired",
                    message="页面已过期，请返回重试。 / The form expired; go back and try again.")
    if not _fresh(sso):
        return redirect("/account?" + urlencode({"passkey": "reauth"}))
    removed = provider().passkeys.remove(sso.sub, request.form.get("credential_id"), int(time.time()))
    return redirect("/account?" + urlencode({"passkey": "removed" if removed else "missing"}))
