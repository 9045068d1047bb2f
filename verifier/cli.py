"""``tongban verifier sync`` and ``tongban verify``: the counter's command line.

``verify`` prints the Decision as JSON and exits 0 when valid, 1 when invalid, 2 on a usage error.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from credentials.instant import parse_instant
from keys import PublicKey
from verifier.cache import DirectorySource, VerifierCache
from verifier.errors import VerifierError
from verifier.image import read_qr
from verifier.pipeline import verify
from verifier.ports import Policy
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
    """The counter's offline cache."""


@verifier_group.command("sync")
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--cache", "cache_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--root", "root_file", type=click.Path(dir_okay=False, path_type=Path),
              help="the hub root public key (JWK) to pin; default on first sync: DATA/hub-root.jwk")
@click.option("--now", "now_text", help="ISO 8601 time to sync at (default: now)")
def sync_command(data_dir: Path, cache_dir: Path, root_file: Path | None, now_text: str | None) -> None:
    """Fill the cache with the trust list and status lists, verifying every signature."""
    source = DirectorySource(data_dir)
    cache = VerifierCache(cache_dir)
    root = None
    if root_file is not None or cache.root() is None:
        path = root_file or data_dir / "hub-root.jwk"
        try:
            root = PublicKey.from_jwk(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            raise VerifierError(f"cannot read the hub root key from {path}: {exc}") from exc
    report = cache.sync(source, now=parse_now(now_text), root=root)
    if report.root_pinned:
        click.echo(f"pinned hub root key {root.kid}")
    click.echo(
        f"trust list version {report.trust_list_version} ({'updated' if report.trust_list_updated else 'unchanged'}),"
        f" {report.status_lists} status list(s) cached in {cache_dir}"
    )


@click.command("verify")
@click.option("--cache", "cache_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--now", "now_text", help="ISO 8601 time to verify at (default: now)")
@click.option("--image", "image", type=click.Path(dir_okay=False, path_type=Path), help="decode the QR from a picture")
@click.option("--freshness", default=60, show_default=True, type=click.IntRange(1, 3600),
              help="seconds a presentation stays fresh")
@click.option("--challenge", help="the challenge this counter showed (text)")
@click.option("--accept-status-unknown", is_flag=True, help="accept when no current status list is cached")
@click.argument("qr", required=False)
def verify_command(cache_dir: Path, now_text: str | None, image: Path | None, freshness: int, challenge: str | None,
                   accept_status_unknown: bool, qr: str | None) -> None:
    """Decide valid / invalid offline; prints JSON; exit 0 valid, 1 invalid, 2 usage error."""
    if (qr is None) == (image is None):
        raise click.UsageError("give either a QR string or --image FILE")
    if not cache_dir.exists():
        raise click.UsageError(f"no verifier cache at {cache_dir}: run `tongban verifier sync` first")
    payload = read_qr(image) if image else qr
    now = parse_now(now_text)
    cache = VerifierCache(cache_dir)
    policy = Policy(freshness_window=freshness, accept_status_unknown=accept_status_unknown,
                    challenge=challenge.encode() if challenge else None)
    decision = verify(payload, trust=cache.trust_list(now), status=cache,
                      replay=SqliteReplayCache(cache_dir / "replay.sqlite3"), now=now, policy=policy)
    click.echo(json.dumps(decision.to_json(), ensure_ascii=False, indent=1))
    sys.exit(0 if decision.valid else 1)


def attach(main: click.Group, register) -> None:  # noqa: ANN001 - service.cli.register
    main.add_command(verifier_group)
    main.add_command(verify_command)
    register(VerifierError)
