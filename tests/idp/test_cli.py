"""The idp commands: registry import, accounts register, clients add, and the init step."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from service.wiring import main


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(main, [*args, "--data", str(tmp_path)], input=input)

    return invoke


@pytest.mark.slow
def test_init_is_idempotent_and_seeds_the_demo_citizen(run, tmp_path):
    first = run("init")
    assert first.exit_code == 0, first.output
    assert "110101199003071233" in first.output and "tongban-demo-2024" in first.output
    assert "already present" in run("init").output
    assert (tmp_path / "keys" / "idp.json").exists() and (tmp_path / "keys" / "idp-rs256.json").exists()
    (tmp_path / "keys" / "idp-rs256.json").unlink()  # a data directory from before RS256
    assert run("init").exit_code == 0
    ring = json.loads((tmp_path / "keys" / "idp-rs256.json").read_text())
    assert [k["alg"] for k in ring["keys"]] == ["RS256"]
    before = (tmp_path / "keys" / "idp-rs256.json").read_text()
    assert run("init").exit_code == 0 and (tmp_path / "keys" / "idp-rs256.json").read_text() == before
    assert "PRIVATE KEY" in (tmp_path / "keys" / "idp.json").read_text()  # dev marker: plaintext allowed


def test_registry_import_and_accounts_register(run, tmp_path):
    csv = tmp_path / "people.csv"
    csv.write_text("name,id_number\n李四,440304198512124569\n王芳,310104199206157893\n", encoding="utf-8")
    result = run("registry", "import", str(csv))
    assert result.exit_code == 0 and "imported 2" in result.output
    ok = run("accounts", "register", "--name", "李四", "--id-number", "440304198512124569", "--phone",
             "13900139000", "--password-stdin", input="a-long-password\n")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["assurance"] == "real-name"
    mismatch = run("accounts", "register", "--name", "王五", "--id-number", "310104199206157893", "--phone",
                   "13900139001", "--password-stdin", input="a-long-password\n")
    assert mismatch.exit_code == 2 and "do not match" in mismatch.output
    invalid = run("accounts", "register", "--name", "王芳", "--id-number", "310104199206157890", "--phone",
                  "13900139001", "--password-stdin", input="a-long-password\n")
    assert invalid.exit_code == 2 and "check digit" in invalid.output
    # the ID number is stored encrypted and looked up by keyed hash; never in clear
    db = (tmp_path / "tongban.sqlite3").read_bytes()
    assert b"440304198512124569" not in db
    engine = create_engine(f"sqlite:///{tmp_path / 'tongban.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from idp_accounts")).scalar() == 1
    engine.dispose()


def test_registry_import_reports_bad_rows(run, tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("name,id_number\n李四,440304198512124560\n", encoding="utf-8")
    result = run("registry", "import", str(csv))
    assert result.exit_code == 2 and "line 2" in result.output
    csv.write_text("who,what\n", encoding="utf-8")
    assert "header" in run("registry", "import", str(csv)).output


def test_clients_add(run, tmp_path):
    result = run("clients", "add", "--name", "社保查询", "--redirect-uri", "https://app.example.gov.cn/cb",
                 "--scope", "openid", "--scope", "profile id_number",
                 "--backchannel-logout-uri", "https://app.example.gov.cn/bcl")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["client_id"].startswith("tb-") and len(out["client_secret"]) >= 40
    assert out["scope"] == "openid profile id_number" and out["id_token_signed_response_alg"] == "ES256"
    rs = run("clients", "add", "--name", "国际版", "--redirect-uri", "https://app.example.gov.cn/cb",
             "--id-token-alg", "RS256")
    assert rs.exit_code == 0, rs.output
    assert json.loads(rs.output)["id_token_signed_response_alg"] == "RS256"
    engine = create_engine(f"sqlite:///{tmp_path / 'tongban.sqlite3'}")
    with engine.connect() as conn:
        stored = conn.execute(text("select id_token_alg from idp_clients where client_id = :c"),
                              {"c": json.loads(rs.output)["client_id"]}).scalar()
    engine.dispose()
    assert stored == "RS256"
    assert run("clients", "add", "--name", "x", "--redirect-uri", "https://a.example/cb", "--id-token-alg",
               "HS256").exit_code == 2
    public = json.loads(run("clients", "add", "--name", "小程序", "--redirect-uri", "http://127.0.0.1:5000/cb",
                            "--public").output)
    assert "client_secret" not in public and public["token_endpoint_auth_method"] == "none"
    bad = run("clients", "add", "--name", "x", "--redirect-uri", "http://evil.example/cb")
    assert bad.exit_code == 2 and "https" in bad.output
    bad = run("clients", "add", "--name", "x", "--redirect-uri", "https://a.example/cb", "--scope", "email")
    assert bad.exit_code == 2 and "unknown scope" in bad.output


def test_accounts_verify_sets_the_assurance_level(run):
    assert run("init").exit_code == 0
    ok = run("accounts", "verify", "--id-number", "110101199003071233")
    assert ok.exit_code == 0 and "counter-verified" in ok.output
    missing = run("accounts", "verify", "--id-number", "440304198512124569")
    assert missing.exit_code == 2 and "no account" in missing.output


def test_clients_add_counter(run, tmp_path):
    """免证办: a counter client (client credentials, private_key_jwt, scope counter) with its key made here."""
    from verifier.fetch import HttpFetcher

    out_file = tmp_path / "counter-a.json"
    result = run("clients", "add-counter", "bj-dc-3", "--name", "东城区政务服务中心 3 号窗口", "--out", str(out_file))
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["client_id"] == "bj-dc-3" and out["scope"] == "counter" and out["grant_types"] == ["client_credentials"]
    assert out_file.stat().st_mode & 0o077 == 0, "the counter's private key is for its owner only"
    fetcher = HttpFetcher.from_file(out_file)
    assert fetcher.client_id == "bj-dc-3" and fetcher.fetch_endpoint.endswith("/issuer/fetch")
    again = run("clients", "add-counter", "bj-dc-3", "--name", "x", "--out", str(tmp_path / "other.json"))
    assert again.exit_code == 2 and "taken" in again.output
    assert run("clients", "add-counter", "bj-dc-4", "--name", "x", "--out", str(out_file)).exit_code == 2  # no overwrite
    assert run("clients", "add-counter", "bj-dc-4", "--name", "x").exit_code == 2  # neither --jwks nor --out
    assert run("clients", "add-counter", "bad id!", "--name", "x", "--out", str(tmp_path / "b.json")).exit_code == 2
    jwks = tmp_path / "private.json"
    jwks.write_text(json.dumps({"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "secret"}]}))
    refused = run("clients", "add-counter", "bj-dc-5", "--name", "x", "--jwks", str(jwks))
    assert refused.exit_code == 2 and "private" in refused.output
    # An ordinary app can never get the counter role.
    app = run("clients", "add", "--name", "x", "--redirect-uri", "https://a.example/cb", "--scope", "counter")
    assert app.exit_code == 2 and "counter" in app.output
