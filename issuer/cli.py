"""Issuer commands: the ``init`` step that builds the demo hub, ``revoke``, ``keys rotate | compromise | list |
needs-reissue``, ``status publish``, ``pii rotate | reseal``; the health commission's (``health``, ``proxies``,
``authorities``) are ``issuer.health.cli``'s, attached here with the desk they act on (``desk_for``).

``settings_from(data_dir)`` is injected by ``service.wiring`` so configuration has one path, and so is
``people_from(settings)``: the ``issuer.health.People`` port (registered citizens, from the IdP).
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine

from credentials.regions import DEFAULT_REGION, hub_region
from issuer import hub_cli, migrate, pii_migrate
from issuer.errors import IssuerError
from issuer.health import HealthDesk, HealthPolicy, People, Person
from issuer.health import cli as health_cli
from issuer.health.cli import mask
from issuer.hub import ROOT_OWNER, Hub, demo_authorities
from issuer.peers import PeerSource
from issuer.pii import Vault, load_issuer_secret, open_vault
from issuer.records import DEMO_RECORDS, Records, demo_portrait
from issuer.service import Issuer
from keys import AtRestPolicy, KeyAtRestError, mark_development
from keys.at_rest import PASSPHRASE_ENV
from keys.layout import Layout
from keys.suites import Suite, suite
from storage import make_engine

_engines: dict[str, Engine] = {}


def suite_for(settings: Any) -> Suite:
    """The hub's suite as recorded in hub.json, else the one the settings ask for (``TONGBAN_SUITE``, ``init
    --suite``), else standard."""
    recorded = hub_for(settings)._load().get("suite")
    return suite(recorded or getattr(settings, "suite", "") or None)


def engine_for(settings: Any) -> Engine:
    """One engine per database URL per process, tables created and personal data sealed on first use."""
    if settings.database_url not in _engines:
        engine = make_engine(settings.database_url)
        migrate.upgrade(engine)  # the issuer's tables, through Alembic
        pii_migrate.upgrade(engine, issuer_secret_for(settings), suite=suite_for(settings))
        _engines[settings.database_url] = engine
    return _engines[settings.database_url]


def vault_for(settings: Any) -> Vault:
    return open_vault(engine_for(settings), issuer_secret_for(settings), suite_for(settings))


def key_policy_for(settings: Any, directory: Path) -> AtRestPolicy:
    """The settings' key policy for ``directory`` (``service.config.Settings.key_policy``; a bare settings
    object without one gets the directory's own marker and no passphrase)."""
    policy = getattr(settings, "key_policy", None)
    return policy(directory) if policy is not None else AtRestPolicy.for_directory(directory)


def hub_for(settings: Any) -> Hub:
    keys_dir = Layout(settings.data_dir).keys
    return Hub(settings.data_dir, key_policy_for(settings, keys_dir), getattr(settings, "issuer_secret", ""))


def issuer_secret_for(settings: Any) -> bytes:
    """The issuer secret under the settings (``TONGBAN_ISSUER_SECRET``, else the file, sealed under the passphrase)."""
    return load_issuer_secret(settings.data_dir, value=getattr(settings, "issuer_secret", ""),
                              passphrase=getattr(settings, "key_passphrase", ""))


def records_for(settings: Any) -> Records:
    return Records(engine_for(settings), vault_for(settings))


def issuer_for(settings: Any) -> Issuer:
    return Issuer(hub_for(settings), engine_for(settings))


def desk_for(settings: Any, people: People | None = None) -> HealthDesk:
    policy = HealthPolicy(lifetime=getattr(settings, "health_code_ttl", HealthPolicy.lifetime))
    return HealthDesk(issuer_for(settings), issuer_secret_for(settings), policy=policy, people=people)


def ensure_key_policy(directory: Path, echo: Callable[[str], None], *, demo: bool = True,
                      policy: AtRestPolicy | None = None) -> None:
    """No passphrase configured: in demo mode mark the directory for plaintext keys and say so; else refuse."""
    policy = policy or AtRestPolicy.for_directory(directory)
    if policy.passphrase is None and not policy.allow_plaintext:
        if not demo:
            raise KeyAtRestError(f"set {PASSPHRASE_ENV}: outside demo mode (TONGBAN_DEMO=0) private keys are "
                                 "always encrypted at rest")
        mark_development(directory)
        echo(f"DEVELOPMENT MODE: private keys in {directory} are stored unencrypted; set {PASSPHRASE_ENV} "
             "before `tongban init` to encrypt them")


def init_step(settings: Any, echo: Callable[[str], None]) -> None:
    now = int(time.time())
    hub = hub_for(settings)
    ensure_key_policy(hub.keys_dir, echo, demo=getattr(settings, "demo", True), policy=hub.rings.policy)
    hub = hub_for(settings)  # re-read the policy after marking
    region = hub_region(getattr(settings, "region", "") or hub.region() or DEFAULT_REGION)
    fresh = hub.region() is None
    hub.set_region(region.code)  # a hub serves one region: another --region on this directory is refused
    if fresh:
        echo(f"hub of region {region.label}")
    wanted = getattr(settings, "suite", "")
    chosen = hub.ensure_suite(suite(wanted)) if wanted else hub.suite
    changed = hub.ensure_root(now)
    if changed:
        echo(f"hub root key created; verifiers pin {hub.root_jwk_path}")
    for authority in demo_authorities(region):
        if hub.ensure_authority(authority, now):
            changed = True
            echo(f"authority {authority.id} ({authority.name}) with an {chosen.signature} key ring, issuing "
                 f"{', '.join(authority.licence_types) or 'nothing yet'}")
    if changed or not hub.trust_list_path.exists():
        trust_list = hub.publish_trust_list(now)
        echo(f"trust list version {trust_list.version} signed by the hub root, valid 7 days")
    count = Issuer(hub, engine_for(settings)).publish_all(now=now)
    echo(f"{count} status list(s) published under {Layout(settings.data_dir).status}")
    if not getattr(settings, "demo", True):
        return  # registers are filled with `tongban records import` in production
    seeded = seed_demo_records(hub, records_for(settings), now)
    echo(f"{seeded} demo licence record(s) added to the authorities' registers" if seeded
         else "demo licence records already on the authorities' registers")


def seed_demo_records(hub: Hub, register: Records, now: int) -> int:
    """The demo citizens' licences on their authorities' registers (skipped where one is already held).

    Another region's hub holds their driving licences as issued by its own traffic police (a licence may be
    taken where one lives); resident IDs are Beijing's (the demo citizens' ID numbers are registered there)."""
    beijing = hub.region() in (None, DEFAULT_REGION)
    return sum(register.ensure(type_name, hub.owner_of(type_name).id,
                               claims if beijing else {**claims, "issuing_authority": hub.owner_of(type_name).name},
                               now=now, portrait=demo_portrait(claims["id_number"]))
               for type_name, claims in DEMO_RECORDS if beijing or type_name == "driving-licence")


def attach(main: click.Group, register: Callable, init_steps: list, settings_from: Callable,
           people_from: Callable[[Any], People] | None = None,
           peer_http: Callable[[str], PeerSource] | None = None) -> None:
    """``peer_http``: how to read a peer hub over HTTP (``hub recognise --peer-url``; injected by the service)."""
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
        authority = hub_for(settings).owner_of(licence_type)
        count = records_for(settings).import_csv(licence_type, authority.id, text, now=int(time.time()))
        click.echo(f"imported {count} {licence_type} record(s) into the register of {authority.name} ({authority.id})")

    @records_group.command("portrait")
    @data_option
    @click.argument("licence_type", type=click.Choice(["driving-licence", "resident-id", "business-licence"]))
    @click.argument("holder_id_number")
    @click.argument("jpeg_file", type=click.Path(exists=True, dir_okay=False), required=False)
    @click.option("--remove", is_flag=True, help="take the record's portrait away")
    def records_portrait(data_dir: str | None, licence_type: str, holder_id_number: str, jpeg_file: str | None,
                         remove: bool) -> None:
        """Give the register's LICENCE_TYPE record of HOLDER_ID_NUMBER a portrait (a JPEG of at most 20 KB,
        64-1024 px a side, taller than wide), sealed with the record; a counter gets it only when the holder lets
        it fetch the licence (免证办)."""
        from pathlib import Path

        if remove == (jpeg_file is not None):
            raise click.UsageError("give JPEG_FILE, or --remove")
        register = records_for(settings_from(data_dir))
        record = next((r for r in register.held_by(holder_id_number.strip().upper())
                       if r.licence_type == licence_type), None)
        if record is None:
            raise click.BadParameter(f"the register holds no {licence_type} for this ID number",
                                     param_hint="HOLDER_ID_NUMBER")
        register.set_portrait(record.record_id, None if remove else Path(jpeg_file).read_bytes(), now=int(time.time()))
        click.echo(f"{'removed the portrait of' if remove else 'portrait set on'} record {record.record_id}")

    @main.group("pii")
    def pii_group() -> None:
        """Personal data sealed at rest in the issuer's tables (data-key versions under the issuer secret)."""

    @pii_group.command("rotate")
    @data_option
    def pii_rotate(data_dir: str | None) -> None:
        """Add the next data-key version and re-seal every row under it; restart the service afterwards."""
        settings = settings_from(data_dir)
        vault = pii_migrate.rotate(engine_for(settings), issuer_secret_for(settings), now=int(time.time()))
        click.echo(f"personal data re-sealed under data key v{vault.version} ({vault.key_id()}); restart the "
                   "service, then run `tongban pii reseal` once to catch rows written meanwhile")

    @pii_group.command("reseal")
    @data_option
    def pii_reseal(data_dir: str | None) -> None:
        """Seal every row still in clear or under an older data key (what each start-up does once)."""
        settings = settings_from(data_dir)
        vault = pii_migrate.upgrade(engine_for(settings), issuer_secret_for(settings), force=True)
        click.echo(f"every row sealed under data key v{vault.version} ({vault.key_id()})")

    @main.group("keys")
    def keys_group() -> None:
        """Issuer and hub key rings."""

    @keys_group.command("rotate")
    @data_option
    @click.option("--alg", type=click.Choice(["ES256", "EdDSA", "SM2"]), default=None,
                  help="algorithm of the new key (default: the ring's current one; SM2 is SM2 with SM3, 国密)")
    @click.argument("owner")
    def rotate(data_dir: str | None, alg: str | None, owner: str) -> None:
        """Make a new signing key for OWNER (an authority id); older keys verify until their window ends."""
        settings = settings_from(data_dir)
        hub = hub_for(settings)
        if owner != ROOT_OWNER:
            hub.authority(owner)
        now = int(time.time())
        kid = hub.rotate(owner, now, alg, actor=f"cli:{getpass.getuser()}")
        version = hub.publish_trust_list(now).version
        click.echo(f"{owner}: new signing key {kid}; trust list version {version}")

    @keys_group.command("generate")
    @data_option
    @click.option("--pkcs11", "in_token", is_flag=True, required=True,
                  help="make the key inside the PKCS#11 token (TONGBAN_PKCS11_MODULE/_TOKEN/_PIN); it never leaves it")
    @click.argument("owner")
    def generate_in_token(data_dir: str | None, in_token: bool, owner: str) -> None:
        """Make OWNER's next signing key (ES256) inside the PKCS#11 token; the ring keeps only its pkcs11: URI.

        OWNER is an authority, the hub root, or another ES256 ring of the data directory: ``idp``, the identity
        provider's ID-token key (its JWKS publishes the new key; tokens signed before verify until they expire)."""
        settings = settings_from(data_dir)
        hub = hub_for(settings)
        now = int(time.time())
        if owner != ROOT_OWNER and owner not in {a.id for a in hub.authorities()}:
            if not hub.rings.exists(owner):
                hub.authority(owner)  # the "unknown authority" error, with the ids there are
            if (alg := hub.rings.load(owner).signer(now).public.alg) != "ES256":
                raise click.UsageError(f"{owner} signs with {alg}; a PKCS#11 token here makes ES256 (P-256) keys")
        if hub.rings.policy.hsm is None:
            raise click.UsageError("set TONGBAN_PKCS11_MODULE, TONGBAN_PKCS11_TOKEN and TONGBAN_PKCS11_PIN")
        kid = hub.rotate(owner, now, actor=f"cli:{getpass.getuser()}", key=hub.rings.policy.hsm.generate(owner))
        version = hub.publish_trust_list(now).version
        click.echo(f"{owner}: new signing key {kid} inside PKCS#11 token {settings.pkcs11_token}; "
                   f"trust list version {version}")

    # A kid is base64url: it may begin with "-", which must read as the KID, not as an unknown option.
    @keys_group.command("compromise", context_settings={"ignore_unknown_options": True})
    @data_option
    @click.option("--alg", type=click.Choice(["ES256", "EdDSA", "SM2"]), default=None,
                  help="algorithm of the new signing key, if one is needed (default: the ring's current one)")
    @click.argument("authority")
    @click.argument("kid")
    def compromise(data_dir: str | None, alg: str | None, authority: str, kid: str) -> None:
        """Withdraw AUTHORITY's key KID (its kid or 8-byte kid in hex, see `keys list`) as compromised, at once.

        The private key is destroyed, a new signer made if needed, the trust list re-signed with the next version
        (counters refuse the key from their next sync: key_compromised), and every live credential the key signed
        is marked for re-issue (see `keys needs-reissue`). Running it again changes nothing.
        """
        from issuer.compromise import compromise_key

        now = int(time.time())
        result = compromise_key(issuer_for(settings_from(data_dir)), authority, kid, now=now,
                                actor=f"cli:{getpass.getuser()}", alg=alg)
        when = "already withdrawn" if result.already else "withdrawn as compromised"
        signer = f"new signing key {result.new_signer}" if result.new_signer else "signing key unchanged"
        click.echo(f"{authority}: key {result.kid} ({result.short_kid}) {when}; {signer}; trust list version "
                   f"{result.trust_list_version}; {result.marked} credential(s) marked for re-issue "
                   f"({result.needing_reissue} in all, see `tongban keys needs-reissue`); "
                   f"{result.status_lists} status list(s) re-signed")

    @keys_group.command("list")
    @data_option
    @click.argument("owner")
    def keys_list(data_dir: str | None, owner: str) -> None:
        """OWNER's keys (an authority id or hub-root): kid, 8-byte kid in hex, state and times (UTC)."""
        import datetime as dt

        hub = hub_for(settings_from(data_dir))
        if owner != ROOT_OWNER:
            hub.authority(owner)
        now = int(time.time())

        def utc(ts: int) -> str:
            return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        for key in hub.rings.load(owner).keys:
            state = ("compromised" if key.compromised_at is not None else "signing" if key.signs_at(now)
                     else "retired" if key.retired_at is not None else "expired")
            click.echo(f"{key.public.kid}  {key.public.short_kid.hex()}  {key.public.alg:5}  {state:11}  "
                       f"verifies {utc(key.not_before)}..{utc(key.not_after)}  signs until {utc(key.signs_until)}")

    @keys_group.command("needs-reissue")
    @data_option
    @click.option("--authority", help="only this authority's credentials")
    def needs_reissue(data_dir: str | None, authority: str | None) -> None:
        """Credentials signed by a key withdrawn as compromised, still live: one JSON object per line."""
        import json

        from issuer import store

        settings = settings_from(data_dir)
        if authority is not None:
            hub_for(settings).authority(authority)
        for row in store.needing_reissue(engine_for(settings), now=int(time.time()), authority_id=authority):
            click.echo(json.dumps(row.to_json(), ensure_ascii=False))

    hub_cli.attach(main, data_option, lambda data_dir: hub_for(settings_from(data_dir)), peer_http)

    @main.group("status")
    def status_group() -> None:
        """Token Status Lists."""

    @status_group.command("publish")
    @data_option
    def publish(data_dir: str | None) -> None:
        """Re-sign every status list with a fresh iat (run periodically, well inside the ttl)."""
        count = issuer_for(settings_from(data_dir)).publish_all(now=int(time.time()))
        click.echo(f"{count} status list(s) published")

    def desk(data_dir: str | None) -> HealthDesk:
        settings = settings_from(data_dir)
        return desk_for(settings, people_from(settings) if people_from else None)

    health_cli.attach(main, data_option, desk)


__all__ = ["Person", "attach", "desk_for", "engine_for", "init_step", "issuer_for", "mask"]
