"""Composition of the ``tongban`` command: each package contributes its commands and init steps here."""

from __future__ import annotations

from idp import cli as idp_cli
from issuer import cli as issuer_cli
from service import commands, offer_cli, production
from service.audit_cli import audit_group
from service.cli import INIT_STEPS, main, register
from service.config import ConfigError, Settings
from service.counter_app import serve_counter
from service.serve import serve
from service.worker import worker_command
from verifier import cli as verifier_cli
from verifier.cache import HttpSource
from wallet import cli as wallet_cli

__all__ = ["main"]


def _wire() -> None:
    from service import health

    issuer_cli.attach(main, register, INIT_STEPS, Settings.from_env, health.people_from,  # first: the key policy
                      peer_http=HttpSource)  # `hub recognise --peer-url`: a peer hub read as a counter reads one
    idp_cli.attach(main, INIT_STEPS, register, Settings.from_env)
    from service.oid4vp import attach_clients_verifier

    attach_clients_verifier(main, Settings.from_env)  # `clients add --verifier --purpose`: idp and verifier both
    INIT_STEPS.append(wallet_client_step)
    INIT_STEPS.append(health.init_step)  # after both: the admin client and the demo health officer
    register(ConfigError)
    wallet_cli.attach(main, register, lambda directory: Settings.from_env().key_policy(directory))
    verifier_cli.attach(main, register)
    verifier_cli.verifier_group.add_command(serve_counter)  # `tongban verifier serve`: needs the composition root
    main.add_command(commands.issue)
    main.add_command(offer_cli.issue_offer)
    main.add_command(commands.demo)
    main.add_command(commands.migrate)
    main.add_command(serve)
    main.commands["keys"].add_command(production.seal_command)  # spans the issuer's and the IdP's keys and secrets
    main.add_command(production.demo_data_group)
    main.add_command(audit_group)
    main.add_command(worker_command)


def wallet_client_step(settings: Settings, echo) -> None:  # echo: click.echo
    """Register the web wallet as a public OIDC client of this service's IdP (idempotent)."""
    from idp.provider import Provider
    from wallet import web

    provider = Provider.from_settings(settings)
    redirect_uri = settings.issuer_url + web.REDIRECT_PATH
    existing = provider.clients.get(web.CLIENT_ID)
    if existing is None:
        provider.clients.add(web.CLIENT_NAME, [redirect_uri], public=True, scopes=list(web.SCOPES),
                             client_id=web.CLIENT_ID, subject_type="public", first_party=True)
        echo(f"wallet: public client {web.CLIENT_ID} registered, redirect URI {redirect_uri}")
    elif redirect_uri not in existing.redirect_uris:
        echo(f"wallet: client {web.CLIENT_ID} is registered for {', '.join(existing.redirect_uris)}, not {redirect_uri} "
             "(TONGBAN_ISSUER_URL changed?)")
    else:
        echo(f"wallet: client {web.CLIENT_ID} already registered")


_wire()
