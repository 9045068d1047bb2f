"""``tongban verifier sync`` and ``tongban verify``: the counter's command line.

``verify`` prints the Decision as JSON and exits 0 when valid, 1 when invalid, 2 on a usage error.
``sync`` exits 0 when everything synced, 1 when some status lists were refused (each printed with its reason
code; the others were synced), 2 when nothing could be synced (trust list refused, source unreachable).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from credentials.counter_code import CounterCodeError, parse_counter_code
from credentials.dcc import is_dcc
from credentials.instant import parse_instant
from keys import KeysError, PublicKey
from keys.layout import Layout
from verifier.cache import DirectorySource, HttpSource, VerifierCache
from verifier.cache_layout import CacheLayout
from verifier.dcc_pipeline import verify_dcc
from verifier.dcc_trust import DscStore, import_signers, read_cscas
from verifier.errors import VerifierError
from verifier.image import read_qr
from verifier.pipeline import verify
from verifier.ports import Policy
from verifier.reasons import explain
from verifier.replay import SqliteReplayCache


def parse_now(value: str | None) -> int:
    if value is None:
        return int(time.time())
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time, e.g. 2026-11-23T10:00:00+08:00") from exc


@click.group("verifier")
def verifier_group() -> None:
    """The counter: its offline cache (sync) and its page (serve)."""


@verifier_group.command("sync")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              help="read a local data directory (the issuer's own machine)")
@click.option("--from", "base_url", metavar="URL", help="download from the issuer's publication endpoints at URL")
@click.option("--cache", "cache_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--root", "root_file", type=click.Path(dir_okay=False, path_type=Path),
              help="the hub root public key (JWK) to pin; default on first sync with --data: DATA/hub-root.jwk; "
                   "required on first sync with --from")
@click.option("--now", "now_text", help="ISO 8601 time to sync at (default: now)")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 300), help="seconds per request")
def sync_command(data_dir: Path | None, base_url: str | None, cache_dir: Path, root_file: Path | None,
                 now_text: str | None, timeout: float) -> None:
    """Fill the cache with the trust list and status lists, verifying every signature."""
    if (data_dir is None) == (base_url is None):
        raise click.UsageError("give either --data DIR or --from URL")
    cache = VerifierCache(cache_dir)
    root_path = root_file
    if root_path is None and cache.root() is None:
        if base_url is not None:
            # No trust on first use: the root is what the counter is configured to trust, never what a server says.
            raise click.UsageError(
                f"this cache has no pinned hub root yet: pass --root FILE with the hub root key you obtained out of band "
                f"(compare it with {base_url.rstrip('/')}/trust/hub-root.jwk yourself before trusting it)")
        root_path = Layout(data_dir).hub_root_jwk
    root = None
    if root_path is not None:
        try:
            root = PublicKey.from_jwk(json.loads(root_path.read_text()))
        except (OSError, ValueError, KeysError) as exc:
            raise VerifierError(f"cannot read the hub root key from {root_path}: {exc}") from exc
    source = HttpSource(base_url, timeout=timeout) if base_url is not None else DirectorySource(data_dir)
    report = cache.sync(source, now=parse_now(now_text), root=root)
    if report.root_pinned:
        click.echo(f"pinned hub root key {root.kid}")
    click.echo(
        f"trust list version {report.trust_list_version} ({'updated' if report.trust_list_updated else 'unchanged'}),"
        f" {report.status_lists} status list(s) cached in {cache_dir}"
    )
    if isinstance(source, HttpSource):
        click.echo(f"{source.received} bytes downloaded (status lists by signed deltas where the hub keeps them)")
    for uri, reason in sorted(report.failed.items()):
        click.echo(f"status list {uri}: {reason}: {explain(reason).en}")
    if report.failed:
        sys.exit(1)


@click.command("verify")
@click.option("--cache", "cache_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--now", "now_text", help="ISO 8601 time to verify at (default: now)")
@click.option("--image", "image", type=click.Path(dir_okay=False, path_type=Path), help="decode the QR from a picture")
@click.option("--freshness", default=60, show_default=True, type=click.IntRange(1, 3600),
              help="seconds a presentation stays fresh")
@click.option("--challenge", help="the challenge this counter showed (text)")
@click.option("--counter-code", metavar="TBC1:...", help="the two-way counter code this counter showed: the "
              "presentation must name its counter id and sign its challenge")
@click.option("--accept-status-unknown", is_flag=True, help="accept when no current status list is cached")
@click.argument("qr", required=False)
def verify_command(cache_dir: Path, now_text: str | None, image: Path | None, freshness: int, challenge: str | None,
                   counter_code: str | None, accept_status_unknown: bool, qr: str | None) -> None:
    """Decide valid / invalid offline; prints JSON; exit 0 valid, 1 invalid, 2 usage error."""
    if (qr is None) == (image is None):
        raise click.UsageError("give either a QR string or --image FILE")
    if challenge is not None and counter_code is not None:
        raise click.UsageError("give --challenge or --counter-code, not both")
    two_way = {}
    if counter_code is not None:
        try:
            code = parse_counter_code(counter_code)
        except CounterCodeError as exc:
            raise click.BadParameter(str(exc), param_hint="--counter-code") from exc
        two_way = {"audience": code.counter_id, "challenges": frozenset({code.challenge})}
    if not cache_dir.exists():
        raise click.UsageError(f"no verifier cache at {cache_dir}: run `tongban verifier sync` first")
    payload = read_qr(image) if image else qr
    now = parse_now(now_text)
    if is_dcc(payload):  # an EU DCC: its own pipeline, against the imported document signers
        decision = verify_dcc(payload, signers=DscStore(cache_dir), now=now)
        click.echo(json.dumps(decision.to_json(), ensure_ascii=False, indent=1))
        sys.exit(0 if decision.valid else 1)
    cache = VerifierCache(cache_dir)
    policy = Policy(freshness_window=freshness, accept_status_unknown=accept_status_unknown,
                    challenge=challenge.encode() if challenge else None, **two_way)
    decision = verify(payload, trust=cache.trust_list(now), status=cache,
                      replay=SqliteReplayCache(CacheLayout(cache_dir).replay), now=now, policy=policy)
    click.echo(json.dumps(decision.to_json(), ensure_ascii=False, indent=1))
    sys.exit(0 if decision.valid else 1)


@verifier_group.command("import-dcc-trust")
@click.argument("trust_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--cache", "cache_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--csca", "csca_files", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="country CA certificates (PEM, DER or a trust list's CSCA entries): every DSC must chain to one")
@click.option("--now", "now_text", help="ISO 8601 time to check validity at (default: now)")
def import_dcc_trust_command(trust_file: Path, cache_dir: Path, csca_files: tuple[Path, ...], now_text: str | None) -> None:
    """Import EU DCC document signers (the gateway's trust list, or {kid: [DER, ...]}); replaces the set.

    Exit 0 when every DSC was stored, 1 when some were refused (each printed with its reason), 2 when none
    could be (the previous set is kept)."""
    now = parse_now(now_text)
    cscas = [der for path in csca_files for der in read_cscas(path.read_bytes())]
    records, report = import_signers(trust_file.read_bytes(), now=now, csca_ders=cscas)
    for label, reason in sorted(report.refused.items()):
        click.echo(f"{label}: {reason}: {explain(reason).en}")
    if not records:
        raise VerifierError(f"no usable document signer in {trust_file}: the counter keeps its previous set",
                            "dcc_trust_malformed")
    DscStore(cache_dir).save(records, now=now)
    chained = (f"{report.chained} chained to {report.cscas} CSCA certificate(s)" if report.cscas
               else "no CSCA given: stored unchained")
    click.echo(f"{report.stored} EU DCC document signer(s) stored in {cache_dir} ({chained}), "
               f"{len(report.refused)} refused")
    if report.refused:
        sys.exit(1)


def attach(main: click.Group, register) -> None:  # service.cli.register
    main.add_command(verifier_group)
    main.add_command(verify_command)
    register(VerifierError)
