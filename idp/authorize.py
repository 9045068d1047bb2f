"""The authorization endpoint (OIDC Core §3.1.2, RFC 6749 §4.1.1) and its consent step.

Protocol work is Authlib's (``idp.authorization_server``); this module maps requests onto it and keeps the
in-progress authorization request between pages (``idp.interaction``, stored by ``idp.web_helpers``). The
next step (login, step-up, consent, or the code) is decided by ``idp.interaction.decide``.
"""

from __future__ import annotations

import json
import secrets
from urllib.parse import urlencode

from authlib.oauth2.rfc6749 import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.errors import OAuth2Error, UnsupportedResponseTypeError
from flask import Response, redirect, render_template, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.authorization_server import DictRequest
from idp.consents import SCOPE_TEXT
from idp.interaction import Interaction, decide
from idp.provider import ID_TOKEN_ALGS
from idp.web_helpers import (
    EXPIRED,
    PAR_PREFIX,
    SEALED_HINT,
    browser_binding,
    check_csrf,
    current_session,
    error_page,
    load_ia,
    now,
    printable,
    provider,
    save_ia,
    seal_hint,
    single_params,
)


def _redirect_error(req: DictRequest, redirect_uri: str, error: str, description: str) -> Response:
    """An error sent back to the client, with ``state`` and ``iss`` (RFC 6749 §4.1.2.1, RFC 9207 §2)."""
    params = {"error": error, "error_description": description, "iss": provider().issuer}
    if req.payload.state:
        params["state"] = req.payload.state
    sep = "&" if "?" in redirect_uri else "?"
    return redirect(redirect_uri + sep + urlencode(params))


def _validate(params: dict[str, str]) -> tuple[DictRequest, AuthorizationCodeGrant, str] | Response:
    """The request, its grant and redirect URI; or the error (a page, or a redirect to the client)."""
    server = provider().server
    req = DictRequest(request.url, params, dict(request.headers))
    bad = [k for k, v in params.items() if k not in ("login_hint", "ui_locales") and not printable(v)]
    if bad:
        return error_page(f"参数含有非法字符 / parameter {bad[0][:40]!r} must be printable ASCII")
    try:
        grant = server.get_authorization_grant(req)
    except UnsupportedResponseTypeError as exc:
        if exc.redirect_uri:
            return _redirect_error(req, exc.redirect_uri, exc.error, "only response_type=code is supported")
        return error_page("不支持的 response_type。 / Only response_type=code is supported.")
    try:
        grant.validate_no_multiple_request_parameter(req)
        redirect_uri = grant.validate_authorization_request()
    except OAuth2Error as exc:
        if exc.redirect_uri:
            return _redirect_error(req, exc.redirect_uri, exc.error, exc.get_error_description() or exc.error)
        return error_page(f"客户端或回调地址无效。 / {exc.get_error_description() or exc.error}")
    return req, grant, redirect_uri


def authorize() -> Response:
    params = single_params(request.args if request.method == "GET" else request.form)
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
            return error_page("request_uri 无效或已过期。 / The request_uri is invalid or expired.")
        sealed_hint = pushed.pop(SEALED_HINT, None)
        params = pushed
    else:
        sealed_hint = seal_hint(params.get("login_hint"))
    validated = _validate(params)
    if isinstance(validated, Response):
        return validated
    # login_hint may be an ID number: it waits in the store sealed, never in the params (issue 8, item 6).
    params = {k: v for k, v in params.items() if k != "login_hint"}
    ia = Interaction(params, browser=browser_binding(), login_hint=sealed_hint)
    hint = params.get("id_token_hint")
    if hint:
        try:
            claims = jwt.decode(hint, KeySet.import_key_set(p.jwks()), algorithms=list(ID_TOKEN_ALGS)).claims
            ia.hint_sub = str(claims.get("sub"))
        except (JoseError, ValueError, TypeError):
            return _redirect_error(validated[0], validated[2], "invalid_request", "id_token_hint is not valid")
    ia_id = secrets.token_urlsafe(18)
    save_ia(ia_id, ia)
    return _resume(ia_id, ia)


def resume() -> Response:
    ia_id = request.args.get("ia", "")
    ia = load_ia(ia_id)
    if ia is None:
        return error_page(EXPIRED)
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


def consent() -> Response:
    check_csrf()
    ia_id = request.form.get("ia", "")
    ia, sso = load_ia(ia_id), current_session()
    if ia is None or sso is None:
        return error_page(EXPIRED)
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
        return error_page("请选择同意或拒绝。 / Choose allow or deny.")
    requested = req.scope.split()
    # PIPL art. 29: sensitive information needs its own, separate consent (an unticked box means no).
    allowed = [s for s in requested if s != "id_number" or request.form.get("consent_id_number") == "yes"]
    p.consents.grant(sso.sub, req.client.client_id, allowed, now())
    p.audit.record("consent", now=now(), sub=sso.sub, client_id=req.client.client_id, scope=" ".join(allowed))
    ia.consented = allowed
    save_ia(ia_id, ia)
    return _resume(ia_id, ia)
