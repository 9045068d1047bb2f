"""``tongban audit``: check the hash-chained audit log, anchor it with the hub key, prune it after retention."""

from __future__ import annotations

import sys
import time

import click

from service.config import Settings


def _parts(data_dir: str | None):
    from idp.audit import Audit
    from issuer.cli import hub_for
    from issuer.hub import ROOT_OWNER
    from keys.layout import Layout
    from storage import make_engine

    settings = Settings.from_env(data_dir)
    engine = make_engine(settings.database_url)
    ring = hub_for(settings).rings.load(ROOT_OWNER)
    return settings, engine, Audit(engine), ring, Layout(settings.data_dir).audit_anchors


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit log (a hash chain in SQL, anchors signed by the hub key)."""


@audit_group.command("verify")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="data directory (default $TONGBAN_DATA)")
def verify_command(data_dir: str | None) -> None:
    """Check every link and anchor; name the first broken entry. Exit 0 intact, 1 broken."""
    from service import audit

    _, engine, log, ring, anchors = _parts(data_dir)
    try:
        verdict = audit.verify(log, ring.verification_keys(), anchors)
    finally:
        engine.dispose()
    chain = verdict.chain
    click.echo(f"audit: {chain.checked} chained entries (ids {chain.first_id}..{chain.last_id}), {chain.legacy} from "
               f"before the chain, {verdict.anchors} anchor(s)")
    if not chain.ok:
        click.echo(f"audit: BROKEN at entry {chain.broken_id}: {chain.problem}", err=True)
    for problem in verdict.problems:
        click.echo(f"audit: BROKEN: {problem}", err=True)
    if not verdict.ok:
        sys.exit(1)
    click.echo(f"audit: intact; newest digest {chain.last_digest}")


@audit_group.command("anchor")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="data directory (default $TONGBAN_DATA)")
def anchor_command(data_dir: str | None) -> None:
    """Sign the newest digest with the hub root key (kept in the chain and in <data>/audit-anchors.jsonl)."""
    from service import audit

    _, engine, log, ring, anchors = _parts(data_dir)
    now = int(time.time())
    try:
        line = audit.anchor(log, ring.signer(now), anchors, now=now)
    except audit.AuditError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"audit: anchored entry {line['upto']} ({line['digest']})")


@audit_group.command("prune")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="data directory (default $TONGBAN_DATA)")
def prune_command(data_dir: str | None) -> None:
    """Remove entries older than TONGBAN_AUDIT_RETENTION_DAYS, up to the newest anchor among them."""
    from service import audit

    settings, engine, log, _, _ = _parts(data_dir)
    try:
        removed = audit.prune(log, now=int(time.time()), retention_days=settings.audit_retention_days)
    except audit.AuditError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"audit: {removed} entries older than {settings.audit_retention_days} days removed")
