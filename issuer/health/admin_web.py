"""``/admin``: the health authority's staff page (zh-CN first, with English), a Blueprint.

Staff sign in through the identity provider like any relying party: the confidential client
``tongban-admin`` (registered by ``tongban init``) runs the authorization code flow with PKCE S256
through Authlib's Flask client, then reads ``id_number`` from UserInfo. Only staff of the authority that
owns ``health-code`` (table ``authority_staff``, ``tongban authorities grant``) may search and change
statuses, and only of citizens of its region; everyone else gets 403. Every form carries a CSRF token
(OWASP synchroniser token, kept in the server-side session); the ID number travels in POST bodies only.

Sessions live on the server (``issuer.admin_sessions``): the cookie ``tb_admin`` holds only an opaque id,
made new at every sign-in. A session ends on sign-out, on the IdP's back-channel logout, after 30 minutes
idle and 8 hours after sign-in. Sign-in asks the IdP for ``prompt=login`` and checks the ID token's
``auth_time`` (a shared PC's open IdP session does not sign the next person in as the last officer), and
sign-out also ends the IdP session (RP-Initiated Logout 1.0 with ``id_token_hint``).

    GET  /admin/            the page (sign-in link, or search / status form / audit trail)
    GET  /admin/login       → the IdP;   GET /admin/callback   ← the IdP
    POST /admin/search      id_number                          (CSRF)
    POST /admin/status      id_number, colour, reason          (CSRF) → status set, codes re-issued
    POST /admin/logout                                         (CSRF) → the IdP's /logout → /admin/
    POST /admin/backchannel-logout   logout_token (OIDC Back-Channel Logout 1.0 §2.5) → 200, or 400 JSON
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from urllib.parse import urlencode

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
)

from credentials.catalogue import HEALTH_COLOURS
from credentials.words import colour_name
from issuer.admin_sessions import AdminSession, AdminSessions
from issuer.errors import IssuerError, NotAuthorisedError, ValidationError
from issuer.health.colours import parse_id_number
from issuer.health.service import HealthDesk
from issuer.logout_token import LogoutTokenError, verify_logout_token
from keys import csrf_token_matches
from storage.kv import KeyValueStore, MemoryStore

bp = Blueprint("admin", __name__, template_folder="templates", static_folder="static", static_url_path="/admin/static")
COLOURS = {c: colour_name(c) for c in HEALTH_COLOURS}  # credentials.words: the counter's and the wallet's words
SCOPE = "openid profile id_number"
COOKIE = "tb_admin"
STAFF_MAX_AGE = 300  # max_age sent with prompt=login: staff authenticate afresh for every /admin sign-in
AUTH_TIME_SKEW = 60  # seconds the IdP's auth_time may precede the sign-in's start (clock drift)
JTI_TTL = 900  # a logout token's jti is remembered longer than any token is accepted (logout_token.MAX_AGE)
_CST = dt.timezone(dt.timedelta(hours=8))


StaffNames = Callable[[str], str | None]  # an IdP ``sub`` → that person's name (None: not known)
Jwks = Callable[[], dict]  # the IdP's current JWKS (public keys)
STAFF_PREFIX = "staff:"


class _Admin:
    def __init__(self, desk: HealthDesk, base_url: Callable[[], str], credentials: Callable[[], dict],
                 staff_names: StaffNames, store: KeyValueStore, jwks: Jwks | None,
                 clock: Callable[[], float]):
        self.desk, self.base_url, self.credentials, self.staff_names = desk, base_url, credentials, staff_names
        self.sessions = AdminSessions(desk.engine, desk.vault)
        self.store, self.jwks, self.clock = store, jwks, clock
        self._client, self._key = None, None

    def now(self) -> int:
        return int(self.clock())

    def client(self):  # authlib FlaskOAuth2App
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

    def idp_jwks(self) -> dict:
        if self.jwks is not None:
            return self.jwks()
        return self.client().fetch_jwk_set()


def init_app(app: Flask, desk: HealthDesk, base_url: Callable[[], str], credentials: Callable[[], dict],
             staff_names: StaffNames = lambda _sub: None, *, store: KeyValueStore | None = None,
             jwks: Jwks | None = None, clock: Callable[[], float] = time.time) -> None:
    """``staff_names`` names the actor of each audit row (``staff:<sub>``); ``service`` asks the IdP's accounts.
    ``store`` remembers used logout-token ``jti``s (share it between processes: the IdP's key-value store);
    ``jwks`` gives the IdP's public keys (default: fetched from its ``jwks_uri``); ``clock`` drives the session
    timeouts."""
    app.extensions["tongban.admin"] = _Admin(desk, base_url, credentials, staff_names, store or MemoryStore(),
                                             jwks, clock)
    app.register_blueprint(bp)


def admin() -> _Admin:
    return current_app.extensions["tongban.admin"]


def _user() -> AdminSession | None:
    """This request's live staff session (looked up once per request), else None."""
    if "admin_session" not in g:
        g.admin_session = admin().sessions.get(request.cookies.get(COOKIE), admin().now())
    return g.admin_session


def _csrf() -> str:
    user = _user()
    return user.csrf if user is not None else ""


def _check_csrf() -> None:
    user, sent = _user(), request.form.get("csrf_token", "")
    if not csrf_token_matches(sent, user.csrf if user is not None else None):
        abort(Response("请求已失效，请返回重试。 / The form expired or was not sent from this site.", status=400))


def _is_staff(user: AdminSession | None) -> bool:
    return user is not None and admin().desk.staff_role_by_hash(user.subject, admin().desk.authority.id) is not None


def _page(http_status: int = 200, **values) -> Response:
    desk = admin().desk
    user = _user()
    html = render_template("admin/page.html", user=user, authority=desk.authority.name, csrf=_csrf(), colours=COLOURS,
                           forbidden=user is not None and not _is_staff(user), **values)
    return Response(html, status=http_status)


def _staff_or_403() -> AdminSession:
    user = _user()
    if user is None:
        abort(redirect("/admin/"))
    if not _is_staff(user):
        abort(_page(403))
    return user


def _actor_name(actor: str, names: dict[str, str | None]) -> str | None:
    """The staff member's name for an audit row's actor ``staff:<sub>`` (once per sub per page); None otherwise."""
    if not actor.startswith(STAFF_PREFIX):
        return None  # "cli:<os user>", "operator:<os user>", "system": shown as they are
    sub = actor[len(STAFF_PREFIX):]
    if sub not in names:
        user = _user()
        try:
            names[sub] = admin().staff_names(sub) or (user.name if user is not None and user.sub == sub else None) or None
        except Exception:  # a name is a nicety: the page shows the sub rather than fail
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


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/admin/")
def index() -> Response:
    user = _user()
    return _page(403 if user is not None and not _is_staff(user) else 200)


@bp.get("/admin")
def index_slash() -> Response:
    return redirect("/admin/")


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
    user = _user()
    if user is None:  # nothing to end here (expired or already signed out)
        response = redirect("/admin/")
    else:
        _check_csrf()
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
        return _no_store(jsonify(error=exc.reason, error_description=str(exc))), 400
    ended = a.sessions.end_idp(sid=found.sid, sub=found.sub)
    current_app.logger.info("admin: back-channel logout ended %d staff session(s)", ended)
    return _no_store(Response(status=200))


def _scoped(id_number: str) -> Response | None:
    """The refusal page for a citizen outside the authority's region, else None."""
    try:
        admin().desk.require_in_scope(id_number)
    except NotAuthorisedError as exc:
        return _page(403, message=f"无权操作 / Not allowed: {exc}", message_class="error")
    return None


@bp.post("/admin/search")
def search() -> Response:
    _check_csrf()
    _staff_or_403()
    try:
        id_number = parse_id_number(request.form.get("id_number", ""))
    except ValidationError as exc:
        return _page(400, message=f"身份证号码无效 / {exc}", message_class="error")
    return _scoped(id_number) or _citizen_page(id_number)


@bp.post("/admin/status")
def set_status() -> Response:
    _check_csrf()
    user = _staff_or_403()
    desk = admin().desk
    try:
        id_number = parse_id_number(request.form.get("id_number", ""))
        result = desk.set_status(id_number, request.form.get("colour", ""), request.form.get("reason", ""),
                                 actor=STAFF_PREFIX + user.sub, now=admin().now())
    except NotAuthorisedError as exc:
        return _page(403, message=f"无权操作 / Not allowed: {exc}", message_class="error")
    except IssuerError as exc:
        form_id = request.form.get("id_number", "").strip().upper()
        if len(form_id) == 18 and desk.status(form_id) is not None and _scoped(form_id) is None:
            return _citizen_page(form_id, f"未保存 / Not saved: {exc}", "error", 400)
        return _page(400, message=f"未保存 / Not saved: {exc}", message_class="error")
    return _citizen_page(id_number, f"已保存：{COLOURS[result.status.colour]}；重新签发 {len(result.reissued)} 个健康码 / "
                                    f"saved; {len(result.reissued)} code(s) re-issued")
