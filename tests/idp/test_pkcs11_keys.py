"""The IdP's ID-token key inside a PKCS#11 token (SoftHSM2): ``tongban keys generate --pkcs11 idp`` makes it there,
the ring keeps its pkcs11: URI, and a whole code flow's ID token is signed by the token and verified by an
independent library (PyJWT) from the published JWKS. joserfc never sees the private scalar."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import jwt as pyjwt
import pytest
from joserfc import jwt as jose_jwt
from werkzeug.serving import make_server

import keys
from idp.cli import DEMO_CITIZEN
from idp.jose_keys import TokenECKey, jose_signing_key
from idp.registry import DEMO_PEOPLE, TableRegistry
from keys.errors import KeyAtRestError, KeyFormatError
from service.app import create_app
from service.config import Settings
from tests.conftest import SOFTHSM_MODULE, SOFTHSM_PIN, copy_template
from tests.idp.conftest import Browser, Idp
from tests.idp.test_flow import discover, rp, sign_in, validate_id_token


def test_a_token_key_signs_jws_through_joserfc_and_exports_nothing(softhsm_token):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    private = softhsm_token.generate("idp")
    jose_key = jose_signing_key(private, "ES256")
    assert isinstance(jose_key, TokenECKey) and jose_key.kid == private.kid and jose_key.is_private
    assert "d" not in jose_key.dict_value and jose_key.dict_value["x"] == private.public.jwk["x"]
    token = jose_jwt.encode({"alg": "ES256", "kid": private.kid}, {"sub": "s"}, jose_key, algorithms=["ES256"])
    assert pyjwt.decode(token, private.public.crypto_key(), algorithms=["ES256"]) == {"sub": "s"}
    native = private.signing_interface()
    for export in (native.private_numbers, lambda: native.private_bytes(None, None, None),
                   lambda: native.exchange(ec.ECDH(), native.public_key())):
        with pytest.raises(KeyAtRestError):
            export()
    with pytest.raises(KeyFormatError, match="ES256"):  # a key made for ES256 signs nothing else
        native.sign(b"data", ec.ECDSA(hashes.SHA384()))


@pytest.fixture
def hsm_idp(softhsm_token, app_template, tmp_path, monkeypatch):
    """A live provider whose ES256 ring's signer was made inside the token (as `keys generate --pkcs11 idp` does)."""
    data = copy_template(app_template, tmp_path / "data")
    env = {"TONGBAN_DEV_PLAINTEXT_KEYS": "1", "TONGBAN_PKCS11_MODULE": SOFTHSM_MODULE,
           "TONGBAN_PKCS11_TOKEN": "tongban-test", "TONGBAN_PKCS11_PIN": SOFTHSM_PIN}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env(data, env=env)
    store = keys.KeyRingStore(keys.Layout(data).keys, settings.key_policy(keys.Layout(data).keys))
    ring = store.load("idp")
    hardware = ring.rotate(int(time.time()), key=softhsm_token.generate("idp"))
    store.save(ring)
    app = create_app(replace(settings, issuer_url="http://127.0.0.1:1"))
    provider = app.extensions["tongban.idp"]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    provider.issuer = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=lambda: server.serve_forever(poll_interval=0.01), daemon=True).start()
    TableRegistry(provider.engine, provider.secrets).add(DEMO_PEOPLE)
    c = DEMO_CITIZEN
    provider.accounts.register(c["name"], c["id_number"], c["phone"], c["password"], 1_700_000_000)
    yield Idp(provider.issuer, app, provider, "embedded"), hardware
    server.shutdown()
    provider.engine.dispose()


def test_a_code_flows_id_token_is_signed_inside_the_token_and_verifies_from_jwks(hsm_idp):
    idp, hardware = hsm_idp
    assert idp.provider.key_cache.get("ES256").signer(int(time.time())).private.in_token
    meta = discover(idp)
    client = idp.client(scopes=["openid", "profile"])
    session = rp(idp, client, scope="openid profile")
    callback, _state, verifier, nonce = sign_in(idp, Browser(idp), session, meta)
    token = session.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    assert pyjwt.get_unverified_header(token["id_token"])["kid"] == hardware.public.kid
    claims = validate_id_token(idp, meta, client, token["id_token"], nonce, token["access_token"])  # PyJWT + JWKS
    assert claims["sub"]
    published = {k["kid"]: k for k in __import__("requests").get(meta["jwks_uri"], timeout=5).json()["keys"]}
    assert hardware.public.kid in published and "d" not in published[hardware.public.kid]
