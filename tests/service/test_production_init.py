"""`tongban init` outside demo mode (TONGBAN_DEMO=0, as the Dockerfile sets): no known passwords, no plaintext keys."""

from __future__ import annotations

from click.testing import CliRunner

from idp.cli import DEMO_CITIZEN
from idp.provider import Provider
from service.config import Settings
from service.health import DEMO_OFFICER
from service.wiring import main


def test_without_a_passphrase_production_init_refuses(tmp_path, monkeypatch):
    monkeypatch.setenv("TONGBAN_DEMO", "0")
    monkeypatch.setenv("TONGBAN_ISSUER_URL", "https://id.example.gov.cn")  # production refuses http:// first
    monkeypatch.delenv("TONGBAN_KEY_PASSPHRASE", raising=False)
    result = CliRunner().invoke(main, ["init", "--data", str(tmp_path / "d")])
    assert result.exit_code == 2 and "TONGBAN_KEY_PASSPHRASE" in result.output, result.output
    assert not list((tmp_path / "d").rglob("DEV-PLAINTEXT-KEYS"))


def test_production_init_seeds_no_demo_people_and_encrypts_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("TONGBAN_DEMO", "0")
    monkeypatch.setenv("TONGBAN_ISSUER_URL", "https://id.example.gov.cn")  # production refuses http://
    monkeypatch.setenv("TONGBAN_KEY_PASSPHRASE", "correct horse battery staple")
    data = tmp_path / "d"
    result = CliRunner().invoke(main, ["init", "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "password" not in result.output
    provider = Provider.from_settings(Settings.from_env(data), load_keys=False)
    assert provider.accounts.find(DEMO_CITIZEN["id_number"]) is None
    assert provider.accounts.find(DEMO_OFFICER["id_number"]) is None
    pems = [p.read_text() for p in (data / "keys").glob("*.json")]
    assert pems and all("BEGIN PRIVATE KEY" not in p for p in pems) and any("ENCRYPTED" in p for p in pems)


def test_demo_flag_must_be_0_or_1(tmp_path, monkeypatch):
    monkeypatch.setenv("TONGBAN_DEMO", "yes")
    result = CliRunner().invoke(main, ["init", "--data", str(tmp_path / "d")])
    assert result.exit_code == 2 and "TONGBAN_DEMO" in result.output
