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
        keys.jwk_thumbprint({"kty": "RSA", "n": "AQ", "e": "AQAB"})


def test_from_jwk_rejects_point_off_curve():
    jwk = dict(keys.generate("ES256").public.jwk)
    jwk["y"] = jwk["x"]
    with pytest.raises(KeyFormatError):
        keys.PublicKey.from_jwk(jwk)
