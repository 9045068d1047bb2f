"""Commands that span packages, so they live in the composition root: ``issue`` and ``demo``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from credentials.instant import parse_instant
from issuer.cli import issuer_for
from service.config import Settings
from wallet.holder import StoredCredential, Wallet


@click.command("issue")
@click.argument("licence_type", type=click.Choice(["driving-licence", "resident-id", "business-licence"]))
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="data directory (default $TONGBAN_DATA)")
@click.option("--wallet", "wallet_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--claims", "claims_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--now", "now_text", help="ISO 8601 time to issue at (default: now)")
def issue(licence_type: str, data_dir: str | None, wallet_dir: Path, claims_file: Path, now_text: str | None) -> None:
    """Validate, sign and store a licence into the wallet; prints its e-licence identifier."""
    try:
        raw = json.loads(claims_file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise click.BadParameter(f"no such file {claims_file}", param_hint="--claims") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{claims_file} is not UTF-8 JSON: {exc}", param_hint="--claims") from exc
    try:
        now = parse_instant(now_text) if now_text else int(time.time())
    except ValueError as exc:
        raise click.BadParameter(f"{now_text!r} is not an ISO 8601 time", param_hint="--now") from exc
    wallet = Wallet(wallet_dir)
    issued = issuer_for(Settings.from_env(data_dir)).issue(licence_type, raw, wallet.public_key(), now=now)
    wallet.store(StoredCredential(issued.elicence_id, issued.licence_type, issued.authority_id, issued.views))
    click.echo(issued.elicence_id)
