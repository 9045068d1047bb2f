"""Our COSE_Sign1 (pycose structure + cryptography signature) interoperates with pycose's own sign/verify."""

import pytest
from pycose.algorithms import EdDSA, Es256
from pycose.headers import KID, Algorithm
from pycose.messages import Sign1Message

import keys
from credentials.cose import parse_sign1, sign1, verify_sign1


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_pycose_signed_verifies_with_ours_and_back(alg):
    key = keys.generate(alg)
    theirs = Sign1Message(phdr={Algorithm: Es256 if alg == "ES256" else EdDSA}, uhdr={KID: b"k"}, payload=b"p",
                          external_aad=b"aad")
    theirs.key = key.pycose_key()
    raw = theirs.encode(tag=True)
    assert verify_sign1(parse_sign1(raw, "m"), key.public, external_aad=b"aad")
    assert not verify_sign1(parse_sign1(raw, "m"), key.public, external_aad=b"other")

    ours = sign1(b"p", key, kid=b"k", external_aad=b"aad")
    decoded = Sign1Message.decode(ours)
    decoded.external_aad = b"aad"
    decoded.key = key.public.pycose_key()
    assert decoded.verify_signature()
    assert not verify_sign1(parse_sign1(ours, "m"), keys.generate(alg).public, external_aad=b"aad")
