"""RS256 ID tokens (OIDC Discovery §3 requires RS256): a client registered with ``id_token_signed_response_alg``
RS256 (OIDC Dynamic Client Registration §2) gets RS256 ID tokens and logout tokens; ES256 stays the default."""

from __future__ import annotations

import time

import jwt as pyjwt
import pytest
import requests

import keys
from idp.errors import InvalidInput
from idp.provider import KEY_OWNERS, Provider
from tests.idp.conftest import Browser, query
from tests.idp.test_negatives import authorize_url, exchange, get_code

embedded = pytest.mark.parametrize("idp", ["embedded"], indirect=True)


def published(idp) -> dict[str, list[dict]]:
    by_alg: dict[str, list[dict]] = {}
    for jwk in requests.get(idp.url + "/jwks.json").json()["keys"]:
        by_alg.setdefault(jwk["alg"], []).append(jwk)
    return by_alg


def id_token(idp, client: dict, browser: Browser | None = None) -> str:
    browser = browser or Browser(idp)
    return exchange(idp, client, get_code(idp, browser, client)).json()["id_token"]


def test_rs256_client_id_token_verifies_with_the_published_rs256_key(idp):
    client = idp.client(id_token_alg="RS256")
    assert client["id_token_signed_response_alg"] == "RS256"
    token = id_token(idp, client)
    header = pyjwt.get_unverified_header(token)
    (rsa_jwk,) = published(idp)["RS256"]
    assert header["alg"] == "RS256" and header["kid"] == rsa_jwk["kid"]
    assert rsa_jwk["kty"] == "RSA" and rsa_jwk["use"] == "sig" and "d" not in rsa_jwk and "p" not in rsa_jwk
    assert len(keys.b64url_decode(rsa_jwk["n"])) * 8 == 3072
    key = pyjwt.PyJWKClient(idp.url + "/jwks.json").get_signing_key_from_jwt(token).key
    claims = pyjwt.decode(token, key, algorithms=["RS256"], audience=client["client_id"], issuer=idp.url,
                          options={"require": ["exp", "iat", "sub", "aud", "iss", "at_hash"]})
    assert claims["nonce"] == "n-1"
    with pytest.raises(pyjwt.InvalidAlgorithmError):  # the RSA key is not usable as an ES256 key
        pyjwt.decode(token, key, algorithms=["ES256"], audience=client["client_id"])


def test_es256_client_is_unchanged(idp):
    client = idp.client()
    assert client["id_token_signed_response_alg"] == "ES256"
    token = id_token(idp, client)
    header = pyjwt.get_unverified_header(token)
    (ec_jwk,) = published(idp)["ES256"]
    assert header == {"alg": "ES256", "kid": ec_jwk["kid"], "typ": "JWT"}
    key = pyjwt.PyJWKClient(idp.url + "/jwks.json").get_signing_key_from_jwt(token).key
    pyjwt.decode(token, key, algorithms=["ES256"], audience=client["client_id"], issuer=idp.url)


@embedded
def test_discovery_lists_es256_and_rs256_and_jwks_has_both(idp):
    meta = requests.get(idp.url + "/.well-known/openid-configuration").json()
    assert meta["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    by_alg = published(idp)
    assert sorted(by_alg) == ["ES256", "RS256"]
    assert by_alg["ES256"][0]["kty"] == "EC" and by_alg["RS256"][0]["kty"] == "RSA"
    assert all(jwk["kid"] == keys.jwk_thumbprint(jwk) for jwks in by_alg.values() for jwk in jwks)


@embedded
def test_unknown_id_token_alg_is_refused(idp):
    with pytest.raises(InvalidInput, match="ES256 or RS256"):
        idp.client(id_token_alg="PS256")


@embedded
def test_rs256_refresh_id_token_and_logout_token_and_id_token_hint(idp, receiver):
    client = idp.client(id_token_alg="RS256", backchannel_logout_uri=receiver.url,
                        post_logout_redirect_uris=["http://127.0.0.1:9/bye"])
    browser = Browser(idp)
    tokens = exchange(idp, client, get_code(idp, browser, client)).json()
    jwks = pyjwt.PyJWKClient(idp.url + "/jwks.json")
    # id_token_hint with an RS256 ID token is accepted (prompt=none, then RP-initiated logout)
    ok = query(browser.go(authorize_url(idp, client, prompt="none", id_token_hint=tokens["id_token"])))
    assert "code" in ok
    out = browser.go(idp.url + "/logout?" + requests.compat.urlencode({
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "http://127.0.0.1:9/bye", "state": "s"}))
    assert out == "http://127.0.0.1:9/bye?state=s"
    (logout,) = receiver.tokens
    header = pyjwt.get_unverified_header(logout)
    assert header["alg"] == "RS256" and header["typ"] == "logout+jwt"
    assert header["kid"] == published(idp)["RS256"][0]["kid"]
    claims = pyjwt.decode(logout, jwks.get_signing_key_from_jwt(logout).key, algorithms=["RS256"],
                          audience=client["client_id"], issuer=idp.url)
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]


@embedded
def test_rs256_rotation_keeps_the_old_key_published(idp):
    client = idp.client(id_token_alg="RS256")
    browser = Browser(idp)
    old_token = id_token(idp, client, browser)
    key_dir = idp.provider.key_cache.key_dir
    store = keys.KeyRingStore(key_dir, idp.provider.key_cache.policy)
    ring = store.load(KEY_OWNERS["RS256"])
    ring.rotate(int(time.time()), "RS256")
    store.save(ring)
    by_alg = published(idp)
    assert len(by_alg["RS256"]) == 2 and len(by_alg["ES256"]) == 1
    new_token = id_token(idp, client, browser)
    assert pyjwt.get_unverified_header(new_token)["kid"] != pyjwt.get_unverified_header(old_token)["kid"]
    jwks = pyjwt.PyJWKClient(idp.url + "/jwks.json")
    for token in (old_token, new_token):
        pyjwt.decode(token, jwks.get_signing_key_from_jwt(token).key, algorithms=["RS256"],
                     audience=client["client_id"])
    # an ES256 key put in the RS256 ring by mistake is refused, not used under the wrong header
    ring.rotate(int(time.time()), "ES256")
    store.save(ring)
    with pytest.raises(keys.NoSigningKeyError, match="not RS256"):
        idp.provider.signing_key("RS256")


def test_existing_data_dir_gains_an_rs256_key_on_start(tmp_path):
    from service.config import Settings

    settings = Settings.from_env(tmp_path, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"})
    key_dir = settings.data_dir / "keys"
    store = keys.KeyRingStore(key_dir, settings.key_policy(key_dir))
    old = keys.KeyRing("idp")  # a data directory from before RS256: only the ES256 ring
    es = old.rotate(int(time.time()), "ES256").public
    store.save(old)
    assert not store.exists("idp-rs256")
    first = Provider.from_settings(settings)
    assert store.exists("idp-rs256")
    rs = store.load("idp-rs256").signer(int(time.time())).public
    assert rs.alg == "RS256"
    assert [k.public for k in store.load("idp").keys] == [es]  # the ES256 ring is untouched
    assert {k["kid"] for k in first.jwks()["keys"]} == {es.kid, rs.kid}
    again = Provider.from_settings(settings)  # idempotent: no new key on the next start
    assert {k["kid"] for k in again.jwks()["keys"]} == {es.kid, rs.kid}
    assert again.signing_key("RS256").kid == rs.kid and again.signing_key().kid == es.kid
