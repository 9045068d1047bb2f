"""``tongban`` commands of the identity provider: registry import, accounts, clients; its init step."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from idp.errors import IdpError

DEMO_CITIZEN = {"name": "张三", "id_number": "110101199003071233", "phone": "13800138000",
                "password": "tongban-demo-2024"}  # the documented demo password


_settings_from_env = None  # set by ``attach``: the composition root's Settings.from_env


def _provider(data_dir: str | None):
    from idp.provider import Provider

    return Provider.from_settings(_settings_from_env(data_dir), load_keys=False)


_data = click.option("--data", "data_dir", type=click.Path(file_okay=False), help="data directory")


@click.group("registry")
def registry_group() -> None:
    """Population registry (embedded table) used for real-name checks."""


@registry_group.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@_data
def registry_import(csv_file: str, data_dir: str | None) -> None:
    """Import people from a CSV file with columns name,id_number."""
    from idp.registry import TableRegistry, parse_csv

    p = _provider(data_dir)
    try:
        text = Path(csv_file).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IdpError(f"{csv_file} is not UTF-8 text") from exc
    count = TableRegistry(p.engine, p.secrets).add(parse_csv(text))
    click.echo(f"imported {count} people into the population registry")


@click.group("accounts")
def accounts_group() -> None:
    """Real-name citizen accounts."""


@accounts_group.command("register")
@click.option("--name", required=True)
@click.option("--id-number", required=True)
@click.option("--phone", required=True)
@click.option("--password-stdin", is_flag=True, required=True, help="read the password from standard input")
@_data
def accounts_register(name: str, id_number: str, phone: str, password_stdin: bool, data_dir: str | None) -> None:
    """Register a citizen with the same checks as the registration page."""
    password = sys.stdin.readline().rstrip("\r\n")
    account = _provider(data_dir).accounts.register(name, id_number, phone, password, int(time.time()))
    click.echo(json.dumps({"sub": account.sub, "name": account.name, "assurance": account.assurance},
                          ensure_ascii=False))


@accounts_group.command("verify")
@click.option("--id-number", required=True)
@click.option("--level", type=click.Choice(["real-name", "real-person", "counter-verified"]),
              default="counter-verified", show_default=True)
@_data
def accounts_verify(id_number: str, level: str, data_dir: str | None) -> None:
    """Record an assurance level set by an authority (e.g. verified in person at a counter)."""
    p = _provider(data_dir)
    account = p.accounts.find(id_number)
    if account is None:
        raise IdpError("no account with that ID number")
    p.accounts.set_assurance(account.sub, level)
    click.echo(f"assurance set to {level}")


@click.group("clients")
def clients_group() -> None:
    """OpenID Connect relying parties (government apps)."""


@clients_group.command("add")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True)
@click.option("--public", is_flag=True, help="a public client (no secret; PKCE only)")
@click.option("--scope", "scopes", multiple=True, help="allowed scope (repeatable): openid profile phone id_number")
@click.option("--backchannel-logout-uri")
@click.option("--post-logout-redirect-uri", "post_logout", multiple=True)
@click.option("--jwks", "jwks_file", type=click.Path(exists=True, dir_okay=False),
              help="JWKS file: authenticate with private_key_jwt")
@click.option("--id-token-alg", type=click.Choice(["ES256", "RS256"]), default="ES256", show_default=True,
              help="id_token_signed_response_alg: the algorithm of this client's ID tokens")
@click.option("--subject-type", type=click.Choice(["pairwise", "public"]), default="pairwise", show_default=True,
              help="OIDC Core §8: pairwise (a sub of its own per app host, so apps cannot join their data) or public")
@_data
def clients_add(name: str, redirect_uris: tuple[str, ...], public: bool, scopes: tuple[str, ...],
                backchannel_logout_uri: str | None, post_logout: tuple[str, ...], jwks_file: str | None,
                id_token_alg: str, subject_type: str, data_dir: str | None) -> None:
    """Register a client; prints JSON with client_id (and client_secret for confidential clients)."""
    jwks = None
    if jwks_file:
        try:
            jwks = json.loads(Path(jwks_file).read_text())
        except ValueError as exc:
            raise IdpError(f"{jwks_file} is not JSON") from exc
    flat = [s for group in scopes for s in group.split()] or None
    out = _provider(data_dir).clients.add(name, list(redirect_uris), public=public, scopes=flat,
                                          backchannel_logout_uri=backchannel_logout_uri,
                                          post_logout_redirect_uris=list(post_logout), jwks=jwks,
                                          id_token_alg=id_token_alg, subject_type=subject_type)
    click.echo(json.dumps(out, ensure_ascii=False, indent=1))


@clients_group.command("add-counter")
@click.argument("counter_id")
@click.option("--name", required=True, help="what the citizen reads in their record, e.g. 东城区政务服务中心 3 号窗口")
@click.option("--jwks", "jwks_file", type=click.Path(exists=True, dir_okay=False),
              help="the counter's public JWKS (its key made on the counter PC)")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="instead of --jwks: make the counter's key here and write its configuration file (0600) for "
                   "`tongban verifier serve --fetch FILE` / TONGBAN_COUNTER_FETCH")
@_data
def clients_add_counter(counter_id: str, name: str, jwks_file: str | None, out_file: Path | None,
                        data_dir: str | None) -> None:
    """Register a counter that may fetch licences with the holder's authorisation (免证办): client credentials
    with private_key_jwt, scope counter; its client id is COUNTER_ID (the id its two-way code shows)."""
    import keys

    if (jwks_file is None) == (out_file is None):
        raise click.UsageError("give --jwks (a key made on the counter) or --out (make one here)")
    key = None
    if jwks_file:
        try:
            jwks = json.loads(Path(jwks_file).read_text())
        except ValueError as exc:
            raise IdpError(f"{jwks_file} is not JSON") from exc
    else:
        if out_file.exists():
            raise click.UsageError(f"{out_file} exists: not overwriting a counter's key")
        if not out_file.parent.is_dir():
            raise click.UsageError(f"{out_file.parent} is not a directory")
        key = keys.generate("ES256")
        jwks = {"keys": [key.public.public_jwk()]}
    settings = _settings_from_env(data_dir)
    out = _provider(data_dir).clients.add_counter(counter_id, name, jwks)
    if key is not None:
        config = {"client_id": counter_id, "issuer": settings.issuer_url,
                  "token_endpoint": settings.issuer_url + "/token",
                  "fetch_endpoint": settings.issuer_url + "/issuer/fetch",
                  "key_pem": key.to_pem(None).decode("ascii")}
        tmp = out_file.with_name(out_file.name + ".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(json.dumps(config, indent=1))
        tmp.replace(out_file)
        out["configuration"] = str(out_file)
    click.echo(json.dumps(out, ensure_ascii=False, indent=1))


def init_step(settings, echo) -> None:
    """Seed the demo population registry and the demo citizen; create the idp signing keys (ES256 and RS256,
    adding the RS256 ring to an older data directory). Idempotent."""
    import keys
    from idp.provider import Provider
    from idp.registry import DEMO_PEOPLE, TableRegistry

    layout = keys.Layout(settings.data_dir)
    key_dir = layout.keys
    if not settings.key_policy(key_dir).passphrase and not layout.dev_marker.exists():
        if not getattr(settings, "demo", True):
            raise keys.KeyAtRestError("set TONGBAN_KEY_PASSPHRASE: outside demo mode private keys are encrypted at rest")
        keys.mark_development(key_dir)
    p = Provider.from_settings(settings)
    p.jwks()  # creates the idp key rings on first run
    if not getattr(settings, "demo", True):
        echo("idp: signing keys ready; no demo people or accounts (TONGBAN_DEMO=0)")
        return
    TableRegistry(p.engine, p.secrets).add(DEMO_PEOPLE)
    c = DEMO_CITIZEN
    if p.accounts.find(c["id_number"]) is None:
        p.accounts.register(c["name"], c["id_number"], c["phone"], c["password"], int(time.time()))
        echo(f"idp: demo citizen {c['name']} — username {c['id_number']} (or {c['phone']}), password {c['password']}")
    else:
        echo("idp: demo registry and citizen already present")


def attach(main: click.Group, init_steps: list, register, settings_from_env) -> None:
    """Hang the idp commands on ``main``; ``settings_from_env(data_dir)`` builds the service settings."""
    global _settings_from_env
    _settings_from_env = settings_from_env
    main.add_command(registry_group)
    main.add_command(accounts_group)
    main.add_command(clients_group)
    init_steps.append(init_step)
    register(IdpError)
