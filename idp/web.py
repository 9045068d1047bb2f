"""The identity provider's HTTP edge: one Blueprint (``bp``) and the authorization endpoint with consent.

Protocol work is Authlib's (``idp.server``); this module maps requests onto it and keeps the in-progress
authorization request between pages (``idp.interaction``). The machine-facing endpoints (discovery, token,
UserInfo, revocation, introspection, PAR) are in ``idp.endpoints``, the citizen's pages in ``idp.pages``;
both register on ``bp``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from urllib.parse import urlencode

from authlib.oauth2.rfc6749.errors import OAuth2Error, UnsupportedResponseTypeError
from flask import Blueprint, Response, abort, current_app, g, jsonify, redirect, render_template, request, session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.errors import IdpError
from idp.interaction import Interaction, decide
from idp.server import DictRequest

bp = Blueprint("idp", __name__, template_folder="templates", static_folder="static", static_url_path="/idp/static")
INTERACTION_TTL = 600
SID_COOKIE = "tb_sid"
PAR_PREFIX = "urn:ietf:params:oauth:request_uri:"
PAR_TTL = 60
SEALED_HINT = "tb_login_hint"  # a pushed request's login_hint, sealed while it waits in the store
EXPIRED = "登录请求已过期，请返回应用重新登录。 / The sign-in request expired; start again from the app."


def provider():  # noqa: ANN201 - idp.provider.Provider
    return current_app.extensions["tongban.idp"]


def now() -> int:
    return int(time.time())


# -- CSRF (OWASP synchroniser token) and the SSO cookie ---------------------------------------------
def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    if not session.get("csrf") or not secrets.compare_digest(str(sent), session["csrf"]):
        abort(Response(render_template("message.html", title="请求已失效 / Request expired",
                                       message="页面已过期，请返回重试。 / The form expired or was not sent from "
                                               "this site; go back and try again."), status=400))


@bp.app_context_processor
def _template_globals() -> dict:
    return {"csrf_token": csrf_token}


def current_session():  # noqa: ANN201
    if "sso" not in g:
        g.sso = provider().sessions.get(request.cookies.get(SID_COOKIE))
    return g.sso


def set_sid_cookie(response: Response, sid: str | None) -> Response:
    secure = bool(current_app.config.get("SESSION_COOKIE_SECURE"))  # https, or TLS ended at a trusted proxy
    if sid is None:
        response.delete_cookie(SID_COOKIE, path="/", secure=secure, httponly=True, samesite="Lax")
    else:
        response.set_cookie(SID_COOKIE, sid, path="/", secure=secure, httponly=True, samesite="Lax")
    return response


# -- authorization endpoint (OIDC Core §3.1.2) ------------------------------------------------------
def _error_page(message: str, status: int = 400) -> Response:
    return Response(render_template("message.html", title="请求无效 / Invalid request", message=message),
                    status=status)


def _redirect_error(req: DictRequest, redirect_uri: str, error: str, description: str) -> Response:
    """An error sent back to the client, with ``state`` and ``iss`` (RFC 6749 §4.1.2.1, RFC 9207 §2)."""
    params = {"error": error, "error_description": description, "iss": provider().issuer}
    if req.payload.state:
        params["state"] = req.payload.state
    sep = "&" if "?" in redirect_uri else "?"
    return redirect(redirect_uri + sep + urlencode(params))


def _validate(params: dict[str, str]):  # noqa: ANN202 - (request, grant, redirect_uri) or a Response
    server = provider().server
    req = DictRequest(request.url, params, dict(request.headers))
    bad = [k for k, v in params.items() if k not in ("login_hint", "ui_locales") and not _printable(v)]
    if bad:
        return _error_page(f"参数含有非法字符 / parameter {bad[0][:40]!r} must be printable ASCII")
    try:
        grant = server.get_authorization_grant(req)
    except UnsupportedResponseTypeError as exc:
        if exc.redirect_uri:
            return _redirect_error(req, exc.redirect_uri, exc.error, "only response_type=code is supported")
        return _error_page("不支持的 response_type。 / Only response_type=code is supported.")
    try:
        grant.validate_no_multiple_request_parameter(req)
        redirect_uri = grant.validate_authorization_request()
    except OAuth2Error as exc:
        if exc.redirect_uri:
            return _redirect_error(req, exc.redirect_uri, exc.error, exc.get_error_description() or exc.error)
        return _error_page(f"客户端或回调地址无效。 / {exc.get_error_description() or exc.error}")
    return req, grant, redirect_uri


def _printable(value: str) -> bool:
    """RFC 6749 Appendix A: protocol parameter values are VSCHAR / NQSCHAR, i.e. printable ASCII."""
    return all(" " <= ch <= "~" for ch in value)


def _oauth_api(call):  # noqa: ANN001, ANN202
    """Run an Authlib endpoint; a parameter Authlib cannot even quote in an error becomes invalid_request."""
    bad = [k for k, v in request.values.items() if not _printable(v)]
    if bad:
        return jsonify(error="invalid_request", error_description="parameters must be printable ASCII"), 400
    return call()


def _single_params(source) -> dict[str, str] | Response:  # noqa: ANN001
    params: dict[str, str] = {}
    for key in source:
        values = source.getlist(key)
        if len(values) > 1:
            return _error_page(f"参数重复 / parameter {key!r} repeated")
        params[key] = values[0]
    return params


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> Response:
    params = _single_params(request.args if request.method == "GET" else request.form)
    if isinstance(params, Response):
        return params
    p = provider()
    for name, error in (("request", "request_not_supported"), ("request_uri", "request_uri_not_supported")):
        # OIDC Core §6: request objects are not supported; request_uri only as a PAR reference (RFC 9126)
        if name in params and not (name == "request_uri" and params[name].startswith(PAR_PREFIX)):
            rest = {k: v for k, v in params.items() if k != name}
            validated = _validate(rest)
            if isinstance(validated, Response):
                return validated
            return _redirect_error(validated[0], validated[2], error, f"the {name} parameter is not supported")
    if "request_uri" in params:  # RFC 9126 §4: parameters pushed earlier, used once
        ref = params["request_uri"]
        raw = p.store.consume("par:" + ref[len(PAR_PREFIX):]) if ref.startswith(PAR_PREFIX) else None
        pushed = json.loads(raw) if raw else None
        if pushed is None or pushed.get("client_id") != params.get("client_id"):
            return _error_page("request_uri 无效或已过期。 / The request_uri is invalid or expired.")
        sealed_hint = pushed.pop(SEALED_HINT, None)
        params = pushed
    else:
        sealed_hint = seal_hint(params.get("login_hint"))
    validated = _validate(params)
    if isinstance(validated, Response):
        return validated
    # login_hint may be an ID number: it waits in the store sealed, never in the params (issue 8, item 6).
    params = {k: v for k, v in params.items() if k != "login_hint"}
    ia = Interaction(params, browser=_browser(), login_hint=sealed_hint)
    hint = params.get("id_token_hint")
    if hint:
        try:
            claims = jwt.decode(hint, KeySet.import_key_set(p.jwks()), algorithms=["ES256", "RS256"]).claims
            ia.hint_sub = str(claims.get("sub"))
        except (JoseError, ValueError, TypeError):
            return _redirect_error(validated[0], validated[2], "invalid_request", "id_token_hint is not valid")
    ia_id = secrets.token_urlsafe(18)
    _save_ia(ia_id, ia)
    return _resume(ia_id, ia)


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


def _save_ia(ia_id: str, ia: Interaction) -> None:
    provider().store.put(f"ia:{ia_id}", json.dumps(ia.__dict__), INTERACTION_TTL)


def _browser() -> str:
    """A value tied to this browser's CSRF cookie, so an interaction cannot be resumed from another browser."""
    return hashlib.sha256(("ia-binding:" + csrf_token()).encode()).hexdigest()


def load_ia(ia_id: object) -> Interaction | None:
    if not isinstance(ia_id, str) or not ia_id or len(ia_id) > 64:
        return None
    raw = provider().store.get(f"ia:{ia_id}")
    ia = Interaction(**json.loads(raw)) if raw else None
    if ia is None or not secrets.compare_digest(ia.browser or "", _browser()):
        return None
    return ia


@bp.get("/authorize/resume")
def resume() -> Response:
    ia_id = request.args.get("ia", "")
    ia = load_ia(ia_id)
    if ia is None:
        return _error_page(EXPIRED)
    return _resume(ia_id, ia)


def _resume(ia_id: str, ia: Interaction) -> Response:
    validated = _validate(ia.params)
    if isinstance(validated, Response):
        return validated
    req, grant, redirect_uri = validated
    p, sso = provider(), current_session()
    client = req.client
    requested = req.scope.split()
    granted = p.consents.granted(sso.sub, client.client_id) if sso else set()
    step = decide(ia, sso, granted, requested, now(),
                  client_sub=p.subject_for(client.client_id, sso.sub) if sso else None)
    if step.step == "error":
        return _redirect_error(req, redirect_uri, step.error, step.description)
    if step.step == "login":
        return redirect("/login?" + urlencode({"ia": ia_id}))  # login_hint stays server-side (it may be an ID number)
    if step.step == "stepup":
        return redirect("/stepup?" + urlencode({"ia": ia_id}))
    if step.step == "consent":
        from idp.consents import SCOPE_TEXT

        return Response(render_template("consent.html", ia=ia_id, client=client, scopes=step.scopes,
                                        text=SCOPE_TEXT, granted=granted))
    account = p.accounts.get(sso.sub)
    if account is None:
        return _redirect_error(req, redirect_uri, "login_required", "the account no longer exists")
    p.store.delete(f"ia:{ia_id}")
    p.sessions.add_client(sso, client.client_id)
    req.tb = {"scope": " ".join(step.scopes), "sub": sso.sub, "auth_time": sso.auth_time, "sid": sso.sid,
              "acr": sso.acr, "amr": sso.amr}
    p.audit.record("authorize", now=now(), sub=sso.sub, client_id=client.client_id, scope=req.tb["scope"])
    return p.server.create_authorization_response(request=req, grant_user=account, grant=grant)


@bp.post("/consent")
def consent() -> Response:
    check_csrf()
    ia_id = request.form.get("ia", "")
    ia, sso = load_ia(ia_id), current_session()
    if ia is None or sso is None:
        return _error_page(EXPIRED)
    validated = _validate(ia.params)
    if isinstance(validated, Response):
        return validated
    req, grant, redirect_uri = validated
    p = provider()
    decision = request.form.get("decision")
    if decision == "deny":
        p.store.delete(f"ia:{ia_id}")
        p.audit.record("consent_denied", now=now(), sub=sso.sub, client_id=req.client.client_id)
        return _redirect_error(req, redirect_uri, "access_denied", "the citizen declined")
    if decision != "allow":
        return _error_page("请选择同意或拒绝。 / Choose allow or deny.")
    requested = req.scope.split()
    # PIPL art. 29: sensitive information needs its own, separate consent (an unticked box means no).
    allowed = [s for s in requested if s != "id_number" or request.form.get("consent_id_number") == "yes"]
    p.consents.grant(sso.sub, req.client.client_id, allowed, now())
    p.audit.record("consent", now=now(), sub=sso.sub, client_id=req.client.client_id, scope=" ".join(allowed))
    ia.consented = allowed
    _save_ia(ia_id, ia)
    return _resume(ia_id, ia)


from idp import endpoints, pages  # noqa: E402,F401 - register the API endpoints and pages on ``bp``
