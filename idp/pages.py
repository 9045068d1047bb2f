"""The citizen's sign-in pages: sign-in, registration, step-up (real-person, for ``acr_values``) and logout
(OIDC RP-Initiated Logout 1.0). zh-CN first. The account pages are ``idp.account_pages``; ``idp.web`` routes
them all."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from flask import Response, redirect, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.accounts import acr_rank
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
    page,
    provider,
    save_ia,
    set_sid_cookie,
    sign_in_as,
    source_address,
)

REGISTER_ATTEMPTS = 10  # per source address per hour
REGISTER_WINDOW = 3600


def login() -> Response:
    ia_id = request.values.get("ia", "")
    if request.method == "GET":
        ia = load_ia(ia_id)
        hint = open_hint(ia.login_hint) if ia else ""
        return page("login.html", ia=ia_id, username=hint, registered=request.args.get("registered") == "1")
    check_csrf()
    p, now = provider(), int(time.time())
    username = request.form.get("username", "")
    try:
        account = p.accounts.authenticate(username, request.form.get("password"), request.form.get("otp"),
                                          source_address(), now)
    except SecondFactorRequired as exc:
        return page("login.html", 401, ia=ia_id, username=username, error=str(exc), need_otp=True)
    except LockedOut as exc:
        response = page("login.html", 429, ia=ia_id, username=username, error=str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except IdpError as exc:
        return page("login.html", 401, ia=ia_id, username=username, error=str(exc))
    amr = ["pwd", "otp"] if account.totp_enabled else ["pwd"]
    target, sid = sign_in_as(account.sub, amr, ia_id, now)
    return set_sid_cookie(redirect(target), sid)


def register() -> Response:
    ia_id = request.values.get("ia", "")
    if request.method == "GET":
        return page("register.html", ia=ia_id, form={})
    check_csrf()
    form = {k: request.form.get(k, "") for k in ("name", "id_number", "phone")}
    # The registry answer is an oracle for name/ID pairs: limit attempts per source address.
    if provider().store.incr(f"register:{source_address()}", REGISTER_WINDOW) > REGISTER_ATTEMPTS:
        return page("register.html", 429, ia=ia_id, form=form,
                     error="注册尝试过于频繁，请一小时后再试。 / Too many registration attempts: try again in an hour.")
    try:
        provider().accounts.register(form["name"], form["id_number"], form["phone"], request.form.get("password"),
                                     int(time.time()))
    except InvalidInput as exc:
        return page("register.html", 400, ia=ia_id, form=form, error=str(exc), field=exc.field)
    except IdpError as exc:
        return page("register.html", 400, ia=ia_id, form=form, error=str(exc))
    return redirect("/login?" + urlencode({"ia": ia_id, "registered": "1"}))


def stepup() -> Response:
    """Raise the session to real-person with the liveness adapter (step-up for ``acr_values``)."""
    ia_id = request.values.get("ia", "")
    ia, sso = load_ia(ia_id), current_session()
    if ia is None or sso is None:
        return error_page(EXPIRED)
    if request.method == "GET":
        return page("stepup.html", ia=ia_id)
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
        return page("logout.html", params={k: v for k, v in args.items() if k != "csrf_token"})
    if sso is not None:
        end_session(p, sso.sid, p.backchannel_post)
    if post_uri:
        target = post_uri + (("&" if "?" in post_uri else "?") + urlencode({"state": state}) if state else "")
        return set_sid_cookie(redirect(target), None)
    return set_sid_cookie(page("message.html", title="已退出 / Signed out",
                                message="您已安全退出。 / You have signed out."), None)
