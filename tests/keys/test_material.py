import pytest

import keys
from keys.errors import KeyFormatError


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_sign_verify_and_tamper(alg):
    key = keys.generate(alg)
    sig = key.sign(b"payload")
    assert key.public.verify(sig, b"payload")
    assert not key.public.verify(sig, b"payloaD")
    assert not key.public.verify(bytes([sig[0] ^ 1]) + sig[1:], b"payload")


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_cose_key_round_trip_compressed(alg):
    key = keys.generate(alg).public
    assert keys.PublicKey.from_cose_key(key.to_cose_key()) == key
    assert keys.PublicKey.from_cose_key(key.to_cose_key(compressed=False)) == key


def test_thumbprint_is_rfc7638_canonical_form():
    # RFC 7638 §3.2: required members only, sorted, no whitespace; extra members do not change it.
    jwk = dict(keys.generate("ES256").public.jwk)
    with_extras = {**jwk, "kid": "x", "use": "sig", "alg": "ES256"}
    assert keys.jwk_thumbprint(with_extras) == keys.jwk_thumbprint(jwk)
    import base64
    import hashlib
    import json
    canonical = json.dumps({"crv": jwk["crv"], "kty": "EC", "x": jwk["x"], "y": jwk["y"]}, separators=(",", ":"))
    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    assert keys.jwk_thumbprint(jwk) == expected
    with pytest.raises(KeyFormatError):
        keys.jwk_thumbprint({"kty": "oct", "k": "AQAB"})


def test_from_jwk_rejects_point_off_curve():
    jwk = dict(keys.generate("ES256").public.jwk)
    jwk["y"] = jwk["x"]
    with pytest.raises(KeyFormatError):
        keys.PublicKey.from_jwk(jwk)


# -- RS256: the identity provider's ID tokens only (OIDC Discovery §3) --------------------------------
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiF"
    "V4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c"
    "7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF"
    "44-csFCur-kEgU8awapJzKnqDKgw"
)


@pytest.fixture(scope="module")
def rsa_key():
    return keys.generate("RS256")


def test_rsa_thumbprint_matches_rfc7638_example():
    # RFC 7638 §3.1: required members e, kty, n in that order; the published thumbprint.
    jwk = {"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
    assert keys.jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    assert keys.PublicKey.from_jwk(jwk, "RS256").kid == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_rs256_key_is_3072_bit_rsa_with_n_and_e(rsa_key):
    jwk = rsa_key.public.public_jwk()
    assert jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and jwk["use"] == "sig" and jwk["e"] == "AQAB"
    assert set(jwk) == {"kty", "n", "e", "kid", "alg", "use"}
    assert len(keys.b64url_decode(jwk["n"])) * 8 == 3072
    assert rsa_key.crypto_key().key_size == 3072
    assert keys.PublicKey.from_jwk(jwk, "RS256") == rsa_key.public
    assert rsa_key.kid == keys.jwk_thumbprint(jwk)


def test_rs256_sign_verify_pkcs1v15_sha256(rsa_key):
    sig = rsa_key.sign(b"payload")
    assert len(sig) == 384
    assert rsa_key.public.verify(sig, b"payload")
    assert not rsa_key.public.verify(sig, b"payloaD")
    assert not rsa_key.public.verify(bytes([sig[0] ^ 1]) + sig[1:], b"payload")
    assert not rsa_key.public.verify(sig[:-1], b"payload")
    # the same signature PyJWT makes for RS256 (RFC 7518 §3.3)
    import jwt as pyjwt

    token = pyjwt.encode({"a": 1}, rsa_key.crypto_key(), algorithm="RS256")
    head, body, sig64 = token.split(".")
    assert rsa_key.public.verify(keys.b64url_decode(sig64), f"{head}.{body}".encode())
    assert pyjwt.decode(token, rsa_key.public.crypto_key(), algorithms=["RS256"]) == {"a": 1}


def test_rs256_pem_at_rest_round_trip(rsa_key):
    sealed = keys.AtRestPolicy(b"correct horse").seal(rsa_key)
    assert b"ENCRYPTED" in sealed
    opened = keys.AtRestPolicy(b"correct horse").open(sealed)
    assert opened.public == rsa_key.public and opened.alg == "RS256"
    assert opened.public.verify(opened.sign(b"x"), b"x")
    with pytest.raises(keys.KeyAtRestError):
        keys.AtRestPolicy(b"wrong").open(sealed)


def test_rs256_has_no_cose_form(rsa_key):
    with pytest.raises(KeyFormatError):
        rsa_key.public.to_cose_key()


def test_rsa_jwk_rejects_short_modulus_wrong_alg_and_missing_members(rsa_key):
    with pytest.raises(KeyFormatError):
        keys.PublicKey.from_jwk({"kty": "RSA", "n": keys.b64url(b"\xc1" * 128), "e": "AQAB"}, "RS256")  # 1024-bit
    with pytest.raises(KeyFormatError):
        keys.PublicKey.from_jwk(rsa_key.public.jwk, "ES256")
    with pytest.raises(KeyFormatError):
        keys.PublicKey.from_jwk({"kty": "RSA", "n": rsa_key.public.jwk["n"]}, "RS256")


def test_rsa_jwk_needs_rs256_from_the_caller(rsa_key):
    # a device proof or trust list carrying an RSA key is refused, even if the JWK itself says RS256
    with pytest.raises(KeyFormatError, match="RSA only for RS256"):
        keys.PublicKey.from_jwk(rsa_key.public.jwk)
    with pytest.raises(KeyFormatError):
        keys.PublicKey.from_jwk(rsa_key.public.public_jwk())
    with pytest.raises(KeyFormatError):
        keys.private_from_jwk({**rsa_key.public.jwk, "d": "AQAB"})


def test_rs256_key_ring_rotates_and_persists(tmp_path, rsa_key):
    store = keys.KeyRingStore(tmp_path, keys.AtRestPolicy(None, allow_plaintext=True))
    ring = keys.KeyRing("idp-rs256")
    first = ring.rotate(1000, "RS256")
    second = ring.rotate(2000, "RS256")
    store.save(ring)
    loaded = store.load("idp-rs256")
    assert loaded.signer(3000).public == second.public and loaded.signer(3000).public.alg == "RS256"
    assert [k.public for k in loaded.verification_keys(3000)] == [first.public, second.public]
