"""``tongban wallet ...``: the holder's command line (the phone page reuses the same format)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import click

from credentials import licence_type, make_presentation
from credentials.counter_code import CounterCodeError, parse_counter_code
from credentials.instant import parse_instant
from keys import AtRestPolicy, mark_development
from keys.at_rest import PASSPHRASE_ENV
from wallet.errors import WalletError
from wallet.holder import Wallet
from wallet.presenter import choose_view
from wallet.qr import terminal, write_png

# How the device key is kept at rest: set by ``attach`` from the composition root's settings
# (TONGBAN_KEY_PASSPHRASE, TONGBAN_DEV_PLAINTEXT_KEYS); the wallet reads no environment itself.
_key_policy: Callable[[Path], AtRestPolicy] = AtRestPolicy.for_directory

wallet_option = click.option("--wallet", "wallet_dir", required=True, type=click.Path(file_okay=False, path_type=Path))


@click.group("wallet")
def wallet_group() -> None:
    """The holder's wallet: device key and credentials."""


@wallet_group.command("init")
@wallet_option
@click.option("--alg", type=click.Choice(["ES256", "EdDSA"]), default="ES256", show_default=True)
def init(wallet_dir: Path, alg: str) -> None:
    """Create a holder with a new device key; prints its public key as a JWK."""
    policy = _key_policy(wallet_dir)
    if policy.passphrase is None and not policy.allow_plaintext:
        mark_development(wallet_dir)
        click.echo(f"DEVELOPMENT MODE: the device key in {wallet_dir} is stored unencrypted; "
                   f"set {PASSPHRASE_ENV} to encrypt it", err=True)
    public = Wallet(wallet_dir, _key_policy(wallet_dir)).create(int(time.time()), alg)
    click.echo(json.dumps(public.public_jwk()))


@wallet_group.command("list")
@wallet_option
def list_command(wallet_dir: Path) -> None:
    """List the credentials held, with their views."""
    for cred in Wallet(wallet_dir, _key_policy(wallet_dir)).list():
        click.echo(f"{cred.elicence_id}  {cred.licence_type}  views: {', '.join(sorted(cred.views))}")


@wallet_group.command("present")
@wallet_option
@click.option("--credential", "elicence_id", required=True, help="e-licence identifier")
@click.option("--disclose", help="claims to show (comma-separated) or a view name: full, driving, age, ...")
@click.option("--png", "png", type=click.Path(dir_okay=False, path_type=Path), help="also write the QR as PNG")
@click.option("--terminal", "show_terminal", is_flag=True, help="also draw the QR in the terminal (stderr)")
@click.option("--challenge", help="the counter's challenge, signed into the presentation")
@click.option("--counter-code", metavar="TBC1:...",
              help="a two-way counter's code (scanned from its page): its id and challenge are signed in")
@click.option("--now", "now_text", help="ISO 8601 time to present at (default: now)")
def present(wallet_dir: Path, elicence_id: str, disclose: str | None, png: Path | None, show_terminal: bool,
            challenge: str | None, counter_code: str | None, now_text: str | None) -> None:
    """Make a fresh presentation; prints the QR string."""
    if challenge is not None and counter_code is not None:
        raise click.UsageError("give --challenge or --counter-code, not both")
    nonce, audience = (challenge.encode() if challenge else None), None
    if counter_code is not None:
        try:
            code = parse_counter_code(counter_code)
        except CounterCodeError as exc:
            raise click.BadParameter(str(exc), param_hint="--counter-code") from exc
        nonce, audience = code.challenge, code.counter_id
    try:
        now = parse_instant(now_text) if now_text else int(time.time())
    except ValueError as exc:
        raise click.BadParameter(f"{now_text!r} is not an ISO 8601 time") from exc
    wallet = Wallet(wallet_dir, _key_policy(wallet_dir))
    stored = wallet.load(elicence_id)
    view = choose_view(licence_type(stored.licence_type), disclose.split(",") if disclose else None, stored.views)
    text = make_presentation(stored.views[view.name], wallet.device_key(now), now=now, challenge=nonce,
                             audience=audience)
    if png:
        version = write_png(text, png)
        click.echo(f"QR version {version}-M written to {png}", err=True)
    if show_terminal:
        click.echo(terminal(text), err=True)
    click.echo(text)


def attach(main: click.Group, register: Callable, key_policy: Callable[[Path], AtRestPolicy] | None = None) -> None:
    """Hang ``tongban wallet`` on ``main``; ``key_policy(directory)`` comes from the service settings."""
    global _key_policy
    if key_policy is not None:
        _key_policy = key_policy
    main.add_command(wallet_group)
    register(WalletError)
