"""Commands that span packages, so they live in the composition root: ``issue``, ``demo`` and ``migrate``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from credentials import licence_type, make_presentation
from credentials.instant import parse_instant
from issuer.cli import issuer_for
from service.config import Settings
from wallet.holder import StoredCredential, Wallet
from wallet.presenter import choose_view
from wallet.qr import write_png


@click.command("issue")
@click.argument("licence_type", type=click.Choice(["driving-licence", "resident-id", "business-licence", "health-code"]))
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="data directory (default $TONGBAN_DATA)")
@click.option("--wallet", "wallet_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--claims", "claims_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--now", "now_text", help="ISO 8601 time to issue at (default: now)")
def issue(licence_type: str, data_dir: str | None, wallet_dir: Path, claims_file: Path, now_text: str | None) -> None:
    """Validate, sign and store a licence into the wallet; prints its e-licence identifier."""
    if licence_type == "health-code":
        raise click.BadParameter(
            "a health code is not issued from a claims file: the health authority sets the colour (`tongban health set "
            "--id-number ... --colour ...`) and the citizen's wallet fetches the code; examples/health-code.json shows "
            "the claims such a code carries", param_hint="LICENCE_TYPE")
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
    settings = Settings.from_env(data_dir)
    wallet = Wallet(wallet_dir, settings.key_policy(wallet_dir))
    issued = issuer_for(settings).issue(licence_type, raw, wallet.public_key(), now=now)
    wallet.store(StoredCredential(issued.elicence_id, issued.licence_type, issued.authority_id, issued.views))
    click.echo(issued.elicence_id)


@click.command("demo")
@click.option("--dir", "demo_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="where the demo's files go  [default: tongban-demo; with --regions: tongban-demo-regions]")
@click.option("--regions", is_flag=True, help="互通互认 instead: a Beijing and a Shanghai hub recognise each other, "
              "and a Beijing counter checks Shanghai's licence and health code")
@click.option("--suite", "suite_name", default=None, metavar="standard|guomi",
              help="the demo hub's cryptographic suite, as `tongban init --suite` (guomi: SM2/SM3/SM4); a directory "
                   "made with the other suite is refused")
def demo(demo_dir: Path | None, regions: bool, suite_name: str | None) -> None:
    """Run the whole command-line flow once and say what happened at each step."""
    from service.cli import main  # the root group, to run the real commands

    def run(*args: str) -> None:
        click.secho(f"\n$ tongban {' '.join(args)}", fg="cyan")
        main.main(list(args), standalone_mode=False)

    if regions:
        from service.demo_regions import run_regions_demo

        run_regions_demo(demo_dir or Path("tongban-demo-regions"), run)
        return
    demo_dir = demo_dir or Path("tongban-demo")
    data, wallet_dir, cache = demo_dir / "data", demo_dir / "wallet", demo_dir / "counter-cache"  # the demo's own tree

    run("init", "--data", str(data), *(("--suite", suite_name) if suite_name else ()))
    settings = Settings.from_env(data)
    if not Wallet(wallet_dir, settings.key_policy(wallet_dir)).exists():
        run("wallet", "init", "--wallet", str(wallet_dir))
    examples = Path(__file__).resolve().parents[1] / "examples"
    claims_file = examples / "driving-licence.json"
    click.secho(f"\n$ tongban issue driving-licence --data {data} --wallet {wallet_dir} --claims {claims_file}", fg="cyan")
    raw = json.loads(claims_file.read_text(encoding="utf-8"))
    wallet = Wallet(wallet_dir, settings.key_policy(wallet_dir))
    issued = issuer_for(settings).issue("driving-licence", raw, wallet.public_key(), now=int(time.time()))
    wallet.store(StoredCredential(issued.elicence_id, issued.licence_type, issued.authority_id, issued.views))
    click.echo(issued.elicence_id)
    run("verifier", "sync", "--data", str(data), "--cache", str(cache))
    for disclose in ("full", "driving", "age"):
        png = demo_dir / f"licence-{disclose}.png"
        click.secho(f"\n$ tongban wallet present --wallet {wallet_dir} --credential {issued.elicence_id} "
                    f"--disclose {disclose} --png {png}", fg="cyan")
        now = int(time.time())
        view = choose_view(licence_type("driving-licence"), [disclose], issued.views)
        text = make_presentation(issued.views[view.name], wallet.device_key(now), now=now)
        click.echo(f"{text[:60]}... ({len(text)} characters, QR version {write_png(text, png)}-M, {png})")
        try:
            run("verify", "--cache", str(cache), "--image", str(png))
        except SystemExit:
            pass
    run("revoke", "--data", str(data), issued.elicence_id)
    run("verifier", "sync", "--data", str(data), "--cache", str(cache))
    now = int(time.time())
    text = make_presentation(issued.views["driving"], wallet.device_key(now), now=now)
    try:
        run("verify", "--cache", str(cache), text)
    except SystemExit:
        pass
    click.secho(f"\nDemo done: the licence verified offline, then showed as revoked. Files are in {demo_dir}/.", fg="green")


@click.command("migrate")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="data directory (default $TONGBAN_DATA)")
def migrate(data_dir: str | None) -> None:
    """Bring the database schema to the newest revision: every table's history (the IdP's, the issuer's) and the
    sealing of older personal data, under one lock (``service.schema``). Run it before starting the workers (the
    container's entry point does); several at once are safe. A database made before the issuer's migrations is
    stamped at their baseline first."""
    from issuer.cli import issuer_secret_for
    from service import schema
    from storage import make_engine

    settings = Settings.from_env(data_dir)
    engine = make_engine(settings.database_url)
    try:
        from idp.secrets import secrets_for

        reached = schema.migrate(engine, issuer_secret_for(settings), secrets_for(settings))
        for name, revision in reached.items():
            click.echo(f"{name} schema at {revision}")
    finally:
        engine.dispose()
