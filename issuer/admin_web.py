"""``/admin``: the health authority's staff page (zh-CN first, with English), a Blueprint.

Staff sign in through the identity provider like any relying party: the confidential client
``tongban-admin`` (registered by ``tongban init``) runs the authorization code flow with PKCE S256
through Authlib's Flask client, then reads ``id_number`` from UserInfo. Only the keyed hash of that
number (and the name and ``sub``) is kept in the session cookie. Only staff of the authority that owns
``health-code`` (table ``authority_staff``, ``tongban authorities grant``) may search and change
statuses; everyone else gets 403. Every form carries a CSRF token (OWASP synchroniser token); the ID
number travels in POST bodies only, never in URLs.

    GET  /admin/            the page (sign-in link, or search / status form / audit trail)
    GET  /admin/login       → the IdP;   GET /admin/callback   ← the IdP
    POST /admin/search      id_number                          (CSRF)
    POST /admin/status      id_number, colour, reason          (CSRF) → status set, codes re-issued
    POST /admin/logout                                         (CSRF)
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, Response, abort, current_app, redirect, render_template, request, session

from issuer.errors import IssuerError, ValidationError
from issuer.health import parse_id_number
from issuer.health_service import HealthDesk

bp = Blueprint("admin", __name__, template_folder="templates")
COLOURS = {"green": "绿码 / green", "yellow": "黄码 / yellow", "red": "红码 / red"}
SCOPE = "openid profile id_number"
SESSION_MAX_AGE = 8 * 3600  # a staff sign-in lasts one working day
_CST = dt.timezone(dt.timedelta(hours=8))


StaffNames = Callable[[str], str | None]  # an IdP ``sub`` → that person's name (None: not known)
STAFF_PREFIX = "staff:"


class _Admin:
    def __init__(self, desk: HealthDesk, base_url: Callable[[], str], credentials: Callable[[], dict],
                 staff_names: StaffNames):
        self.desk, self.base_url, self.credentials, self.staff_names = desk, base_url, credentials, staff_names
        self._client, self._key = None, None

    def client(self):  # noqa: ANN201 - authlib FlaskOAuth2App
        """Authlib's client for the current base URL and registration (re-made when either changes)."""
        base, creds = self.base_url(), self.credentials()
        key = (base, creds["client_id"], creds["client_secret"])
        if key != self._key:
            oauth = OAuth(current_app._get_current_object())
            self._client = oauth.register(
                "tongban", client_id=creds["client_id"], client_secret=creds["client_secret"],
                server_metadata_url=base + "/.well-known/openid-configuration",
                client_kwargs={"scope": SCOPE, "code_challenge_method": "S256"},
            )
            self._key = key
        return self._client


def init_app(app: Flask, desk: HealthDesk, base_url: Callable[[], str], credentials: Callable[[], dict],
             staff_names: StaffNames = lambda _sub: None) -> None:
    """``staff_names`` names the actor of each audit row (``staff:<sub>``); ``service`` asks the IdP's accounts."""
    app.extensions["tongban.admin"] = _Admin(desk, base_url, credentials, staff_names)
    app.register_blueprint(bp)


def admin() -> _Admin:
    return current_app.extensions["tongban.admin"]


def _csrf() -> str:
    if "admin_csrf" not in session:
        session["admin_csrf"] = secrets.token_urlsafe(24)
    return session["admin_csrf"]


def _check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    if not session.get("admin_csrf") or not secrets.compare_digest(str(sent), session["admin_csrf"]):
        abort(Response("请求已失效，请返回重试。 / The form expired or was not sent from this site.", status=400))


def _user() -> dict | None:
    user = session.get("admin_user")
    if user is not None and not 0 <= int(dt.datetime.now(dt.UTC).timestamp()) - user.get("at", 0) < SESSION_MAX_AGE:
        session.pop("admin_user", None)
        return None
    return user


def _is_staff(user: dict | None) -> bool:
    return user is not None and admin().desk.staff_role_by_hash(user["subject"], admin().desk.authority.id) is not None


def _page(http_status: int = 200, **values) -> Response:
    desk = admin().desk
    user = _user()
    html = render_template("admin/page.html", user=user, authority=desk.authority.name, csrf=_csrf(), colours=COLOURS,
                           forbidden=user is not None and not _is_staff(user), **values)
    return Response(html, status=http_status)


def _staff_or_403() -> dict:
    user = _user()
    if user is None:
        abort(redirect("/admin/"))
    if not _is_staff(user):
        abort(_page(403))
    return user


def _actor_name(actor: str, names: dict[str, str | None]) -> str | None:
    """The staff member's name for an audit row's actor ``staff:<sub>`` (once per sub per page); None otherwise."""
    if not actor.startswith(STAFF_PREFIX):
        return None  # "cli:<os user>", "system": shown as they are
    sub = actor[len(STAFF_PREFIX):]
    if sub not in names:
        user = _user() or {}
        try:
            names[sub] = admin().staff_names(sub) or (user.get("name") if user.get("sub") == sub else None) or None
        except Exception:  # noqa: BLE001 - a name is a nicety: the page shows the sub rather than fail
            current_app.logger.exception("admin: could not look up the name of staff %s", sub)
            names[sub] = None
    return names[sub]


def _citizen_page(id_number: str, message: str = "", message_class: str = "ok", status_code: int = 200) -> Response:
    desk = admin().desk
    names: dict[str, str | None] = {}
    audit = [{**e.to_json(), "when": dt.datetime.fromtimestamp(e.at, _CST).strftime("%Y-%m-%d %H:%M:%S"),
              "actor_name": _actor_name(e.actor, names)}
             for e in desk.audit(id_number)]
    return _page(status_code, id_number=id_number, masked=id_number[:6] + "********" + id_number[-4:],
                 status=desk.status(id_number), audit=audit, message=message, message_class=message_class)


@bp.get("/admin/")
def index() -> Response:
    user = _user()
    return _page(403 if user is not None and not _is_staff(user) else 200)


@bp.get("/admin")
def index_slash() -> Response:
    return redirect("/admin/")


@bp.get("/admin/login")
def login() -> Response:
    return admin().client().authorize_redirect(admin().base_url() + "/admin/callback")


@bp.get("/admin/callback")
def callback() -> Response:
    client = admin().client()
    try:
        token = client.authorize_access_token()
        info = client.userinfo(token=token)
    except OAuthError as exc:
        return Response(f"登录失败 / Sign-in failed: {exc.error}", status=400, mimetype="text/plain")
    if info.get("sub") != token.get("userinfo", {}).get("sub"):  # OIDC Core §5.3.2: the ID token's subject
        return Response("登录失败 / Sign-in failed: subject mismatch", status=400, mimetype="text/plain")
    id_number = info.get("id_number")
    session.pop("admin_user", None)
    session["admin_user"] = {
        "sub": info["sub"], "name": info.get("name", ""),
        "subject": admin().desk.hash(id_number) if isinstance(id_number, str) else "",
        "at": int(dt.datetime.now(dt.UTC).timestamp()),
    }
    return redirect("/admin/")


@bp.post("/admin/logout")
def logout() -> Response:
    _check_csrf()
    session.pop("admin_user", None)
    return redirect("/admin/")


@bp.post("/admin/search")
def search() -> Response:
    _check_csrf()
    _staff_or_403()
    try:
        id_number = parse_id_number(request.form.get("id_number", ""))
    except ValidationError as exc:
        return _page(400, message=f"身份证号码无效 / {exc}", message_class="error")
    return _citizen_page(id_number)


@bp.post("/admin/status")
def set_status() -> Response:
    _check_csrf()
    user = _staff_or_403()
    desk = admin().desk
    try:
        id_number = parse_id_number(request.form.get("id_number", ""))
        result = desk.set_status(id_number, request.form.get("colour", ""), request.form.get("reason", ""),
                                 actor=STAFF_PREFIX + user["sub"], now=int(dt.datetime.now(dt.UTC).timestamp()))
    except IssuerError as exc:
        form_id = request.form.get("id_number", "")
        if len(form_id) == 18 and desk.status(form_id.upper()) is not None:
            return _citizen_page(form_id.upper(), f"未保存 / Not saved: {exc}", "error", 400)
        return _page(400, message=f"未保存 / Not saved: {exc}", message_class="error")
    return _citizen_page(id_number, f"已保存：{COLOURS[result.status.colour]}；重新签发 {len(result.reissued)} 个健康码 / "
                                    f"saved; {len(result.reissued)} code(s) re-issued")
