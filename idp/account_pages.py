"""The citizen's account pages: who they are, their sessions (end one on a lost phone), the apps they consented
to (withdraw), what apps received (PIPL art. 45) and their authenticator app (TOTP, RFC 6238). zh-CN first.
``idp.web`` routes them."""

from __future__ import annotations

import base64
import io
import json
import time
from datetime import UTC, datetime, timedelta, timezone

import qrcode
from flask import Response, redirect, request

from idp.consents import SCOPE_TEXT
from idp.disclosures import disclosures, export
from idp.errors import InvalidInput, LockedOut
from idp.logout import end_session
from idp.sessions import SsoSession
from idp.web_helpers import check_csrf, current_session, error_page, page, provider, set_sid_cookie, source_address


def _qr_data_uri(text: str) -> str:
    """The otpauth URI as a PNG QR code (a data: URI, allowed by the CSP's img-src) for authenticator apps."""
    buffer = io.BytesIO()
    qrcode.make(text, box_size=5, border=2).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


BEIJING = timezone(timedelta(hours=8), "北京时间")  # China Standard Time: UTC+8 all year, no daylight saving


def beijing_time(t: int | None) -> str:
    """A time as people in China read it, with its zone said: ``2026-11-29 17:20 北京时间 (UTC+8)``."""
    if t is None:
        return "—"
    return datetime.fromtimestamp(t, UTC).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M 北京时间 (UTC+8)")


def _require_session() -> tuple[SsoSession | None, Response | None]:
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
    return page("account.html", account=acct, masked=masked, current=sso, sessions=sessions, names=names,
                 when=beijing_time, passkeys=p.passkeys.store.of(acct.sub),
                 passkey=request.args.get("passkey"),
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
        return page("totp.html", secret=secret, uri=uri, qr=_qr_data_uri(uri))
    if action == "confirm":
        try:
            p.accounts.confirm_totp(acct, request.form.get("otp"), int(time.time()))
        except InvalidInput as exc:
            return page("totp.html", 400, error=str(exc))
        return redirect("/account?totp=on")
    if action == "disable":
        try:
            p.accounts.disable_totp(acct, int(time.time()), otp=request.form.get("otp"),
                                    password=request.form.get("password"), source=source_address())
        except LockedOut as exc:
            response = redirect(f"/account?totp=wait&retry={exc.retry_after}")
            return response
        except InvalidInput:
            return redirect("/account?totp=wrong")
        return redirect("/account?totp=off")
    return error_page("未知操作。 / Unknown action.")
