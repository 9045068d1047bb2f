"""The citizen's pages: sign-in, registration, step-up, account, logout (OIDC RP-Initiated Logout 1.0). zh-CN
first. ``idp.web`` routes them."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from flask import Response, redirect, render_template, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.accounts import acr_rank
from idp.consents import SCOPE_TEXT
from idp.disclosures import disclosures, export
from idp.errors import IdpError, InvalidInput, LockedOut, SecondFactorRequired
from idp.logout import end_session
from idp.provider import ID_TOKEN_ALGS
from idp.web_helpers import (
    EXPIRED,
    check_csrf,
    current_session,
    error_page,
    load_ia,
    open_hint,
    provider,
    save_ia,
    set_sid_cookie,
)

REGISTER_ATTEMPTS = 10  # per source address per hour
REGISTER_WINDOW = 3600


def _source() -> str:
    return request.remote_addr or "unknown"


def _page(template: str, status: int = 200, **context) -> Response:
    return Response(render_template(template, **context), status=status)


def login() -> Response:
    ia_id = request.values.get("ia", "")
    if request.method == "GET":
        ia = load_ia(ia_id)
        hint = open_hint(ia.login_hint) if ia else ""
        return _page("login.html", ia=ia_id, username=hint, registered=request.args.get("registered") == "1")
    check_csrf()
    p, now = provider(), int(time.time())
    username = request.form.get("username", "")
    try:
        account = p.accounts.authenticate(username, request.form.get("password"), request.form.get("otp"),
                                          _source(), now)
    except SecondFactorRequired as exc:
        return _page("login.html", 401, ia=ia_id, username=username, error=str(exc), need_otp=True)
    except LockedOut as exc:
        response = _page("login.html", 429, ia=ia_id, username=username, error=str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except IdpError as exc:
        return _page("login.html", 401, ia=ia_id, username=username, error=str(exc))
    old = current_session()
    if old is not None and old.sub != account.sub:
        # Someone else signs in on this browser (a shared PC): the previous person's session ends like any
        # other, so their apps hear of it (back-channel logout) and sign them out too.
        end_session(p, old.sid, p.backchannel_post)
    elif old is not None:
        p.sessions.end(old.sid)  # the same person again: a new session id, their apps stay signed in
    amr = ["pwd", "otp"] if account.totp_enabled else ["pwd"]
    sso = p.sessions.create(account.sub, now, "real-name", amr)
    ia = load_ia(ia_id)
    if ia is not None:
        ia.fresh_login = True
        save_ia(ia_id, ia)
        response = redirect("/authorize/resume?" + urlencode({"ia": ia_id}))
    else:
        response = redirect("/account")
    return set_sid_cookie(response, sso.sid)


def register() -> Response:
    ia_id = request.values.get("ia", "")
    if request.method == "GET":
        return _page("register.html", ia=ia_id, form={})
    check_csrf()
    form = {k: request.form.get(k, "") for k in ("name", "id_number", "phone")}
    # The registry answer is an oracle for name/ID pairs: limit attempts per source address.
    if provider().store.incr(f"register:{_source()}", REGISTER_WINDOW) > REGISTER_ATTEMPTS:
        return _page("register.html", 429, ia=ia_id, form=form,
                     error="注册尝试过于频繁，请一小时后再试。 / Too many registration attempts: try again in an hour.")
    try:
        provider().accounts.register(form["name"], form["id_number"], form["phone"], request.form.get("password"),
                                     int(time.time()))
    except InvalidInput as exc:
        return _page("register.html", 400, ia=ia_id, form=form, error=str(exc), field=exc.field)
    except IdpError as exc:
        return _page("register.html", 400, ia=ia_id, form=form, error=str(exc))
    return redirect("/login?" + urlencode({"ia": ia_id, "registered": "1"}))


def stepup() -> Response:
    """Raise the session to real-person with the liveness adapter (step-up for ``acr_values``)."""
    ia_id = request.values.get("ia", "")
    ia, sso = load_ia(ia_id), current_session()
    if ia is None or sso is None:
        return error_page(EXPIRED)
    if request.method == "GET":
        return _page("stepup.html", ia=ia_id)
    check_csrf()
    p = provider()
    ia.stepup_tried = True
    save_ia(ia_id, ia)
    if request.form.get("decision") == "verify" and p.liveness.check(sso.sub, request.form.get("challenge", "")):
        account = p.accounts.get(sso.sub)
        level = "counter-verified" if account and account.assurance == "counter-verified" else "real-person"
        if acr_rank(level) > acr_rank(sso.acr):
            sso.acr = level
        sso.amr = list(dict.fromkeys([*sso.amr, "face"]))
        p.sessions.save(sso)
        p.audit.record("stepup", now=int(time.time()), sub=sso.sub, acr=sso.acr)
    return redirect("/authorize/resume?" + urlencode({"ia": ia_id}))


def _qr_data_uri(text: str) -> str:
    """The otpauth URI as a PNG QR code (a data: URI, allowed by the CSP's img-src) for authenticator apps."""
    import base64
    import io

    import qrcode

    buffer = io.BytesIO()
    qrcode.make(text, box_size=5, border=2).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _require_session():
    sso = current_session()
    return sso, (None if sso else redirect("/login"))


def account() -> Response:
    sso, out = _require_session()
    if out:
        return out
    p = provider()
    acct = p.accounts.get(sso.sub)
    if acct is None:
        return set_sid_cookie(redirect("/login"), None)
    id_number = p.accounts.id_number(acct)
    masked = id_number[:4] + "*" * 10 + id_number[-4:]
    sessions = p.sessions.of(acct.sub)
    names = {c: (p.clients.get(c).name if p.clients.get(c) else c) for s in sessions for c in s.clients}
    return _page("account.html", account=acct, masked=masked, current=sso, sessions=sessions, names=names,
                 when=lambda t: time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t)),
                 consents=p.consents.list(acct.sub), text=SCOPE_TEXT, totp=request.args.get("totp"),
                 disclosures=disclosures(p.audit, p.clients, acct.sub, limit=50))


def disclosures_export() -> Response:
    """The citizen's own copy of what apps received (PIPL art. 45), as a file to keep."""
    sso, out = _require_session()
    if out:
        return out
    p = provider()
    body = export(disclosures(p.audit, p.clients, sso.sub), now=int(time.time()))
    response = Response(json.dumps(body, ensure_ascii=False, indent=1), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="tongban-disclosures.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


def end_other_session() -> Response:
    """End one of the citizen's sessions (e.g. on a lost phone), with back-channel logout to its apps."""
    check_csrf()
    sso, out = _require_session()
    if out:
        return out
    p = provider()
    sid = request.form.get("sid", "")
    if sid in {s.sid for s in p.sessions.of(sso.sub)}:  # only the citizen's own sessions
        end_session(p, sid, p.backchannel_post)
    return redirect("/account" if sid != sso.sid else "/login")


def withdraw_consent() -> Response:
    check_csrf()
    sso, out = _require_session()
    if out:
        return out
    p = provider()
    client_id, scope = request.form.get("client_id", ""), request.form.get("scope") or None
    if p.consents.withdraw(sso.sub, client_id, scope):
        p.grants.revoke_client_families(sso.sub, client_id, int(time.time()))
        p.audit.record("consent_withdrawn", now=int(time.time()), sub=sso.sub, client_id=client_id, scope=scope)
    return redirect("/account")


def totp() -> Response:
    check_csrf()
    sso, out = _require_session()
    if out:
        return out
    p = provider()
    acct = p.accounts.get(sso.sub)
    action = request.form.get("action")
    if action == "begin":
        secret, uri = p.accounts.begin_totp(acct)
        return _page("totp.html", secret=secret, uri=uri, qr=_qr_data_uri(uri))
    if action == "confirm":
        try:
            p.accounts.confirm_totp(acct, request.form.get("otp"), int(time.time()))
        except InvalidInput as exc:
            return _page("totp.html", 400, error=str(exc))
        return redirect("/account?totp=on")
    if action == "disable":
        try:
            p.accounts.disable_totp(acct, int(time.time()), otp=request.form.get("otp"),
                                    password=request.form.get("password"), source=_source())
        except LockedOut as exc:
            response = redirect(f"/account?totp=wait&retry={exc.retry_after}")
            return response
        except InvalidInput:
            return redirect("/account?totp=wrong")
        return redirect("/account?totp=off")
    return error_page("未知操作。 / Unknown action.")


def logout() -> Response:
    """RP-initiated logout (OIDC RP-Initiated Logout 1.0 §2-3); asks the citizen unless the RP proved who it is."""
    p = provider()
    args = request.values
    hint, client_id = args.get("id_token_hint"), args.get("client_id")
    post_uri, state = args.get("post_logout_redirect_uri"), args.get("state")
    hint_claims = None
    if hint:
        try:
            hint_claims = jwt.decode(hint, KeySet.import_key_set(p.jwks()), algorithms=list(ID_TOKEN_ALGS)).claims
        except (JoseError, ValueError, TypeError):
            return error_page("id_token_hint 无效。 / The id_token_hint is not valid.")
        aud = hint_claims.get("aud")
        aud_id = aud[0] if isinstance(aud, list) and aud else aud
        if client_id and client_id != aud_id:
            return error_page("client_id 与 id_token_hint 不一致。 / client_id does not match the id_token_hint.")
        client_id = aud_id
    client = p.clients.get(client_id) if client_id else None
    if post_uri and (client is None or post_uri not in client.post_logout_redirect_uris):
        return error_page("post_logout_redirect_uri 未注册。 / The post_logout_redirect_uri is not registered.")
    sso = current_session()
    confirmed = request.method == "POST" and request.form.get("decision") == "logout"
    if confirmed:
        check_csrf()
    proven = hint_claims is not None and sso is not None and hint_claims.get("sid") == sso.sid
    if sso is not None and not (confirmed or proven):
        return _page("logout.html", params={k: v for k, v in args.items() if k != "csrf_token"})
    if sso is not None:
        end_session(p, sso.sid, p.backchannel_post)
    if post_uri:
        target = post_uri + (("&" if "?" in post_uri else "?") + urlencode({"state": state}) if state else "")
        return set_sid_cookie(redirect(target), None)
    return set_sid_cookie(_page("message.html", title="已退出 / Signed out",
                                message="您已安全退出。 / You have signed out."), None)
