"""Flask application factory: one app, each package's Blueprint, security headers, errors as 4xx pages.

``create_app(settings)`` is used by ``tongban serve`` (development server) and by gunicorn
(``service.wsgi:app``). Packages are wired here; they never import ``service``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Flask, jsonify
from werkzeug.middleware.proxy_fix import ProxyFix

from issuer import vci
from service import production
from service.config import Settings
from service.errors import install_error_handlers
from service.headers import install_json_errors, install_security_headers
from storage.sql import make_engine


def create_app(settings: Settings | None = None, **idp_overrides: Any) -> Flask:
    from idp import Provider, bp, errors, redact
    from wallet import web as wallet_web

    redact.install()

    settings = settings or Settings.from_env()
    production.check_files(settings)  # TONGBAN_DEMO=0: no demo history, no http:// (before any key is read)
    production.check_passphrase_before_sealing(settings)  # a plaintext secret is about to be sealed: right passphrase?
    app = Flask("tongban")
    proxy = settings.proxy
    if proxy.hops:  # behind a reverse proxy: the client address (login throttling) comes from X-Forwarded-For
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxy.hops, x_proto=proxy.hops, x_host=proxy.hops)
    given = idp_overrides.pop("engine", None)
    engine = given or make_engine(settings.database_url, settings.timeouts)
    from issuer.cli import issuer_secret_for

    try:
        issuer_secret = issuer_secret_for(settings)  # read (and unsealed) once: the schema, issuer, nonces, desk
        _schema(settings, given, issuer_secret)
        provider = Provider.from_settings(replace(settings, migrate_at_start=False), engine=engine, **idp_overrides)
    except Exception:
        engine.dispose()  # a worker retrying its start (service.deferred) must not pile up pools
        raise
    production.check_accounts(settings, provider)  # TONGBAN_DEMO=0: no account with a documented password
    secure = settings.issuer_url.startswith("https://") or proxy.tls_terminated
    app.config.update(
        SECRET_KEY=provider.secrets.session_key,
        SESSION_COOKIE_NAME="tb_csrf",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.extensions["tongban.idp"] = provider
    app.register_blueprint(bp)
    issuer = _issuer(settings, provider, issuer_secret)
    app.extensions["tongban.issuer"] = issuer  # service.worker publishes and re-signs its lists
    nonces = c_nonces(provider, issuer_secret)
    app.extensions["tongban.vci"] = credential_issuer(settings, provider, issuer, nonces)
    app.register_blueprint(vci.bp)
    from service.counter_fetch import mount_fetch

    mount_fetch(app, provider, issuer, app.extensions["tongban.vci"].records)  # 免证办 (issuer.fetch)
    app.register_blueprint(wallet_web.bp)
    from service import wallet_unlock

    app.register_blueprint(wallet_unlock.bp)  # passkey unlock before a licence QR (idp.passkeys)
    _wire_health(app, settings, provider, issuer, nonces, issuer_secret)

    # -- counter and publication (verifier.web, issuer.publication): wired in service/counter_app.py --
    from service.counter_app import mount_counter

    mount_counter(app, settings)
    from service.oid4vp import mount_online_verifier

    mount_online_verifier(app, settings, provider)  # OpenID4VP: apps ask wallets for licences (after the counter)
    # -- end counter -------------------------------------------------------------------------------------

    _probes(app, settings, provider)
    install_security_headers(app, https=secure, no_store_paths=("/token", "/userinfo", "/introspect", "/par"))

    @app.errorhandler(errors.IdpError)
    def _idp_error(exc: errors.IdpError):
        return jsonify(error=exc.reason, error_description=str(exc)), 400

    install_json_errors(app)
    install_error_handlers(app, retry_after=settings.retry_after)
    _observe(app, settings)
    _audit(app, provider)
    return app


def _audit(app: Flask, provider: Any) -> None:
    """The issuer's events of each request into the audit chain when the request ends (``service.audit``)."""
    import time

    from flask import g

    from service.audit import AuditSink

    sink = AuditSink(provider.audit)
    app.extensions["tongban.audit"] = sink
    _listen(app, lambda kind, fields: sink.collect(g.setdefault("tongban_audit", []), kind, fields))

    @app.teardown_request
    def _flush(_exc: BaseException | None) -> None:
        pending = g.pop("tongban_audit", None)
        if pending:
            sink.flush(pending, lambda: int(time.time()))


def _observe(app: Flask, settings: Settings) -> None:
    """A request id in every log line and response, one access line per request (``service.logs``); Prometheus
    counts (``service.metrics``) of this app's requests and of the events its packages emit."""
    from flask import request

    from service import metrics as metrics_module
    from service.logs import RequestIds

    metrics = metrics_module.Metrics()
    app.extensions["tongban.metrics"] = metrics
    _listen(app, metrics.on_event)
    if settings.metrics_token:
        registry = metrics_module.exposition_registry(metrics, settings.data_dir,
                                                      multiprocess_mode=bool(settings.metrics_multiproc_dir))
        app.register_blueprint(metrics_module.metrics_blueprint(registry, settings.metrics_token))

    @app.before_request
    def _route() -> None:
        request.environ["tongban.route"] = request.url_rule.rule if request.url_rule else "unmatched"

    app.wsgi_app = RequestIds(app.wsgi_app, observe=metrics.observe_request)


def _listen(app: Flask, listener: Any) -> None:
    """Subscribe ``listener`` (``storage.events``) to the events of ``app``'s own requests (several apps share a
    test process; a command-line run has its own listeners). Held weakly: a dropped app unsubscribes."""
    import weakref

    from flask import current_app, has_app_context

    from storage import events

    ref = weakref.ref(app)

    def on_event(kind: str, fields: dict) -> None:
        mine = ref()
        if mine is not None and has_app_context() and current_app._get_current_object() is mine:
            listener(kind, fields)

    weakref.finalize(app, events.subscribe(on_event))


def _probes(app: Flask, settings: Settings, provider: Any) -> None:
    """``/healthz`` and ``/readyz`` (``service.probes``) over this app's stores, keys and published lists."""
    from service import checks
    from service.probes import Readiness, probes_blueprint

    readiness = Readiness({"database": checks.database(provider.engine), "cache": checks.key_value(provider.store),
                           "keys": checks.signing_keys(provider, settings.data_dir),
                           "status_lists": checks.status_lists(settings.data_dir)})
    app.extensions["tongban.readiness"] = readiness
    app.register_blueprint(probes_blueprint(readiness, retry_after=settings.retry_after))


def _schema(settings: Settings, engine: Any, issuer_secret: bytes) -> None:
    """Embedded default and development: migrate at every start (``service.schema``, one lock for all tables), on
    an engine without the service's statement timeout (the lock wait and DDL may take longer). Production
    (``TONGBAN_MIGRATE_AT_START=0``): `tongban migrate` ran before the workers; only check."""
    from service import schema

    batch = engine or make_engine(settings.database_url)
    try:
        if settings.migrate_at_start:
            from idp.secrets import secrets_for

            schema.migrate(batch, issuer_secret, secrets_for(settings))
        else:
            schema.require_current(batch)
    finally:
        if engine is None:
            batch.dispose()


def _issuer(settings: Settings, provider: Any, issuer_secret: bytes) -> Any:
    """One issuer on the provider's engine (one connection pool per database; ``_schema`` migrated every table and
    sealed older personal data, or found it done): the vault checks the issuer secret against the database."""
    from issuer.cli import hub_for
    from issuer.pii import open_vault
    from issuer.service import Issuer

    return Issuer(hub_for(settings), provider.engine, open_vault(provider.engine, issuer_secret))


def c_nonces(provider: Any, issuer_secret: bytes) -> Any:
    """One stateless c_nonce minter (``issuer.nonces``) for both nonce endpoints, keyed from the issuer secret."""
    from issuer.nonces import CNonces, nonce_key

    return CNonces(nonce_key(issuer_secret), provider.store)


def credential_issuer(settings: Settings, provider: Any, issuer: Any, nonces: Any) -> vci.CredentialIssuer:
    """The issuer's credential endpoint, authorised by this service's IdP through the ``principal_for`` port."""
    from issuer.records import Records
    from service.health import AccessTokens

    return vci.CredentialIssuer(settings.issuer_url, issuer, Records(issuer.engine, issuer.vault), provider.store,
                                AccessTokens(provider).principal_for, nonces)


def _wire_health(app: Flask, settings: Settings, provider: Any, issuer: Any, nonces: Any, issuer_secret: bytes) -> None:
    """Health codes and proxies (``issuer.health.web``) and the health authority's ``/admin`` pages."""
    from issuer.health import HealthDesk, HealthPolicy, admin_web, invitations_web
    from issuer.health import api as health_api
    from issuer.health import web as health_web
    from service.health import AccessTokens, AccountPeople, admin_client, staff_names

    desk = HealthDesk(issuer, issuer_secret,
                      policy=HealthPolicy(lifetime=settings.health_code_ttl), people=AccountPeople(provider))
    app.extensions["tongban.health"] = health_api.HealthWeb(desk, AccessTokens(provider), nonces,
                                                           lambda: provider.issuer, counters=provider.store)
    app.register_blueprint(health_web.bp)
    app.register_blueprint(invitations_web.bp)
    admin_web.init_app(app, desk, lambda: provider.issuer, lambda: admin_client(provider, settings.data_dir, provider.issuer),
                       staff_names(provider), store=provider.store, jwks=provider.jwks)
