"""Wiring of health codes to the identity provider: the ports ``issuer`` defines, implemented with ``idp``.

* ``AccountPeople`` — ``issuer.health.People``: a registered citizen by ID number or phone.
* ``AccessTokens`` — ``issuer.health.web.AccessTokens``: an IdP access token → ``Principal``.
* ``staff_names`` — ``issuer.health.admin_context.StaffNames``: an IdP ``sub`` → the name shown in ``/admin``'s audit trail.
* ``init_step`` — registers the confidential client ``tongban-admin`` for ``/admin`` (credentials kept in
  ``<data>/admin-client.json``, 0600; with its back-channel logout URI, so the IdP's logouts end staff
  sessions) and the demo health officer (an IdP account, staff of ``bj-health``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from issuer.health import Person
from issuer.ports import ISSUER_SCOPE, Principal, TokenRefused, TokenRequest
from keys.layout import Layout

ADMIN_CLIENT_NAME = "tongban-admin"
ADMIN_DISPLAY_NAME = "健康码管理后台 / Health-code administration"  # what the consent page shows
DEMO_OFFICER = {"name": "王芳", "id_number": "310104199206157893", "phone": "13900139000",
                "password": "tongban-health-2024"}  # the documented demo password


class AccountPeople:
    def __init__(self, provider: Any):  # idp.Provider
        self.provider = provider

    def find(self, username: str) -> Person | None:
        account = self.provider.accounts.find(username) if isinstance(username, str) else None
        if account is None:
            return None
        return Person(self.provider.accounts.id_number(account), account.name, account.phone)


def staff_names(provider: Any):  # -> issuer.health.admin_context.StaffNames
    """``/admin``'s audit trail: an IdP ``sub`` → the account's real name."""

    def name(sub: str) -> str | None:
        account = provider.accounts.get(sub) if isinstance(sub, str) and sub else None
        return account.name if account is not None else None

    return name


class AccessTokens:
    """``issuer.ports.AccessTokens`` over the IdP: the one place a token becomes a principal at ``/issuer/*``.

    * Audience (RFC 8707's concern, by scope): the token must carry ``licences`` and come from a first-party
      client; ``clients add`` cannot register that scope, so no ordinary app's token reaches the issuer,
      whatever else (``id_number``) the citizen let it see.
    * Proof of possession (RFC 9449 §7): a DPoP-bound token is accepted only as ``Authorization: DPoP`` with a
      fresh proof for this method and URL, signed by the bound key and carrying the token's ``ath``; a bound
      token sent as Bearer, or an unbound one sent as DPoP, is refused (as ``/userinfo`` does).
    """

    def __init__(self, provider: Any, clock: Any = time.time):
        self.provider, self.clock = provider, clock

    def principal_for(self, request: TokenRequest) -> Principal:
        scheme, _, token = (request.authorization or "").partition(" ")
        scheme, token = scheme.lower(), token.strip()
        if scheme not in ("bearer", "dpop") or not token or len(token) > 512:
            raise TokenRefused(401, "invalid_token", "send the access token as Authorization: DPoP (or Bearer)")
        found = self.provider.grants.access_token(token)
        if found is None or found.revoked or found.is_expired():
            raise TokenRefused(401, "invalid_token", "the access token is unknown, expired or revoked")
        self._check_binding(found, scheme, token, request)
        client = self.provider.clients.get(found.client_id)
        if client is None or not client.first_party:
            raise TokenRefused(401, "invalid_token", "this access token was not issued for the issuer")
        if ISSUER_SCOPE not in found.scope.split():
            raise TokenRefused(403, "insufficient_scope", f"the access token lacks the {ISSUER_SCOPE} scope")
        account = self.provider.accounts.get(found.sub)
        if account is None:
            raise TokenRefused(401, "invalid_token", "the account behind this token no longer exists")
        return Principal(found.sub, found.client_id, found.scope, self.provider.accounts.id_number(account))

    def _check_binding(self, found: Any, scheme: str, token: str, request: TokenRequest) -> None:
        from idp.dpop import InvalidDpopProof, replay_guard, verify_proof

        if not found.jkt:
            if scheme == "dpop":
                raise TokenRefused(401, "invalid_token", "this access token is not DPoP-bound: use Bearer")
            return
        if scheme != "dpop":
            raise TokenRefused(401, "invalid_token", "this access token is DPoP-bound: use the DPoP scheme")
        store = self.provider.store
        try:
            jkt = verify_proof(request.dpop, method=request.method, url=self.provider.issuer + request.path,
                               now=int(self.clock()), first_use=replay_guard(store),
                               access_token=token)
        except InvalidDpopProof as exc:
            raise TokenRefused(401, "invalid_token", str(exc)) from exc
        if jkt != found.jkt:
            raise TokenRefused(401, "invalid_token", "the DPoP proof key does not match the token")


def people_from(settings: Any) -> AccountPeople:
    from idp import Provider

    return AccountPeople(Provider.from_settings(settings, load_keys=False))


def admin_client(provider: Any, data_dir: Path, base_url: str) -> dict:
    """The ``tongban-admin`` client's id and secret for ``base_url``: registered on first use (and again when
    the service's URL changed), then read from ``<data>/admin-client.json``."""
    path = Layout(data_dir).admin_client
    redirect_uri = base_url + "/admin/callback"
    backchannel_uri = base_url + "/admin/backchannel-logout"
    if path.exists():
        saved = json.loads(path.read_text())
        client = provider.clients.get(saved.get("client_id"))
        if (client is not None and redirect_uri in client.redirect_uris
                and client.backchannel_logout_uri == backchannel_uri):  # older registrations had none: re-register
            if client.name != ADMIN_DISPLAY_NAME:  # registered under its technical name before it had a display name
                provider.clients.rename(client.client_id, ADMIN_DISPLAY_NAME)
            return saved
    out = provider.clients.add(ADMIN_DISPLAY_NAME, [redirect_uri], scopes=["openid", "profile", "id_number"],
                               post_logout_redirect_uris=[base_url + "/admin/"],
                               backchannel_logout_uri=backchannel_uri,  # the IdP's logouts end /admin sessions
                               subject_type="public")  # first party: staff are matched by their IdP sub
    saved = {"client_id": out["client_id"], "client_secret": out["client_secret"]}
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(saved))
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return saved


def init_step(settings: Any, echo: Any) -> None:
    """Idempotent: the admin client, the demo health officer's account and staff grant."""
    from idp import Provider
    from issuer.cli import desk_for

    provider = Provider.from_settings(settings, load_keys=False)
    client = admin_client(provider, settings.data_dir, settings.issuer_url)
    echo(f"admin: client {ADMIN_CLIENT_NAME} ({client['client_id']}) for {settings.issuer_url}/admin/")
    if not settings.demo:
        return  # staff are granted with `tongban authorities grant` in production
    o = DEMO_OFFICER
    if provider.accounts.find(o["id_number"]) is None:
        provider.accounts.register(o["name"], o["id_number"], o["phone"], o["password"], int(time.time()))
        echo(f"admin: demo health officer {o['name']} — username {o['id_number']}, password {o['password']}")
    desk = desk_for(settings, AccountPeople(provider))
    if desk.grant_staff(o["id_number"], desk.authority.id, "officer", int(time.time())):
        echo(f"admin: {o['name']} is an officer of {desk.authority.id}")
