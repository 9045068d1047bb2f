"""What the ``/admin`` blueprints share: the wiring (``AdminContext``), the signed-in staff session of this
request and the CSRF check (OWASP synchroniser token, kept in the server-side session).

The blueprints are ``issuer.health.admin_web`` (the page, search, status changes) and
``issuer.health.admin_sign_in`` (sign-in and sign-out through the identity provider).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from authlib.integrations.flask_client import OAuth
from flask import Response, abort, current_app, g, request

from issuer.admin_sessions import AdminSession, AdminSessions
from issuer.health.service import HealthDesk
from keys import csrf_token_matches
from storage.kv import KeyValueStore

SCOPE = "openid profile id_number"
COOKIE = "tb_admin"
STAFF_PREFIX = "staff:"
StaffNames = Callable[[str], str | None]  # an IdP ``sub`` → that person's name (None: not known)
Jwks = Callable[[], dict]  # the IdP's current JWKS (public keys)


class AdminContext:
    """What the /admin endpoints need, wired by ``admin_web.init_app``."""

    def __init__(self, desk: HealthDesk, base_url: Callable[[], str], credentials: Callable[[], dict],
                 staff_names: StaffNames, store: KeyValueStore, jwks: Jwks | None,
                 clock: Callable[[], float] = time.time):
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


def admin() -> AdminContext:
    return current_app.extensions["tongban.admin"]


def current_user() -> AdminSession | None:
    """This request's live staff session (looked up once per request), else None."""
    if "admin_session" not in g:
        g.admin_session = admin().sessions.get(request.cookies.get(COOKIE), admin().now())
    return g.admin_session


def csrf() -> str:
    user = current_user()
    return user.csrf if user is not None else ""


def check_csrf() -> None:
    user, sent = current_user(), request.form.get("csrf_token", "")
    if not csrf_token_matches(sent, user.csrf if user is not None else None):
        abort(Response("请求已失效，请返回重试。 / The form expired or was not sent from this site.", status=400))


def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


__all__ = ["COOKIE", "SCOPE", "STAFF_PREFIX", "AdminContext", "Jwks", "StaffNames", "admin", "check_csrf", "csrf",
           "current_user", "no_store"]
