"""Presentations to apps (OpenID4VP 1.0, ``verifier.online``), wired: the hub's verifier service for registered
apps, ``tongban clients add --verifier``, and mounting the demo app (``service.demo_app``).

The pieces come from elsewhere and meet here only: the apps' secrets are the identity provider's (an app is a
confidential OIDC client that ``--verifier`` also registers as a verifier, with a purpose and a request-signing
key), the trust list is the counter cache's and the status lists are the hub's published ones, verified at each
answer (``service.counter_app``), the transactions live in the key-value store (Redis when configured).
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from typing import Any

import click
from flask import Flask

from keys import KeyRingStore, Layout
from service.config import Settings
from verifier.online import OnlineError, OnlineVerifier, Transactions, VerifierRegistry
from verifier.online import web as online_web


def registry_for(settings: Settings) -> VerifierRegistry:
    key_dir = Layout(settings.data_dir).keys
    return VerifierRegistry(settings.data_dir, KeyRingStore(key_dir, settings.key_policy(key_dir)))


def mount_online_verifier(app: Flask, settings: Settings, provider: Any) -> OnlineVerifier:
    """``/verifier/*`` (``verifier.online.web``) and, in demo mode, ``/demo-app/`` registered as a verifier."""
    cache, published = app.extensions["tongban.counter"]
    registry = registry_for(settings)

    def authenticate(client_id: str, secret: str) -> bool:
        client = provider.clients.get(client_id)
        return client is not None and client.check_client_secret(secret) and registry.get(client_id) is not None

    online = OnlineVerifier(settings.issuer_url, registry, Transactions(provider.store), cache.trust_list, published,
                            authenticate)
    app.extensions["tongban.oid4vp"] = online
    app.register_blueprint(online_web.bp)
    if settings.demo:
        from service import demo_app

        if registry.get(demo_app.DEMO_CLIENT_ID) is None:
            registry.add(demo_app.DEMO_CLIENT_ID, name=demo_app.DEMO_NAME, purpose=demo_app.DEMO_PURPOSE,
                         redirect_uri=settings.issuer_url + demo_app.PATH, now=int(time.time()))
        app.register_blueprint(demo_app.bp)
    return online


def attach_clients_verifier(main: click.Group, settings_from_env: Any) -> None:
    """``tongban clients add --verifier --purpose WORDS``: the IdP's registration (a confidential client: the
    app authenticates its calls to ``/verifier/requests`` with its secret), then the verifier registration."""
    add = main.commands["clients"].commands["add"]
    add.params += [
        click.Option(["--verifier"], is_flag=True,
                     help="also register the app as an OpenID4VP verifier: it may ask citizens' wallets for licences"),
        click.Option(["--purpose"], help="with --verifier: why the app asks, in words the wallet shows (≤ 200 chars)"),
    ]
    inner = add.callback

    def callback(verifier: bool, purpose: str | None, **options: Any) -> None:
        if not verifier:
            if purpose:
                raise click.UsageError("--purpose goes with --verifier")
            return inner(**options)
        if options.get("public"):
            raise click.UsageError("a verifier is a confidential client (it authenticates with its secret): drop --public")
        if not purpose or not purpose.strip():
            raise click.UsageError("--verifier needs --purpose: why the app asks, in words the citizen reads")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            inner(**options)
        registered = json.loads(out.getvalue())
        settings = settings_from_env(options.get("data_dir"))
        try:
            entry = registry_for(settings).add(registered["client_id"], name=options["name"], purpose=purpose,
                                               redirect_uri=options["redirect_uris"][0], now=int(time.time()))
        except OnlineError as exc:
            raise click.UsageError(str(exc)) from exc
        registered["verifier"] = {"purpose": entry.purpose, "requests": settings.issuer_url + "/verifier/requests",
                                  "wallet_keys": settings.issuer_url + "/verifier/clients/" + entry.client_id}
        click.echo(json.dumps(registered, ensure_ascii=False, indent=1))

    add.callback = callback
