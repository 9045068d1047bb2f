"""Production start-up (TONGBAN_DEMO=0) refuses a demo history, plaintext keys and secrets, and http:// (issue 8,
items 15, 16, 17), and starts again after the documented commands."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from idp.cli import DEMO_CITIZEN
from idp.provider import Provider
from idp.registry import TableRegistry
from keys import KeyAtRestError
from keys.secret_file import is_sealed
from service.app import create_app
from service.config import ConfigError, Proxy, Settings
from service.health import DEMO_OFFICER
from service.production import ProductionRefused, file_problems
from service.wiring import main
from tests.conftest import examples

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "correct horse battery staple"
HTTPS = "https://id.example.gov.cn"
OTHER = ("李四", "440304198512124569", "13700137000")  # a citizen who is not a demo account


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.output


def wsgi_start(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Import the WSGI entry as gunicorn does, in a fresh process."""
    return subprocess.run([sys.executable, "-c", "import service.wsgi"], env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.fixture
def demo_dir(demo_data, monkeypatch) -> Path:
    """A data directory as `tongban init` leaves it in demo mode, plus one ordinary citizen's account."""
    for name in ("TONGBAN_KEY_PASSPHRASE", "TONGBAN_DEV_PLAINTEXT_KEYS", "TONGBAN_PROXY_HOPS",
                 "TONGBAN_TLS_TERMINATED_BY_PROXY", "TONGBAN_IDP_SECRET", "TONGBAN_ISSUER_SECRET", "DATABASE_URL",
                 "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TONGBAN_DEMO", "1")
    data = demo_data
    provider = Provider.from_settings(Settings.from_env(data), load_keys=False)
    provider.accounts.register(OTHER[0], OTHER[1], OTHER[2], "long-password-1", 1_700_000_000)
    return data


def production(monkeypatch, **extra: str) -> None:
    monkeypatch.setenv("TONGBAN_DEMO", "0")
    monkeypatch.setenv("TONGBAN_ISSUER_URL", HTTPS)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


def test_demo_files_are_private(demo_dir):
    """Issue 8, item 6: the SQLite file (accounts, registers) is 0600, the data directory 0700."""
    assert stat.S_IMODE((demo_dir / "tongban.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE(demo_dir.stat().st_mode) == 0o700
    for extra in demo_dir.glob("tongban.sqlite3-*"):  # WAL and shared memory follow the database file
        assert stat.S_IMODE(extra.stat().st_mode) & 0o077 == 0, extra


def test_an_existing_world_readable_database_is_tightened(tmp_path, monkeypatch):
    monkeypatch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    data = tmp_path / "old"
    data.mkdir()
    (data / "tongban.sqlite3").touch(mode=0o644)
    os.chmod(data / "tongban.sqlite3", 0o644)
    create_app(Settings.from_env(data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}))
    assert stat.S_IMODE((data / "tongban.sqlite3").stat().st_mode) == 0o600


@pytest.mark.slow
def test_production_refuses_a_demo_history_and_starts_after_the_documented_commands(demo_dir, monkeypatch):
    production(monkeypatch, TONGBAN_KEY_PASSPHRASE=PASSPHRASE)
    settings = Settings.from_env(demo_dir)
    # 1. The marker and the plaintext keys: every start path refuses, in one line naming the fix.
    with pytest.raises(ProductionRefused) as refused:
        create_app(settings)
    message = str(refused.value)
    assert "DEV-PLAINTEXT-KEYS" in message and "plaintext private keys" in message
    assert "tongban keys seal" in message and "\n" not in message
    out = run("init", "--data", str(demo_dir), code=2)
    assert out.startswith("error: refusing to start with TONGBAN_DEMO=0") and "tongban keys seal" in out
    assert out.count("\n") == 1
    out = run("serve", "--data", str(demo_dir), code=2)
    assert "tongban keys seal" in out
    started = wsgi_start({"TONGBAN_DATA": str(demo_dir)})
    assert started.returncode != 0 and started.stderr.strip().splitlines()[-1].startswith("error: refusing to start")
    assert "Traceback" not in started.stderr
    assert not is_sealed(demo_dir / "idp-secret")  # nothing was changed by the refusals

    # 2. `tongban keys seal`: keys encrypted, secrets sealed, marker gone. Then only the demo accounts are left.
    out = run("keys", "seal", "--data", str(demo_dir))
    assert "idp-secret sealed" in out and "issuer-secret sealed" in out
    assert not (demo_dir / "keys" / "DEV-PLAINTEXT-KEYS").exists()
    rings = [p.read_text() for p in (demo_dir / "keys").glob("*.json")]
    assert rings and all("BEGIN PRIVATE KEY" not in r for r in rings)
    for name in ("idp-secret", "issuer-secret"):
        assert is_sealed(demo_dir / name)
    with pytest.raises(ProductionRefused) as refused:
        create_app(settings)
    message = str(refused.value)
    assert f"{DEMO_CITIZEN['id_number']}, {DEMO_OFFICER['id_number']}" in message
    assert "tongban demo-data remove" in message and "keys seal" not in message

    # 3. `tongban demo-data remove`: the known passwords are gone, the service starts.
    out = run("demo-data", "remove", "--data", str(demo_dir))
    assert "deleted" in out
    app = create_app(settings)
    provider = app.extensions["tongban.idp"]
    assert provider.accounts.find(DEMO_CITIZEN["id_number"]) is None
    assert provider.accounts.find(DEMO_OFFICER["id_number"]) is None
    assert not TableRegistry(provider.engine, provider.secrets).matches(DEMO_CITIZEN["name"], DEMO_CITIZEN["id_number"])
    # The migration kept every secret: the ordinary citizen's encrypted ID number still opens.
    other = provider.accounts.find(OTHER[1])
    assert other is not None and provider.accounts.id_number(other) == OTHER[1]
    run("init", "--data", str(demo_dir))
    assert wsgi_start({"TONGBAN_DATA": str(demo_dir)}).returncode == 0


def test_a_demo_account_with_a_changed_password_is_not_refused(demo_dir, monkeypatch):
    production(monkeypatch, TONGBAN_KEY_PASSPHRASE=PASSPHRASE)
    run("keys", "seal", "--data", str(demo_dir))
    provider = Provider.from_settings(Settings.from_env(demo_dir), load_keys=False)
    from idp.accounts import HASHER

    officer = provider.accounts.find(DEMO_OFFICER["id_number"])
    provider.accounts._set_password_hash(officer.sub, HASHER.hash("a-new-long-password"))
    with pytest.raises(ProductionRefused, match="demo account") as refused:
        create_app(Settings.from_env(demo_dir))
    assert DEMO_OFFICER["id_number"] not in str(refused.value)


def test_plaintext_keys_without_the_marker_are_refused(demo_dir, monkeypatch):
    (demo_dir / "keys" / "DEV-PLAINTEXT-KEYS").unlink()
    production(monkeypatch, TONGBAN_KEY_PASSPHRASE=PASSPHRASE)
    with pytest.raises(ProductionRefused, match=r"plaintext private keys in .*hub-root.*idp.*tongban keys seal"):
        create_app(Settings.from_env(demo_dir))


def test_the_development_flag_is_refused(tmp_path):
    settings = Settings.from_env(tmp_path, env={"TONGBAN_DEMO": "0", "TONGBAN_ISSUER_URL": HTTPS,
                                                "TONGBAN_DEV_PLAINTEXT_KEYS": "1", "TONGBAN_KEY_PASSPHRASE": PASSPHRASE})
    problems = file_problems(settings)
    assert problems == ["TONGBAN_DEV_PLAINTEXT_KEYS=1 allows plaintext private keys: unset it"]


def test_a_plaintext_secret_without_a_passphrase_is_refused(tmp_path):
    from keys.secret_file import load_secret

    load_secret(tmp_path / "idp-secret", "TONGBAN_IDP_SECRET")
    production = {"TONGBAN_DEMO": "0", "TONGBAN_ISSUER_URL": HTTPS}
    [problem] = file_problems(Settings.from_env(tmp_path, env=production))
    assert "idp-secret is a plaintext secret" in problem and "TONGBAN_KEY_PASSPHRASE" in problem
    # the environment replaces the file; with a passphrase the next start seals it
    assert file_problems(Settings.from_env(tmp_path, env={**production, "TONGBAN_IDP_SECRET": "ab" * 32})) == []
    assert file_problems(Settings.from_env(tmp_path, env={**production, "TONGBAN_KEY_PASSPHRASE": PASSPHRASE})) == []


def test_a_plaintext_secret_is_sealed_at_the_next_start_with_a_passphrase(demo_dir, monkeypatch):
    """Demo mode too: a passphrase set later seals the secrets at the next start, and nothing is lost."""
    idp_secret = (demo_dir / "idp-secret").read_text().strip()
    monkeypatch.setenv("TONGBAN_KEY_PASSPHRASE", PASSPHRASE)
    app = create_app(Settings.from_env(demo_dir))
    text = (demo_dir / "idp-secret").read_text()
    assert idp_secret not in text and is_sealed(demo_dir / "idp-secret") and is_sealed(demo_dir / "issuer-secret")
    provider = app.extensions["tongban.idp"]
    assert provider.accounts.id_number(provider.accounts.find(OTHER[1])) == OTHER[1]
    assert provider.accounts.id_number(provider.accounts.find(DEMO_CITIZEN["id_number"])) == DEMO_CITIZEN["id_number"]


@pytest.fixture
def production_dir(tmp_path, monkeypatch) -> Path:
    for name in ("TONGBAN_DEV_PLAINTEXT_KEYS", "TONGBAN_PROXY_HOPS", "TONGBAN_TLS_TERMINATED_BY_PROXY"):
        monkeypatch.delenv(name, raising=False)
    production(monkeypatch, TONGBAN_KEY_PASSPHRASE=PASSPHRASE)
    data = tmp_path / "prod"
    run("init", "--data", str(data))
    return data


def test_an_http_issuer_url_is_refused_in_production(production_dir, monkeypatch):
    monkeypatch.setenv("TONGBAN_ISSUER_URL", "http://id.example.gov.cn")
    with pytest.raises(ProductionRefused, match="is not https:// .*TONGBAN_TLS_TERMINATED_BY_PROXY=1"):
        create_app(Settings.from_env(production_dir))
    assert "is not https://" in run("init", "--data", str(production_dir), code=2)
    monkeypatch.setenv("TONGBAN_TLS_TERMINATED_BY_PROXY", "1")  # the override alone is not enough
    with pytest.raises(ProductionRefused, match="TONGBAN_PROXY_HOPS"):
        create_app(Settings.from_env(production_dir))


def test_tls_at_a_proxy_is_accepted_with_hops_and_cookies_stay_secure(production_dir, monkeypatch):
    monkeypatch.setenv("TONGBAN_ISSUER_URL", "http://id.example.gov.cn")
    monkeypatch.setenv("TONGBAN_TLS_TERMINATED_BY_PROXY", "1")
    monkeypatch.setenv("TONGBAN_PROXY_HOPS", "1")
    app = create_app(Settings.from_env(production_dir))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    response = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c for c in cookies)


def test_https_production_starts_and_bad_proxy_settings_are_config_errors(production_dir, monkeypatch):
    assert create_app(Settings.from_env(production_dir)).config["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("TONGBAN_TLS_TERMINATED_BY_PROXY", "yes")
    assert "TONGBAN_TLS_TERMINATED_BY_PROXY must be 0 or 1" in run("init", "--data", str(production_dir), code=2)


def test_a_wrong_passphrase_seals_nothing(production_dir, monkeypatch):
    """The secrets must not end up sealed under a mistyped passphrase that opens none of the keys."""
    plain = "ab" * 32
    (production_dir / "idp-secret").write_text(plain)
    monkeypatch.setenv("TONGBAN_KEY_PASSPHRASE", "a mistyped passphrase")
    with pytest.raises(KeyAtRestError):
        create_app(Settings.from_env(production_dir))
    assert "cannot decrypt" in run("keys", "seal", "--data", str(production_dir), code=2)
    assert (production_dir / "idp-secret").read_text() == plain
    monkeypatch.delenv("TONGBAN_KEY_PASSPHRASE")
    assert "set TONGBAN_KEY_PASSPHRASE" in run("keys", "seal", "--data", str(production_dir), code=2)
    monkeypatch.setenv("TONGBAN_KEY_PASSPHRASE", PASSPHRASE)
    create_app(Settings.from_env(production_dir))
    assert is_sealed(production_dir / "idp-secret")


@settings(max_examples=examples(200), deadline=None)
@given(hops=st.text(max_size=8), tls=st.text(max_size=4))
@example(hops="²", tls="1")  # str.isdigit() is true for it, int() refuses it
def test_proxy_settings_parse_or_name_the_variable(hops, tls):
    try:
        proxy = Proxy.from_env({"TONGBAN_PROXY_HOPS": hops, "TONGBAN_TLS_TERMINATED_BY_PROXY": tls})
    except ConfigError as exc:
        assert "TONGBAN_PROXY_HOPS" in str(exc) or "TONGBAN_TLS_TERMINATED_BY_PROXY" in str(exc)
        return
    assert 0 <= proxy.hops <= 16 and proxy.tls_terminated in (True, False)


def test_a_non_ascii_digit_in_the_health_code_ttl_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="TONGBAN_HEALTH_CODE_TTL"):
        Settings.from_env(tmp_path, env={"TONGBAN_HEALTH_CODE_TTL": "³"})
