"""What the identity provider's route modules share: the provider of this app, the SSO session and its
cookie, CSRF protection, parameter checks, error pages and the in-progress authorization request.

``idp.authorize``, ``idp.endpoints``, ``idp.discovery``, ``idp.pages`` and ``idp.account_pages`` import this
module; it imports none of them, and ``idp.web`` (the Blueprint) imports them all, so the web layer has no
import loop (``tests/test_architecture.py`` checks it).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from flask import Response, abort, current_app, g, jsonify, render_template, request, session
from werkzeug.datastructures import MultiDict

from idp.errors import IdpError
from idp.interaction import Interaction
from idp.sessions import SsoSession
from keys import csrf_token_matches, new_csrf_token

if TYPE_CHECKING:
    from idp.provider import Provider

EXTENSION = "tongban.idp"  # the provider's key in ``app.extensions``
INTERACTION_TTL = 600
SID_COOKIE = "tb_sid"
PAR_PREFIX = "urn:ietf:params:oauth:request_uri:"
PAR_TTL = 60
SEALED_HINT = "tb_login_hint"  # a pushed request's login_hint, sealed while it waits in the store
EXPIRED = "登录请求已过期，请返回应用重新登录。 / The sign-in request expired; start again from the app."


def provider() -> Provider:
    """The provider this app was built with (``service`` puts it into ``app.extensions``)."""
    return current_app.extensions[EXTENSION]


def now() -> int:
    return int(time.time())


# -- CSRF (OWASP synchroniser token, ``keys.csrf``), kept in the Flask session -------------------------
def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = new_csrf_token()
    return session["csrf"]


def check_csrf() -> None:
    """Abort with a 400 page unless the form's ``csrf_token`` is this browser's."""
    if not csrf_token_matches(request.form.get("csrf_token", ""), session.get("csrf")):
        abort(Response(render_template("message.html", title="请求已失效 / Request expired",
                                       message="页面已过期，请返回重试。 / The form expired or was not sent from "
                                               "this site; go back and try again."), status=400))


# -- the SSO session and its cookie ------------------------------------------------------------------
def current_session() -> SsoSession | None:
    """This browser's SSO session (looked up once per request), else None."""
    if "sso" not in g:
        g.sso = provider().sessions.get(request.cookies.get(SID_COOKIE))
    return g.sso


def set_sid_cookie(response: Response, sid: str | None) -> Response:
    """Set the SSO cookie to ``sid``, or delete it when ``sid`` is None."""
    secure = bool(current_app.config.get("SESSION_COOKIE_SECURE"))  # https, or TLS ended at a trusted proxy
    if sid is None:
        response.delete_cookie(SID_COOKIE, path="/", secure=secure, httponly=True, samesite="Lax")
    else:
        response.set_cookie(SID_COOKIE, sid, path="/", secure=secure, httponly=True, samesite="Lax")
    return response


# -- pages, parameters and errors ---------------------------------------------------------------------
def page(template: str, status: int = 200, **context) -> Response:
    return Response(render_template(template, **context), status=status)


def source_address() -> str:
    """The client's address (behind ``TONGBAN_PROXY_HOPS`` trusted proxies: ``service`` applies ProxyFix)."""
    return request.remote_addr or "unknown"


def error_page(message: str, status: int = 400) -> Response:
    return Response(render_template("message.html", title="请求无效 / Invalid request", message=message),
                    status=status)


def printable(value: str) -> bool:
    """RFC 6749 Appendix A: protocol parameter values are VSCHAR / NQSCHAR, i.e. printable ASCII."""
    return value.isascii() and value.isprintable()  # ASCII printable is exactly " " .. "~"


def oauth_api(call: Callable[[], Response]) -> Response | tuple[Response, int]:
    """Run an Authlib endpoint; a parameter Authlib cannot even quote in an error becomes invalid_request."""
    bad = [k for k, v in request.values.items() if not printable(v)]
    if bad:
        return jsonify(error="invalid_request", error_description="parameters must be printable ASCII"), 400
    return call()


def single_params(source: MultiDict) -> dict[str, str] | Response:
    """The parameters as a plain dict, or an error page if one is repeated (RFC 6749 §3.1)."""
    params: dict[str, str] = {}
    for key in source:
        values = source.getlist(key)
        if len(values) > 1:
            return error_page(f"参数重复 / parameter {key!r} repeated")
        params[key] = values[0]
    return params


# -- the in-progress authorization request (``idp.interaction``) and its sealed login_hint -------------
def seal_hint(hint: str | None) -> str | None:
    """A login_hint as it may be stored: Fernet under the IdP's secret (``idp.secrets``), at most 64 characters."""
    return provider().secrets.encrypt(hint[:64]) if hint else None


def open_hint(sealed: str | None) -> str:
    if not sealed:
        return ""
    try:
        return provider().secrets.decrypt(sealed)
    except IdpError:  # sealed under a secret since replaced: no pre-filled field, nothing else lost
        return ""


def browser_binding() -> str:
    """A value tied to this browser's CSRF cookie, so an interaction cannot be resumed from another browser."""
    return hashlib.sha256(("ia-binding:" + csrf_token()).encode()).hexdigest()


def save_ia(ia_id: str, ia: Interaction) -> None:
    provider().store.put(f"ia:{ia_id}", json.dumps(ia.__dict__), INTERACTION_TTL)


def load_ia(ia_id: object) -> Interaction | None:
    """The interaction ``ia_id`` if it exists and belongs to this browser, else None."""
    if not isinstance(ia_id, str) or not ia_id or len(ia_id) > 64:
        return None
    raw = provider().store.get(f"ia:{ia_id}")
    ia = Interaction(**json.loads(raw)) if raw else None
    if ia is None or not secrets.compare_digest(ia.browser or "", browser_binding()):
        return None
    return ia


# -- signing in: one place for every method (password, passkey) ---------------------------------------------
def sign_in_as(sub: str, amr: list[str], ia_id: str, now: int) -> tuple[str, str]:
    """Start an SSO session for ``sub`` after a successful sign-in with ``amr``; returns where the browser goes
    next (the authorization request it came from, else ``/account``) and the new session id for the cookie.

    Every sign-in is ``acr`` ``real-name``: the account is real-name, and neither a second factor (TOTP) nor a
    passkey says who the person is; only the liveness step-up (``idp.pages.stepup``) raises it."""
    from idp.logout import end_session

    p = provider()
    old = current_session()
    if old is not None and old.sub != sub:
        # Someone else signs in on this browser (a shared PC): the previous person's session ends like any
        # other, so their apps hear of it (back-channel logout) and sign them out too.
        end_session(p, old.sid, p.backchannel_post)
    elif old is not None:
        p.sessions.end(old.sid)  # the same person again: a new session id, their apps stay signed in
    sso = p.sessions.create(sub, now, "real-name", amr)
    ia = load_ia(ia_id)
    if ia is None:
        return "/account", sso.sid
    ia.fresh_login = True
    save_ia(ia_id, ia)
    return "/authorize/resume?" + urlencode({"ia": ia_id}), sso.sid
