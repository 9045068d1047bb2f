"""``/admin``: the health authority's staff page (zh-CN first, with English), a Blueprint.

Staff sign in through the identity provider like any relying party (``issuer.health.admin_sign_in``). Only
staff of the authority that owns ``health-code`` (table ``authority_staff``, ``tongban authorities grant``) may
search and change statuses, and only of citizens of its region; everyone else gets 403. Every form carries a CSRF
token (OWASP synchroniser token, kept in the server-side session); the ID number travels in POST bodies only.

Sessions live on the server (``issuer.admin_sessions``) and end on sign-out, on the IdP's back-channel logout,
after 30 minutes idle and 8 hours after sign-in.

    GET  /admin/            the page (sign-in link, or search / status form / audit trail)
    POST /admin/search      id_number                          (CSRF)
    POST /admin/status      id_number, colour, reason          (CSRF) → status set, codes re-issued
    (sign-in and sign-out: ``issuer.health.admin_sign_in``)
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from flask import Blueprint, Flask, Response, abort, current_app, redirect, render_template, request

from credentials.catalogue import HEALTH_COLOURS
from credentials.words import colour_name
from issuer.admin_sessions import AdminSession
from issuer.errors import IssuerError, NotAuthorisedError, ValidationError
from issuer.health import admin_sign_in
from issuer.health.admin_context import (
    STAFF_PREFIX,
    AdminContext,
    Jwks,
    StaffNames,
    admin,
    check_csrf,
    csrf,
    current_user,
)
from issuer.health.colours import parse_id_number
from issuer.health.service import HealthDesk
from storage.kv import KeyValueStore, MemoryStore

bp = Blueprint("admin", __name__, template_folder="templates", static_folder="static", static_url_path="/admin/static")
COLOURS = {c: colour_name(c) for c in HEALTH_COLOURS}  # credentials.words: the counter's and the wallet's words
_CST = dt.timezone(dt.timedelta(hours=8))


def init_app(app: Flask, desk: HealthDesk, base_url: Callable[[], str], credentials: Callable[[], dict],
             staff_names: StaffNames = lambda _sub: None, *, store: KeyValueStore | None = None,
             jwks: Jwks | None = None, clock: Callable[[], float] = time.time) -> None:
    """``staff_names`` names the actor of each audit row (``staff:<sub>``); ``service`` asks the IdP's accounts.
    ``store`` remembers used logout-token ``jti``s (share it between processes: the IdP's key-value store);
    ``jwks`` gives the IdP's public keys (default: fetched from its ``jwks_uri``); ``clock`` drives the session
    timeouts."""
    app.extensions["tongban.admin"] = AdminContext(desk, base_url, credentials, staff_names, store or MemoryStore(),
                                                   jwks, clock)
    app.register_blueprint(bp)
    app.register_blueprint(admin_sign_in.bp)


def _is_staff(user: AdminSession | None) -> bool:
    return user is not None and admin().desk.staff_role_by_hash(user.subject, admin().desk.authority.id) is not None


def _page(http_status: int = 200, **values) -> Response:
    desk = admin().desk
    user = current_user()
    html = render_template("admin/page.html", user=user, authority=desk.authority.name, csrf=csrf(), colours=COLOURS,
                           forbidden=user is not None and not _is_staff(user), **values)
    return Response(html, status=http_status)


def _staff_or_403() -> AdminSession:
    user = current_user()
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
        user = current_user()
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
    user = current_user()
    return _page(403 if user is not None and not _is_staff(user) else 200)


@bp.get("/admin")
def index_slash() -> Response:
    return redirect("/admin/")


def _scoped(id_number: str) -> Response | None:
    """The refusal page for a citizen outside the authority's region, else None."""
    try:
        admin().desk.require_in_scope(id_number)
    except NotAuthorisedError as exc:
        return _page(403, message=f"无权操作 / Not allowed: {exc}", message_class="error")
    return None


@bp.post("/admin/search")
def search() -> Response:
    check_csrf()
    _staff_or_403()
    try:
        id_number = parse_id_number(request.form.get("id_number", ""))
    except ValidationError as exc:
        return _page(400, message=f"身份证号码无效 / {exc}", message_class="error")
    return _scoped(id_number) or _citizen_page(id_number)


@bp.post("/admin/status")
def set_status() -> Response:
    check_csrf()
    user = _staff_or_403()
    desk = admin().desk
    try:
        id_number = parse_id_number(request.form.get("id_number", ""))
        result = desk.set_status(id_number, request.form.get("colour", ""), request.form.get("reason", ""),
                                 actor=STAFF_PREFIX + user.sub, now=admin().now())
    except NotAuthorisedError as exc:
        return _page(403, message=f"无权操作 / Not allowed: {exc}", message_class="error")
    except IssuerError as exc:
        try:  # the same citizen's page again (search's), with what was wrong, when the number is one in scope
            form_id = parse_id_number(request.form.get("id_number", ""))
        except ValidationError:
            form_id = None
        if form_id is not None and _scoped(form_id) is None:
            return _citizen_page(form_id, f"未保存 / Not saved: {exc}", "error", 400)
        return _page(400, message=f"未保存 / Not saved: {exc}", message_class="error")
    return _citizen_page(id_number, f"已保存：{COLOURS[result.status.colour]}；重新签发 {len(result.reissued)} 个健康码 / "
                                    f"saved; {len(result.reissued)} code(s) re-issued")
