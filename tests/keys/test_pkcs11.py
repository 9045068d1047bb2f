"""ES256 keys inside a PKCS#11 token (SoftHSM2): made there, non-extractable, signing trust lists and QR
credentials through keys.PrivateKey, kept in a key ring as a pkcs11: URI. Skips without SoftHSM2 on a laptop,
fails in CI (TONGBAN_REQUIRE_SERVERS=1: .ci/run installs the Debian package)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import keys
from keys.errors import KeyAtRestError
from tests.conftest import SOFTHSM_MODULE as MODULE
from tests.conftest import SOFTHSM_PIN

PIN = SOFTHSM_PIN


@pytest.fixture(scope="module")
def token(softhsm_token):
    return softhsm_token


def test_a_key_made_in_the_token_signs_and_never_leaves_it(token):
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    key = token.generate("authority")
    assert key.alg == "ES256"
    signature = key.sign(b"payload")
    assert len(signature) == 64 and key.public.verify(signature, b"payload")
    assert not key.public.verify(signature, b"payloaD")
    private = token._open().get_key(object_class=ObjectClass.PRIVATE_KEY, id=key.crypto_key().key_id)
    assert private[Attribute.SENSITIVE] and not private[Attribute.EXTRACTABLE]
    assert private[Attribute.NEVER_EXTRACTABLE] and private[Attribute.LOCAL]  # made inside, never exportable
    with pytest.raises(pkcs11.PKCS11Error):  # the token refuses to read the scalar out
        private[Attribute.VALUE]


def test_a_ring_stores_only_the_uri_and_reopens_the_key(token, tmp_path):
    store = keys.KeyRingStore(tmp_path, keys.AtRestPolicy(b"passphrase", hsm=token))
    ring = keys.KeyRing("bj-traffic-police")
    ring.rotate(1_800_000_000, key=token.generate("bj-traffic-police"))
    store.save(ring)
    text = (tmp_path / "bj-traffic-police.json").read_text()
    assert '"pem": "pkcs11:token=tongban-test;id=' in text and "PRIVATE KEY" not in text
    loaded = store.load("bj-traffic-police").signer(1_800_000_000)
    assert loaded.public == ring.keys[0].public
    assert loaded.public.verify(loaded.private.sign(b"m"), b"m")
    with pytest.raises(KeyAtRestError, match="PKCS#11"):
        keys.KeyRingStore(tmp_path, keys.AtRestPolicy(b"passphrase")).load("bj-traffic-police")


def test_a_uri_for_another_token_or_an_unknown_id_is_refused(token):
    with pytest.raises(KeyAtRestError, match="outside token"):
        token.load("pkcs11:token=other;id=%01;type=private")
    with pytest.raises(KeyAtRestError, match="no single key"):
        token.load("pkcs11:token=tongban-test;id=%00%00;type=private")


def test_a_hardware_root_signs_a_trust_list_and_a_hardware_authority_a_credential(token):
    from credentials.cose import parse_sign1, verify_sign1

    root = token.generate("hub-root")
    trust = keys.TrustList(version=1, issued_at=1_800_000_000, expires_at=1_800_003_600, authorities=())
    assert keys.verify_trust_list(keys.sign_trust_list(trust, root), root.public, now=1_800_000_000) == trust
    from credentials.cose import sign1

    authority = token.generate("authority")
    message = parse_sign1(sign1(b"claims", authority, kid=authority.public.short_kid), "credential")
    assert verify_sign1(message, authority.public)


def test_a_forked_worker_signs_with_a_key_its_parent_opened(token):
    """gunicorn forks workers after the app (and its key rings) loaded: the child reopens the token itself."""
    import multiprocessing

    key = token.generate("forked")
    key.sign(b"opened in the parent")
    context = multiprocessing.get_context("fork")  # the child inherits ``key`` as gunicorn's workers do
    receive, send = context.Pipe(duplex=False)
    hardware = key.crypto_key()

    def in_child() -> None:
        signature = key.sign(b"signed in the child")
        send.send((signature, hardware._token._pid == os.getpid()))

    child = context.Process(target=in_child)
    child.start()
    signature, own_session = receive.recv() if receive.poll(30) else (b"", False)
    child.join(30)
    assert child.exitcode == 0 and key.public.verify(signature, b"signed in the child")
    # SoftHSM happens to survive a fork; a network HSM's session does not, so the child opens its own.
    assert own_session
    assert key.public.verify(key.sign(b"parent again"), b"parent again")


def test_wrong_pin_is_a_key_at_rest_error(token):
    """In a fresh process: PKCS#11 login is per process, and this one is logged in already."""
    import sys

    script = ("from keys.pkcs11 import Pkcs11Token\nfrom keys.errors import KeyAtRestError\n"
              f"try:\n    Pkcs11Token({MODULE!r}, 'tongban-test', '000000').generate()\n"
              "except KeyAtRestError as exc:\n    print('refused:', exc)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert "refused: cannot open PKCS#11 token 'tongban-test'" in done.stdout and "PinIncorrect" in done.stdout


@pytest.mark.slow
def test_tongban_keys_generate_pkcs11_makes_the_authoritys_signer_in_the_token(token, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from issuer.hub import Hub
    from service.wiring import main

    data = tmp_path / "data"
    monkeypatch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    assert CliRunner().invoke(main, ["init", "--data", str(data), "--suite", "standard"]).exit_code == 0
    for name, value in (("MODULE", MODULE), ("TOKEN", "tongban-test"), ("PIN", PIN)):
        monkeypatch.setenv(f"TONGBAN_PKCS11_{name}", value)
    result = CliRunner().invoke(main, ["keys", "generate", "--pkcs11", "bj-health", "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "inside PKCS#11 token tongban-test" in result.output
    ring_file = (data / "keys" / "bj-health.json").read_text()
    assert "pkcs11:token=tongban-test" in ring_file
    hub = Hub(data, keys.AtRestPolicy(None, allow_plaintext=True, hsm=token))
    signer = hub.rings.load("bj-health").signer(int(__import__("time").time()))
    assert signer.private.crypto_key().__class__.__name__ == "HardwareKey"
    listed = keys.verify_trust_list(hub.trust_list_path.read_text(), hub.rings.load("hub-root").keys[0].public,
                                    now=int(__import__("time").time()))
    assert signer.public in [k.public for k in listed.authority("bj-health").keys]


@pytest.mark.slow
def test_tongban_keys_generate_pkcs11_makes_the_idps_id_token_key_in_the_token(token, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from service.config import Settings
    from service.wiring import main

    data = tmp_path / "data"
    monkeypatch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    assert CliRunner().invoke(main, ["init", "--data", str(data)]).exit_code == 0
    for name, value in (("MODULE", MODULE), ("TOKEN", "tongban-test"), ("PIN", PIN)):
        monkeypatch.setenv(f"TONGBAN_PKCS11_{name}", value)
    result = CliRunner().invoke(main, ["keys", "generate", "--pkcs11", "idp", "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "pkcs11:token=tongban-test" in (data / "keys" / "idp.json").read_text()
    from idp.provider import Provider

    provider = Provider.from_settings(Settings.from_env(str(data)))
    assert provider.key_cache.get("ES256").signer(int(__import__("time").time())).private.in_token
    provider.engine.dispose()
    refused = CliRunner().invoke(main, ["keys", "generate", "--pkcs11", "idp-rs256", "--data", str(data)])
    assert refused.exit_code == 2 and "signs with RS256" in refused.output
    unknown = CliRunner().invoke(main, ["keys", "generate", "--pkcs11", "nobody", "--data", str(data)])
    assert unknown.exit_code != 0 and "unknown authority 'nobody'" in unknown.output
