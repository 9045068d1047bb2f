"""Issuer commands: the ``init`` step that builds the demo hub, ``revoke``, ``keys rotate``, ``status publish``.

``settings_from(data_dir)`` is injected by ``service.wiring`` so configuration has one path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click
from sqlalchemy import Engine

from issuer.errors import IssuerError
from issuer.hub import DEMO_AUTHORITIES, ROOT_OWNER, Hub
from issuer.records import DEMO_RECORDS, Records
from issuer.service import Issuer
from keys import AtRestPolicy, mark_development
from keys.at_rest import PASSPHRASE_ENV
from storage import create_all, make_engine

_engines: dict[str, Engine] = {}


def engine_for(settings: Any) -> Engine:
    """One engine per database URL per process, tables created on first use."""
    if settings.database_url not in _engines:
        engine = make_engine(settings.database_url)
        create_all(engine)
        _engines[settings.database_url] = engine
    return _engines[settings.database_url]


def issuer_for(settings: Any) -> Issuer:
    return Issuer(Hub(settings.data_dir), engine_for(settings))


def ensure_key_policy(directory, echo: Callable[[str], None]) -> None:  # noqa: ANN001 - a Path
    """No passphrase configured: mark the directory for development plaintext keys, and say so."""
    if AtRestPolicy.from_env(directory).passphrase is None and not AtRestPolicy.from_env(directory).allow_plaintext:
        mark_development(directory)
        echo(f"DEVELOPMENT MODE: private keys in {directory} are stored unencrypted; set {PASSPHRASE_ENV} "
             "before `tongban init` to encrypt them")


def init_step(settings: Any, echo: Callable[[str], None]) -> None:
    now = int(time.time())
    hub = Hub(settings.data_dir)
    ensure_key_policy(hub.keys_dir, echo)
    hub = Hub(settings.data_dir)  # re-read the policy after marking
    changed = hub.ensure_root(now)
    if changed:
        echo(f"hub root key created; verifiers pin {hub.root_jwk_path}")
    for authority in DEMO_AUTHORITIES:
        if hub.ensure_authority(authority, now):
            changed = True
            echo(f"authority {authority.id} ({authority.name}) with an ES256 key ring")
    if changed or not hub.trust_list_path.exists():
        trust_list = hub.publish_trust_list(now)
        echo(f"trust list version {trust_list.version} signed by the hub root, valid 7 days")
    count = Issuer(hub, engine_for(settings)).publish_all(now=now)
    echo(f"{count} status list(s) published under {settings.data_dir / 'status'}")
    seeded = seed_demo_records(hub, Records(engine_for(settings)), now)
    echo(f"{seeded} demo licence record(s) added to the authorities' registers" if seeded
         else "demo licence records already on the authorities' registers")


def seed_demo_records(hub: Hub, register: Records, now: int) -> int:
    """The demo citizens' licences on their authorities' registers (skipped where one is already held)."""
    return sum(register.ensure(type_name, hub.owner_of(type_name).id, claims, now=now) for type_name, claims in DEMO_RECORDS)


def attach(main: click.Group, register: Callable, init_steps: list, settings_from: Callable) -> None:
    register(IssuerError)
    init_steps.append(init_step)
    data_option = click.option("--data", "data_dir", type=click.Path(file_okay=False),
                               help="data directory (default $TONGBAN_DATA)")

    @main.command("revoke")
    @data_option
    @click.option("--suspend", is_flag=True, help="suspend (reversible) instead of revoking")
    @click.option("--reinstate", is_flag=True, help="lift a suspension")
    @click.argument("elicence_id")
    def revoke(data_dir: str | None, suspend: bool, reinstate: bool, elicence_id: str) -> None:
        """Revoke (or suspend, or reinstate) a credential and republish its status list."""
        if suspend and reinstate:
            raise click.UsageError("--suspend and --reinstate exclude each other")
        value = issuer_for(settings_from(data_dir)).set_status(elicence_id, suspend=suspend, reinstate=reinstate,
                                                               now=int(time.time()))
        click.echo(f"{elicence_id}: {['valid', 'revoked', 'suspended'][value]}")

    @main.group("records")
    def records_group() -> None:
        """The authorities' registers of who holds which licence (what the wallet can fetch)."""

    @records_group.command("import")
    @data_option
    @click.argument("licence_type", type=click.Choice(["driving-licence", "resident-id", "business-licence"]))
    @click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
    def records_import(data_dir: str | None, licence_type: str, csv_file: str) -> None:
        """Import CSV_FILE (header = the type's claim names) into the register of LICENCE_TYPE's authority.

        All or nothing: the first bad row is reported by line and field, and nothing is imported.
        """
        from pathlib import Path

        try:
            text = Path(csv_file).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise click.BadParameter(f"{csv_file} is not UTF-8 text", param_hint="CSV_FILE") from exc
        settings = settings_from(data_dir)
        authority = Hub(settings.data_dir).owner_of(licence_type)
        count = Records(engine_for(settings)).import_csv(licence_type, authority.id, text, now=int(time.time()))
        click.echo(f"imported {count} {licence_type} record(s) into the register of {authority.name} ({authority.id})")

    @main.group("keys")
    def keys_group() -> None:
        """Issuer and hub key rings."""

    @keys_group.command("rotate")
    @data_option
    @click.option("--alg", type=click.Choice(["ES256", "EdDSA"]), default="ES256", show_default=True)
    @click.argument("owner")
    def rotate(data_dir: str | None, alg: str, owner: str) -> None:
        """Make a new signing key for OWNER (an authority id); older keys verify until their window ends."""
        settings = settings_from(data_dir)
        hub = Hub(settings.data_dir)
        if owner != ROOT_OWNER:
            hub.authority(owner)
        now = int(time.time())
        kid = hub.rotate(owner, now, alg)
        version = hub.publish_trust_list(now).version
        click.echo(f"{owner}: new signing key {kid}; trust list version {version}")

    @main.group("hub")
    def hub_group() -> None:
        """The hub: mutual recognition of other regions (互通互认)."""

    @hub_group.command("recognise")
    @data_option
    @click.option("--peer-data", "peer_dir", required=True, type=click.Path(file_okay=False),
                  help="the other region's published data directory (trust list and status lists)")
    @click.option("--peer-root", "peer_root", required=True, type=click.Path(dir_okay=False),
                  help="the other region's hub root public key (JWK), obtained out of band")
    def recognise_command(data_dir: str | None, peer_dir: str, peer_root: str) -> None:
        """Recognise another region's authorities; run again to refresh their trust list and status lists."""
        import json
        from pathlib import Path

        from credentials.status_uri import status_files
        from issuer.peers import recognise
        from keys import PublicKey

        settings = settings_from(data_dir)
        peer = Path(peer_dir)
        try:
            root = PublicKey.from_jwk(json.loads(Path(peer_root).read_text()))
            token = (peer / "trust-list.jwt").read_text()
        except (OSError, ValueError) as exc:
            raise IssuerError(f"cannot read the peer region: {exc}") from exc
        lists = {uri: path.read_bytes() for uri, path in status_files(peer / "status", "cwt").items()}
        now = int(time.time())
        hub = Hub(settings.data_dir)
        result = recognise(hub, root=root, trust_list_token=token, status_lists=lists, now=now)
        version = hub.publish_trust_list(now).version
        click.echo(f"recognised {len(result.authorities)} authorities of region(s) {', '.join(result.region_ids)}; "
                   f"{result.status_lists} status list(s) mirrored; trust list version {version}")

    @main.group("status")
    def status_group() -> None:
        """Token Status Lists."""

    @status_group.command("publish")
    @data_option
    def publish(data_dir: str | None) -> None:
        """Re-sign every status list with a fresh iat (run periodically, well inside the ttl)."""
        count = issuer_for(settings_from(data_dir)).publish_all(now=int(time.time()))
        click.echo(f"{count} status list(s) published")
