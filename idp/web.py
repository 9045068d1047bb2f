"""The identity provider's HTTP edge: one Blueprint (``bp``) and its routing table.

Every route is listed here, once, in ``ROUTES`` (node-oidc-provider's habit: the endpoints in one table).
The views live in modules by job: the authorization endpoint and consent (``idp.authorize``), the
machine-facing endpoints (``idp.endpoints``), discovery (``idp.discovery``) and the citizen's pages
(``idp.pages``, ``idp.account_pages``). What they share (provider, SSO cookie, CSRF, parameter checks, interaction state) is
``idp.web_helpers``, which imports none of them: this module imports them all, none imports it.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response

from idp import account_pages, authorize, discovery, endpoints, pages, passkey_pages
from idp.web_helpers import csrf_token, provider

# (rule, methods, view); the Blueprint endpoint is the view's name ("idp.token", ...), as url_for expects.
ROUTES: list[tuple[str, list[str], Callable[[], Response]]] = [
    # OIDC Core §3.1.2, RFC 6749 §4.1.1; consent (PIPL art. 14, 29)
    ("/authorize", ["GET", "POST"], authorize.authorize),
    ("/authorize/resume", ["GET"], authorize.resume),
    ("/consent", ["POST"], authorize.consent),
    # OIDC Discovery §3, RFC 8414 §2; RFC 7517 §5
    ("/.well-known/openid-configuration", ["GET"], discovery.discovery),
    ("/jwks.json", ["GET"], endpoints.jwks),
    # RFC 6749 §3.2 (+ RFC 9449 §5), OIDC Core §5.3, RFC 7009, RFC 7662, RFC 9126
    ("/token", ["POST"], endpoints.token),
    ("/userinfo", ["GET", "POST"], endpoints.userinfo),
    ("/revoke", ["POST"], endpoints.revoke),
    ("/introspect", ["POST"], endpoints.introspect),
    ("/par", ["POST"], endpoints.par),
    # the citizen's pages; RP-initiated logout (OIDC RP-Initiated Logout 1.0 §2)
    ("/login", ["GET", "POST"], pages.login),
    # passkeys (WebAuthn Level 3 §7.1, §7.2): sign-in with one alone, add and remove on /account
    ("/login/passkey/options", ["POST"], passkey_pages.login_options),
    ("/login/passkey", ["POST"], passkey_pages.login_passkey),
    ("/account/passkeys/options", ["POST"], passkey_pages.register_options),
    ("/account/passkeys", ["POST"], passkey_pages.register_passkey),
    ("/account/passkeys/remove", ["POST"], passkey_pages.remove_passkey),
    ("/register", ["GET", "POST"], pages.register),
    ("/stepup", ["GET", "POST"], pages.stepup),
    ("/account", ["GET"], account_pages.account),
    ("/account/disclosures.json", ["GET"], account_pages.disclosures_export),
    ("/account/sessions/end", ["POST"], account_pages.end_other_session),
    ("/account/consents/withdraw", ["POST"], account_pages.withdraw_consent),
    ("/account/totp", ["POST"], account_pages.totp),
    ("/logout", ["GET", "POST"], pages.logout),
]

bp = Blueprint("idp", __name__, template_folder="templates", static_folder="static", static_url_path="/idp/static")
for _rule, _methods, _view in ROUTES:
    bp.add_url_rule(_rule, view_func=_view, methods=_methods)


@bp.app_context_processor
def _template_globals() -> dict:
    return {"csrf_token": csrf_token, "passkeys_on": lambda: provider().passkeys.rp is not None}
