"""The identity provider's stored personal data under the 国密 suite (``idp.secrets``): ID numbers and TOTP secrets
sealed with SM4-GCM, look-ups and pairwise ``sub`` by HMAC-SM3, each checked against an independent SM3 (the
pure-Python ``gmssl``) and cryptography's SM4; nothing sealed before is lost; a suite mismatch stops start-up."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from gmssl import sm3
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from idp import models
from idp.errors import IdpError, IdpSuiteMismatch
from idp.provider import Provider
from idp.secrets import SM4_PREFIX, Secrets, hub_suite
from keys import b64url, b64url_decode
from keys.aead import derive_key
from keys.suites import GUOMI, STANDARD
from service.config import Settings
from service.wiring import main

MASTER = bytes(range(32))
ZHANG_ID = "110101199003071233"


def _sm3(data: bytes) -> bytes:
    return bytes.fromhex(sm3.sm3_hash(list(data)))


def _hmac_sm3(key: bytes, data: bytes) -> bytes:
    """RFC 2104 over gmssl's SM3 (block size 64), written out: independent of cryptography's HMAC."""
    key = key.ljust(64, b"\0")
    inner = _sm3(bytes(b ^ 0x36 for b in key) + data)
    return _sm3(bytes(b ^ 0x5C for b in key) + inner)


def test_guomi_look_up_hashes_and_pairwise_subs_are_hmac_sm3_under_derived_keys():
    s = Secrets(MASTER, GUOMI)
    assert s.lookup_hash(ZHANG_ID) == _hmac_sm3(_hmac_sm3(MASTER, b"lookup"), ZHANG_ID.encode()).hex()
    assert s.pairwise_sub("rp.example", "u1") == b64url(_hmac_sm3(_hmac_sm3(MASTER, b"pairwise-sub"), b"rp.example\0u1"))
    standard = Secrets(MASTER, STANDARD)
    assert standard.lookup_hash(ZHANG_ID) != s.lookup_hash(ZHANG_ID)
    assert standard.session_key != s.session_key


def test_guomi_sealed_values_are_sm4_gcm_and_open_with_sm4_directly():
    s = Secrets(MASTER, GUOMI)
    sealed = s.encrypt(ZHANG_ID)
    assert sealed.startswith(SM4_PREFIX) and ZHANG_ID not in sealed
    raw = b64url_decode(sealed[len(SM4_PREFIX):])
    decryptor = Cipher(algorithms.SM4(derive_key(MASTER, "idp-sm4-seal", "sm4-gcm")),
                       modes.GCM(raw[:12], raw[-16:])).decryptor()
    decryptor.authenticate_additional_data(b"tongban-idp/v1")
    assert decryptor.update(raw[12:-16]) + decryptor.finalize() == ZHANG_ID.encode()
    assert s.decrypt(sealed) == ZHANG_ID
    assert s.encrypt(ZHANG_ID) != sealed  # a fresh nonce each time


def test_a_value_sealed_under_either_suite_opens_under_both():
    fernet = Secrets(MASTER, STANDARD).encrypt("secret")
    sm4 = Secrets(MASTER, GUOMI).encrypt("secret")
    for suite in (STANDARD, GUOMI):
        assert Secrets(MASTER, suite).decrypt(fernet) == "secret"
        assert Secrets(MASTER, suite).decrypt(sm4) == "secret"


@pytest.mark.parametrize("tamper", [
    lambda v: v[:-2] + ("A" if v[-2] != "A" else "B") + v[-1],  # a flipped tag bit
    lambda v: v[: len(SM4_PREFIX) + 10],  # truncated
    lambda v: SM4_PREFIX + "!!!not base64!!!",
    lambda v: v + "A",
])
def test_an_altered_sm4_value_is_refused_with_an_idp_error(tamper):
    s = Secrets(MASTER, GUOMI)
    with pytest.raises(IdpError):
        s.decrypt(tamper(s.encrypt(ZHANG_ID)))
    with pytest.raises(IdpError):
        Secrets(bytes(32), GUOMI).decrypt(s.encrypt(ZHANG_ID))  # another master secret


@given(st.text(max_size=200))
def test_decrypting_any_text_gives_the_value_or_an_idp_error(text):
    for suite in (STANDARD, GUOMI):
        try:
            Secrets(MASTER, suite).decrypt(text)
        except IdpError:
            pass


def test_a_guomi_rotation_reply_opens_only_for_its_bearer():
    s = Secrets(MASTER, GUOMI)
    sealed = s.seal_for("refresh-token-1", '{"a": "x"}')
    assert sealed.startswith(SM4_PREFIX)
    assert s.open_for("refresh-token-1", sealed) == '{"a": "x"}'
    assert s.open_for("refresh-token-2", sealed) is None
    assert Secrets(bytes(32), GUOMI).open_for("refresh-token-1", sealed) is None
    assert s.open_for("refresh-token-1", sealed[:-3]) is None


def test_hub_suite_is_the_recorded_one_then_the_requested_one(tmp_path):
    assert hub_suite(tmp_path) is STANDARD
    assert hub_suite(tmp_path, "guomi") is GUOMI
    (tmp_path / "hub.json").write_text(json.dumps({"suite": "standard", "authorities": []}))
    assert hub_suite(tmp_path, "guomi") is STANDARD  # recorded wins: the issuer's init refuses the change
    (tmp_path / "hub.json").write_text("{not json")
    assert hub_suite(tmp_path) is STANDARD
    with pytest.raises(IdpError, match="unknown cryptographic suite"):
        hub_suite(tmp_path, "rot13")


@pytest.fixture(scope="module")
def guomi_hub(tmp_path_factory):
    data = tmp_path_factory.mktemp("guomi")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
        for name in ("TONGBAN_SUITE", "DATABASE_URL", "REDIS_URL", "TONGBAN_IDP_SECRET"):
            mp.delenv(name, raising=False)
        result = CliRunner().invoke(main, ["init", "--data", str(data), "--suite", "guomi"])
    assert result.exit_code == 0, result.output
    return data


def test_tongban_init_suite_guomi_seals_the_idps_accounts_with_sm4(guomi_hub, monkeypatch):
    monkeypatch.delenv("TONGBAN_SUITE", raising=False)
    provider = Provider.from_settings(Settings.from_env(str(guomi_hub)), load_keys=False)
    try:
        assert provider.secrets.suite is GUOMI
        with provider.engine.connect() as conn:
            row = conn.execute(select(models.accounts)).first()
            people = conn.execute(select(models.registry_people.c.id_hash)).scalars().all()
        assert row.id_enc.startswith(SM4_PREFIX) and row.id_hash == provider.secrets.lookup_hash(ZHANG_ID)
        assert provider.secrets.lookup_hash(ZHANG_ID) in people  # the registry is keyed the same way
        account = provider.accounts.authenticate(ZHANG_ID, "tongban-demo-2024", None, "127.0.0.1", 1_700_000_000)
        assert provider.accounts.id_number(account) == ZHANG_ID
    finally:
        provider.engine.dispose()


def test_an_idp_whose_accounts_were_sealed_under_another_suite_does_not_start(guomi_hub, monkeypatch, tmp_path):
    monkeypatch.delenv("TONGBAN_SUITE", raising=False)
    hub = guomi_hub / "hub.json"
    original = hub.read_text()
    try:
        hub.write_text(json.dumps({**json.loads(original), "suite": "standard"}))  # as a wrong edit or copy would
        with pytest.raises(IdpSuiteMismatch, match="sealed under the guomi suite, but the hub uses standard"):
            Provider.from_settings(Settings.from_env(str(guomi_hub)), load_keys=False)
    finally:
        hub.write_text(original)
