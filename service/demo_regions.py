"""``tongban demo --regions``: 互通互认 walked through with two hubs on this machine, each step printed.

A Beijing hub and a Shanghai hub (``init --region 310000``) recognise each other; Shanghai issues a citizen a
driving licence and a health code; a Beijing counter, synced from the Beijing hub alone, finds both valid and
names the issuer and its region (上海市 (310000)); Shanghai revokes the licence, the Beijing hub refreshes its
recognition, the counter syncs, and the licence is refused. Every step runs the real command where there is one;
the health code is fetched as the wallet's ``POST /issuer/health-code`` does (there is no command for it).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click

from credentials import make_presentation
from credentials.regions import region_label
from keys.layout import Layout
from service.config import Settings
from wallet.holder import StoredCredential, Wallet

CITIZEN = {"name": "张三", "id_number": "110101199003071233"}  # the demo citizen (`tongban init`), visiting Shanghai
SHANGHAI = "310000"


class _Tee(io.TextIOBase):
    """Writes through to the terminal and keeps a copy, so the demo can read what a command printed."""

    def __init__(self, out: io.TextIOBase):
        self.out, self.kept = out, io.StringIO()

    def write(self, text: str) -> int:
        self.kept.write(text)
        return self.out.write(text)

    def flush(self) -> None:
        self.out.flush()


def screen(decision_json: str) -> str:
    """What the Beijing counter's screen says for a verdict ``tongban verify`` printed (``verifier.display``)."""
    d = json.loads(decision_json)
    words = "有效 / VALID" if d["valid"] else f"无效 / NOT VALID ({', '.join(d['reasons'])})"
    issuer = d.get("issuer") or {}
    line = f"counter screen: {words}"
    if issuer:
        line += f" · 签发 / issued by {issuer['name']} · {region_label(issuer['region'])}"
        if issuer.get("recognised_until") is not None:
            line += " · 外地签发 · 互通互认 / issued in another region, mutually recognised"
    return line


def run_regions_demo(demo_dir: Path, run: Callable[..., None]) -> None:
    """The walk-through; ``run(*args)`` prints ``$ tongban ARGS`` and runs that command (``commands.demo``)."""
    from issuer.cli import desk_for

    bj, sh = demo_dir / "beijing", demo_dir / "shanghai"
    bj_data, sh_data, wallet_dir, cache = bj / "data", sh / "data", demo_dir / "wallet", bj / "counter"
    run("init", "--data", str(bj_data))
    run("init", "--data", str(sh_data), "--region", SHANGHAI)
    run("hub", "recognise", "--data", str(bj_data), "--peer-data", str(sh_data),
        "--peer-root", str(Layout(sh_data).hub_root_jwk))
    run("hub", "recognise", "--data", str(sh_data), "--peer-data", str(bj_data),
        "--peer-root", str(Layout(bj_data).hub_root_jwk))
    settings = Settings.from_env(sh_data)
    if not Wallet(wallet_dir, settings.key_policy(wallet_dir)).exists():
        run("wallet", "init", "--wallet", str(wallet_dir))
    wallet = Wallet(wallet_dir, settings.key_policy(wallet_dir))

    claims_file = demo_dir / "shanghai-driving-licence.json"
    examples = Path(__file__).resolve().parents[1] / "examples"
    claims = json.loads((examples / "driving-licence.json").read_text(encoding="utf-8"))
    claims.update(issuing_authority="上海市公安局交通警察总队", address="上海市黄浦区人民大道200号")
    claims_file.write_text(json.dumps(claims, ensure_ascii=False, indent=1), encoding="utf-8")
    licence_id = _captured(run, "issue", "driving-licence", "--data", str(sh_data), "--wallet", str(wallet_dir),
                           "--claims", str(claims_file)).strip().splitlines()[-1]

    click.secho(f"\n# {CITIZEN['name']}'s wallet fetches a health code from the Shanghai hub "
                "(as POST /issuer/health-code does)", fg="cyan")
    now = int(time.time())
    code = desk_for(settings).fetch(CITIZEN["id_number"], CITIZEN["name"], wallet.public_key(), now=now)
    wallet.store(StoredCredential(code.elicence_id, "health-code", code.authority_id, code.views))
    click.echo(f"{code.elicence_id} ({code.colour}, from {code.authority_id})")

    run("verifier", "sync", "--data", str(bj_data), "--cache", str(cache))
    stored = {c.elicence_id: c for c in wallet.list()}
    shows = (("the Shanghai driving licence", licence_id, "driving"), ("the Shanghai health code", code.elicence_id,
                                                                      "code"))
    for what, elicence_id, view in shows:
        _verify_at_counter(run, cache, wallet, stored[elicence_id].views[view], what)

    run("revoke", "--data", str(sh_data), licence_id)
    run("hub", "refresh", "--data", str(bj_data), "--all")
    run("verifier", "sync", "--data", str(bj_data), "--cache", str(cache))
    _verify_at_counter(run, cache, wallet, stored[licence_id].views["driving"], "the revoked licence")
    click.secho(f"\nDemo done: a Beijing counter took Shanghai's licence and health code, then refused the licence "
                f"once Shanghai revoked it. Files are in {demo_dir}/.", fg="green")


def _captured(run: Callable[..., None], *args: str) -> str:
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        try:
            run(*args)
        except SystemExit:
            pass  # `tongban verify` exits 1 for a refused code: that is an answer, not a failure
    return tee.kept.getvalue()


def _verify_at_counter(run: Callable[..., None], cache: Path, wallet: Wallet, view: bytes, what: str) -> None:
    click.secho(f"\n# {what}, shown at the Beijing counter", fg="cyan")
    now = int(time.time())
    qr = make_presentation(view, wallet.device_key(now), now=now)
    printed = _captured(run, "verify", "--cache", str(cache), qr)
    click.secho(screen(printed[printed.index("{"):]), bold=True)
