"""Our COSE_Sign1 (``credentials.cose``: cbor2 + cryptography) interoperates with pycose, an independent
implementation kept as a test dependency only: each verifies what the other signed."""

import pytest
from cryptography.hazmat.primitives import serialization
from pycose.algorithms import EdDSA, Es256
from pycose.headers import KID, Algorithm
from pycose.keys import EC2Key, OKPKey
from pycose.keys.curves import P256, Ed25519
from pycose.messages import Sign1Message

import keys
from credentials.cose import parse_sign1, sign1, verify_sign1


def pycose_key(key: keys.PrivateKey | keys.PublicKey):
    public = key if isinstance(key, keys.PublicKey) else key.public
    x = keys.b64url_decode(public.jwk["x"])
    d = None
    if isinstance(key, keys.PrivateKey):
        raw = key.crypto_key()
        d = (raw.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
             if key.alg == "EdDSA" else raw.private_numbers().private_value.to_bytes(32, "big"))
    if public.alg == "EdDSA":
        return OKPKey(crv=Ed25519, x=x, **({"d": d} if d else {}))
    return EC2Key(crv=P256, x=x, y=keys.b64url_decode(public.jwk["y"]), **({"d": d} if d else {}))


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_pycose_signed_verifies_with_ours_and_back(alg):
    key = keys.generate(alg)
    theirs = Sign1Message(phdr={Algorithm: Es256 if alg == "ES256" else EdDSA}, uhdr={KID: b"k"}, payload=b"p",
                          external_aad=b"aad")
    theirs.key = pycose_key(key)
    raw = theirs.encode(tag=True)
    assert verify_sign1(parse_sign1(raw, "m"), key.public, external_aad=b"aad")
    assert not verify_sign1(parse_sign1(raw, "m"), key.public, external_aad=b"other")

    ours = sign1(b"p", key, kid=b"k", external_aad=b"aad")
    decoded = Sign1Message.decode(ours)
    decoded.external_aad = b"aad"
    decoded.key = pycose_key(key.public)
    assert decoded.verify_signature()
    assert not verify_sign1(parse_sign1(ours, "m"), keys.generate(alg).public, external_aad=b"aad")
