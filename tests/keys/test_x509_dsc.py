"""keys.x509_dsc: DSC certificates read (BER tolerated), chained, and used for COSE signatures."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from keys.x509_dsc import CertificateError, dsc_kid, issued_by, read_certificate
from tests.conftest import SHARED_VECTORS, examples
from tests.dcc_world import NOW, TEST, VACCINATION, cose_signature, make_cert


def test_kid_is_the_first_eight_bytes_of_the_der_digest():
    signer = make_cert()
    assert read_certificate(signer.der).kid == dsc_kid(signer.der) == hashlib.sha256(signer.der).digest()[:8]


def test_a_look_alike_ca_with_the_same_name_does_not_chain():
    real = make_cert(ca=True, cn="CSCA AT")
    fake = make_cert(ca=True, cn="CSCA AT")  # same subject, another key
    child = make_cert(issuer=fake)
    assert issued_by(read_certificate(child.der), read_certificate(fake.der))
    assert not issued_by(read_certificate(child.der), read_certificate(real.der))


def test_usages_and_kinds():
    both = read_certificate(make_cert(eku=(TEST, VACCINATION)).der)
    assert both.allows_kind("test") and both.allows_kind("vaccination") and not both.allows_kind("recovery")
    assert read_certificate(make_cert().der).usages is None


def test_cose_signatures_are_checked_with_the_key_s_own_algorithm():
    ec_signer, rsa_signer = make_cert(), make_cert(key_type="rsa")
    message = b"Signature1 bytes"
    ec_cert, rsa_cert = read_certificate(ec_signer.der), read_certificate(rsa_signer.der)
    assert ec_cert.verify_cose(-7, cose_signature(ec_signer.key, -7, message), message)
    assert rsa_cert.verify_cose(-37, cose_signature(rsa_signer.key, -37, message), message)
    assert not ec_cert.verify_cose(-37, cose_signature(rsa_signer.key, -37, message), message)
    assert not rsa_cert.verify_cose(-7, cose_signature(ec_signer.key, -7, message), message)
    der_signature = ec_signer.key.sign(message, ec.ECDSA(hashes.SHA256()))
    assert not ec_cert.verify_cose(-7, der_signature, message), "ASN.1 DER signatures are not COSE's r || s"
    assert not ec_cert.verify_cose(-7, b"\x00" * 64, message)


def test_a_ber_encoded_real_dsc_is_read():
    """Finland's test DSCs encode BasicConstraints' default cA FALSE (not DER): ``cryptography`` refuses them."""
    path = SHARED_VECTORS / "dcc" / "FI" / "2DCode" / "raw" / "1.json"
    if not path.exists():
        pytest.skip("DCC vectors not present")
    cert = read_certificate(base64.b64decode(json.loads(path.read_text())["TESTCTX"]["CERTIFICATE"]))
    assert cert.key_type == "EC-P256" and not cert.is_ca and cert.allows_kind("test")


@settings(max_examples=examples(300), deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_are_a_certificate_or_a_certificate_error(data):
    try:
        read_certificate(data)
    except CertificateError as exc:
        assert exc.reason == "dsc_malformed"


@settings(max_examples=examples(200), deadline=None)
@given(st.integers(0, 400), st.integers(0, 255))
def test_one_changed_byte_of_a_real_certificate_never_crashes(position, value):
    der = bytearray(make_cert_der())
    der[position % len(der)] = value
    try:
        cert = read_certificate(bytes(der))
    except CertificateError:
        return
    assert cert.kid == dsc_kid(bytes(der))


_DER: list[bytes] = []


def make_cert_der() -> bytes:
    if not _DER:
        _DER.append(make_cert(not_before=NOW).der)
    return _DER[0]


def test_oversized_input_is_refused_before_parsing():
    with pytest.raises(CertificateError):
        read_certificate(b"\x30" * 20_000)
