"""Production guardrails: with ``TONGBAN_DEMO=0`` the service refuses to start on anything only a demo may have.

A data directory keeps its history: one made by ``tongban init`` in demo mode has a ``DEV-PLAINTEXT-KEYS``
marker, plaintext private keys and secrets, and accounts whose passwords are printed in the README. Turning
``TONGBAN_DEMO`` to 0 changes none of that, so start-up (``create_app``, hence ``tongban serve`` and the WSGI
entry, and ``tongban init``) checks what is actually on disk and in the database and refuses, in one line that
names the problem and the command that fixes it:

* the marker, or ``TONGBAN_DEV_PLAINTEXT_KEYS=1`` → set ``TONGBAN_KEY_PASSPHRASE`` and run ``tongban keys seal``;
* a plaintext private key in ``<data>/keys`` → the same;
* a plaintext service secret (``idp-secret``, ``issuer-secret``) with no passphrase to seal it under → set
  ``TONGBAN_KEY_PASSPHRASE`` (the next start seals it, ``keys.secret_file``) or give the secret in the environment;
* a demo account that still signs in with its documented password → ``tongban demo-data remove``;
* a non-https ``TONGBAN_ISSUER_URL`` (cookies would lose ``Secure``) unless ``TONGBAN_TLS_TERMINATED_BY_PROXY=1``
  says TLS ends at a reverse proxy, and then ``TONGBAN_PROXY_HOPS`` must count it (≥ 1).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from keys import AtRestPolicy, KeyRingStore
from keys.at_rest import DEV_FLAG_ENV, PASSPHRASE_ENV
from keys.layout import Layout
from keys.secret_file import is_sealed, load_secret
from service.config import ConfigError, Settings

SEAL = f"set {PASSPHRASE_ENV} and run `tongban keys seal`"


class ProductionRefused(ConfigError):
    """Start-up in production mode found something only a demo may have; the message says what to do."""

    reason = "production_refused"


def secret_files(data_dir: Path) -> dict[Path, str]:
    """The service secret files and the environment variable that replaces each."""
    from idp.secrets import SECRET_ENV as IDP_SECRET_ENV
    from issuer.health.store import SECRET_ENV as ISSUER_SECRET_ENV

    layout = Layout(data_dir)
    return {layout.idp_secret: IDP_SECRET_ENV, layout.issuer_secret: ISSUER_SECRET_ENV}


def _configured_secrets(settings: Settings) -> dict[str, str]:
    """The configured value of each secret's variable (empty: the file is used)."""
    from idp.secrets import SECRET_ENV as IDP_SECRET_ENV
    from issuer.pii import SECRET_ENV as ISSUER_SECRET_ENV

    return {IDP_SECRET_ENV: settings.idp_secret, ISSUER_SECRET_ENV: settings.issuer_secret}


def file_problems(settings: Settings) -> list[str]:
    """What production refuses in the settings and the data directory (nothing is created or changed)."""
    problems = []
    proxy = settings.proxy
    if not settings.issuer_url.startswith("https://"):
        if not proxy.tls_terminated:
            problems.append(f"TONGBAN_ISSUER_URL {settings.issuer_url} is not https:// (cookies would lose Secure): "
                            "use the https URL, or set TONGBAN_TLS_TERMINATED_BY_PROXY=1 if TLS ends at a reverse proxy")
        elif proxy.hops < 1:
            problems.append("TONGBAN_TLS_TERMINATED_BY_PROXY=1 needs TONGBAN_PROXY_HOPS (the number of reverse "
                            "proxies in front, at least 1)")
    layout = Layout(settings.data_dir)
    key_dir = layout.keys
    if settings.dev_plaintext_keys:
        problems.append(f"{DEV_FLAG_ENV}=1 allows plaintext private keys: unset it")
    if layout.dev_marker.exists():
        problems.append(f"{layout.dev_marker} allows plaintext private keys (a demo directory): {SEAL}")
    plain = KeyRingStore(key_dir, AtRestPolicy(None)).plaintext_owners()
    if plain:
        problems.append(f"plaintext private keys in {key_dir} ({', '.join(plain)}): {SEAL}")
    configured = _configured_secrets(settings)
    if not settings.key_passphrase:
        for path, env_name in secret_files(settings.data_dir).items():
            if path.exists() and not configured[env_name] and not is_sealed(path):
                problems.append(f"{path} is a plaintext secret: set {PASSPHRASE_ENV} (the next start seals it) "
                                f"or give {env_name}")
    return problems


def demo_accounts() -> list[dict[str, str]]:
    from idp.cli import DEMO_CITIZEN
    from service.health import DEMO_OFFICER

    return [DEMO_CITIZEN, DEMO_OFFICER]


def account_problems(provider: Any) -> list[str]:
    """Demo accounts that still sign in with the password the README prints."""
    known = []
    for demo in demo_accounts():
        account = provider.accounts.find(demo["id_number"])
        if account is not None and provider.accounts.password_is(account, demo["password"]):
            known.append(demo["id_number"])
    if not known:
        return []
    return [f"demo account(s) {', '.join(known)} still sign in with their documented passwords: "
            "run `tongban demo-data remove`"]


def check_passphrase_before_sealing(settings: Settings) -> None:
    """A plaintext secret is sealed under whatever passphrase is set (``keys.secret_file``): before that happens,
    open every key ring with it, so a mistyped passphrase fails here (``KeyAtRestError``) instead of sealing the
    secrets under a passphrase nothing else uses."""
    if not settings.key_passphrase:
        return
    configured = _configured_secrets(settings)
    pending = [p for p, name in secret_files(settings.data_dir).items() if p.exists() and not configured[name]
               and not is_sealed(p)]
    if pending:
        key_dir = Layout(settings.data_dir).keys
        store = KeyRingStore(key_dir, AtRestPolicy(settings.key_passphrase.encode(), allow_plaintext=True))
        for owner in store.owners():
            store.load(owner)


def refuse(problems: list[str]) -> None:
    if problems:
        raise ProductionRefused("refusing to start with TONGBAN_DEMO=0: " + "; ".join(problems))


def check_files(settings: Settings) -> None:
    if not settings.demo:
        refuse(file_problems(settings))


def check_accounts(settings: Settings, provider: Any) -> None:
    if not settings.demo:
        refuse(account_problems(provider))


# -- the commands that clear a demo history ----------------------------------------------------------------
def seal(settings: Settings, echo: Callable[[str], None]) -> None:
    """Encrypt every plaintext private key and service secret under the passphrase; drop the demo marker."""
    passphrase = settings.key_passphrase
    if not passphrase:
        raise ConfigError(f"set {PASSPHRASE_ENV}: `tongban keys seal` encrypts the keys under it")
    key_dir = Layout(settings.data_dir).keys
    owners = KeyRingStore(key_dir, AtRestPolicy(passphrase.encode())).reseal()  # opens every ring: checks the passphrase
    echo(f"keys: {len(owners)} key ring(s) encrypted under {PASSPHRASE_ENV}" + (f" ({', '.join(owners)})" if owners else ""))
    for path, env_name in secret_files(settings.data_dir).items():
        if path.exists() and not is_sealed(path):
            load_secret(path, env_name, passphrase=passphrase)  # seals a plaintext file in place
            echo(f"keys: {path.name} sealed")
    marker = Layout(settings.data_dir).dev_marker
    if marker.exists():
        marker.unlink()
        echo(f"keys: {marker} removed; plaintext private keys are refused from now on")


def remove_demo_data(settings: Settings, echo: Callable[[str], None]) -> None:
    """Delete the demo accounts (their sessions end) and the demo people from the population registry table."""
    from idp.provider import Provider
    from idp.registry import DEMO_PEOPLE, TableRegistry

    provider = Provider.from_settings(settings, load_keys=False)
    now = int(time.time())
    for demo in demo_accounts():
        account = provider.accounts.find(demo["id_number"])
        if account is None:
            continue
        for sso in provider.sessions.of(account.sub):
            provider.sessions.end(sso.sid)
        provider.accounts.delete(account.sub, now)
        echo(f"demo-data: account {demo['name']} ({demo['id_number']}) deleted")
    removed = TableRegistry(provider.engine, provider.secrets).remove([i for _, i in DEMO_PEOPLE])
    echo(f"demo-data: {removed} demo people removed from the population registry table")


@click.command("seal")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="data directory (default $TONGBAN_DATA)")
def seal_command(data_dir: str | None) -> None:
    """Encrypt plaintext private keys and secrets under TONGBAN_KEY_PASSPHRASE and remove the demo marker."""
    seal(Settings.from_env(data_dir), click.echo)


@click.group("demo-data")
def demo_data_group() -> None:
    """The demo accounts and people `tongban init` seeds in demo mode."""


@demo_data_group.command("remove")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="data directory (default $TONGBAN_DATA)")
def demo_data_remove(data_dir: str | None) -> None:
    """Delete the demo accounts (known passwords) and the demo people; needed before production start-up."""
    remove_demo_data(Settings.from_env(data_dir), click.echo)
