"""``tongban issue-offer``: an OpenID4VCI Credential Offer (pre-authorized code + tx_code) for one register entry,
printed as the offer URI, the tx_code and a QR (PNG and/or terminal; ``wallet.qr``), for a counter's screen or a
letter. It lives in the composition root because it joins the issuer's offers to the wallet's QR rendering."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click

from credentials.sdjwt.vc import SIGNING_ALGORITHMS
from issuer.cli import engine_for, hub_for, records_for
from issuer.errors import IssuerError
from issuer.offers import DEFAULT_TTL, MAX_TTL, Offers
from issuer.vci.configurations import CONFIGURATIONS, SD_JWT_SUFFIX
from service.config import Settings
from wallet.qr import terminal, write_png

TYPES = sorted({c.ltype.name for c in CONFIGURATIONS.values()})


@click.command("issue-offer")
@click.argument("licence_type", type=click.Choice(TYPES))
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="data directory (default $TONGBAN_DATA)")
@click.option("--holder", "holder", help="the GB 11643 ID number the register entry is held for")
@click.option("--record", "record_id", help="the register entry's id (instead of --holder)")
@click.option("--format", "formats", type=click.Choice(["sd-jwt", "cose", "both"]), default="sd-jwt",
              show_default=True, help="dc+sd-jwt (SD-JWT VC), tongban-cose (QR format), or both")
@click.option("--ttl", type=click.IntRange(60, MAX_TTL), default=DEFAULT_TTL, show_default=True,
              help="seconds the offer can be used (a letter: up to 7 days)")
@click.option("--by-value", is_flag=True, help="put the offer itself in the URI (default: a credential_offer_uri "
                                                "the issuer serves once)")
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), help="write the offer QR as a PNG")
@click.option("--terminal", "show_terminal", is_flag=True, help="print the offer QR in the terminal")
def issue_offer(licence_type: str, data_dir: str | None, holder: str | None, record_id: str | None, formats: str,
                ttl: int, by_value: bool, png: Path | None, show_terminal: bool) -> None:
    """Make a Credential Offer for one register entry; prints the offer URI, the tx_code (give it to the holder
    another way than the QR) and when it expires."""
    if (holder is None) == (record_id is None):
        raise click.UsageError("give exactly one of --holder and --record")
    settings = Settings.from_env(data_dir)
    records = records_for(settings)
    if record_id is not None:
        record = records.get(record_id)
        if record is None or record.licence_type != licence_type:
            raise click.BadParameter(f"no {licence_type} register entry {record_id}", param_hint="--record")
    else:
        found = [r for r in records.held_by(holder.strip()) if r.licence_type == licence_type]
        if not found:
            raise click.BadParameter(f"no {licence_type} on record for this ID number", param_hint="--holder")
        record = found[0]
    now = int(time.time())
    configurations = {"sd-jwt": [licence_type + SD_JWT_SUFFIX], "cose": [licence_type],
                      "both": [licence_type + SD_JWT_SUFFIX, licence_type]}[formats]
    if formats != "cose":
        alg = hub_for(settings).signing_key(record.authority_id, now).public.alg
        if alg not in SIGNING_ALGORITHMS:
            raise click.BadParameter(f"{record.authority_id} signs with {alg}: SD-JWT VC needs "
                                     f"{' or '.join(SIGNING_ALGORITHMS)} (JOSE has no SM2); use --format cose",
                                     param_hint="--format")
    url = settings.issuer_url
    try:
        offer = Offers(engine_for(settings)).create(
            record_id=record.record_id, configurations=configurations, issuer_url=url,
            authorization_server=url + "/issuer", now=now, ttl=ttl, by_reference=not by_value)
    except IssuerError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"offer: {offer.uri}")
    click.echo(f"tx_code: {offer.tx_code}")
    click.echo(f"expires: {dt.datetime.fromtimestamp(offer.expires_at, dt.UTC).isoformat()}")
    if png is not None:
        version = write_png(offer.uri, png)
        click.echo(f"qr: {png} (version {version})")
    if show_terminal:
        click.echo(terminal(offer.uri))
