"""The EU DCC public test suite through tongban's own layers: base45 → bounded zlib → strict COSE parse →
signature check through ``keys`` (cryptography), and the QR pictures through zxing-cpp.

tongban's QR format follows the DCC's framing (hcert spec §3), so the DCC's 150-odd real-world codes are a
free interoperability check of every layer below our own CBOR claims. Skips cleanly without ../shared.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path

import base45
import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

import keys
from credentials.cose import COSE_ALG, Sign1, parse_sign1, verify_sign1
from credentials.errors import CredentialError
from credentials.framing import inflate
from tests.conftest import SHARED_VECTORS
from verifier.image import read_qr

DCC = SHARED_VECTORS / "dcc"
KNOWN_BAD = {"ES/2DCode/raw/401.json", "ES/2DCode/raw/402.json", "ES/2DCode/raw/403.json"}


def _cases() -> list[Path]:
    if not DCC.exists():
        return []
    return sorted(p for p in DCC.rglob("*.json") if str(p.relative_to(DCC)) not in KNOWN_BAD)


def _load(path: Path) -> dict | None:
    try:
        doc = json.loads(path.read_text())
    except ValueError:
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("PREFIX"), str) else None


def _p256_key(certificate_b64: str) -> keys.PublicKey | None:
    cert = x509.load_der_x509_certificate(base64.b64decode(certificate_b64))
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
        return None  # RSA-PSS and P-384 signers: tongban's verifier takes ES256 and EdDSA only
    n = public.public_numbers()
    return keys.PublicKey.from_jwk({"kty": "EC", "crv": "P-256", "x": keys.b64url(n.x.to_bytes(32, "big")),
                                    "y": keys.b64url(n.y.to_bytes(32, "big"))})


def _sign1(raw: bytes) -> Sign1:
    """Our strict parser where the DCC stays inside our header profile; else the same fields read by hand
    (DCCs may carry a content type, label 3, which tongban's own format refuses)."""
    try:
        return parse_sign1(raw, "DCC")
    except CredentialError:
        outer = cbor2.loads(raw)
        headers = {**outer.value[1], **(cbor2.loads(outer.value[0]) if outer.value[0] else {})}
        return Sign1(raw=raw, alg=headers.get(1), kid=headers.get(4), payload=outer.value[2], protected=outer.value[0],
                     signature=outer.value[3])


@pytest.fixture(scope="module")
def cases():
    if not DCC.exists():
        pytest.skip(f"shared vectors not present at {DCC}")
    return [(p, d) for p in _cases() if (d := _load(p)) is not None]


def test_signatures_verify_exactly_where_the_suite_says(cases):
    checked = 0
    for path, doc in cases:
        expected = doc.get("EXPECTEDRESULTS", {})
        if "EXPECTEDVERIFY" not in expected or not doc["PREFIX"].startswith("HC1:"):
            continue
        key = _p256_key(doc["TESTCTX"]["CERTIFICATE"]) if doc.get("TESTCTX", {}).get("CERTIFICATE") else None
        if key is None:
            continue
        try:
            raw = inflate(base45.b45decode(doc["PREFIX"][4:]))
            if raw[:2] == b"\xd8\x3d":  # hcert allows a CWT tag 61 around the COSE_Sign1; ours never has it
                raw = raw[2:]
            if raw[:1] != b"\xd2":  # hcert §3 allows an untagged COSE_Sign1; ours is always tagged
                raw = b"\xd2" + raw
            message = _sign1(raw)
            # hcert §3.2.1: the kid (protected wins over unprotected) is the first 8 bytes of SHA-256 of the
            # signer's DER certificate: the DCC's trust-list lookup, as tongban's short kid is ours.
            kid = hashlib.sha256(base64.b64decode(doc["TESTCTX"]["CERTIFICATE"])).digest()[:8]
            ok = message.alg == COSE_ALG["ES256"] and message.kid == kid and verify_sign1(message, key)
        except (CredentialError, ValueError, TypeError, IndexError, AttributeError, cbor2.CBORDecodeError):
            ok = False
        checked += 1
        assert ok == expected["EXPECTEDVERIFY"], f"{path.relative_to(DCC)}: {doc['TESTCTX'].get('DESCRIPTION')}"
    assert checked >= 50, f"only {checked} ES256 DCC vectors found"


def test_qr_pictures_decode_with_zxing(cases, tmp_path):
    decoded = 0
    for path, doc in cases:
        if not doc.get("2DCODE") or doc.get("EXPECTEDRESULTS", {}).get("EXPECTEDPICTUREDECODE") is not True:
            continue
        png = tmp_path / "code.png"
        png.write_bytes(base64.b64decode(doc["2DCODE"]))
        assert read_qr(png) == doc["PREFIX"], path.relative_to(DCC)
        decoded += 1
    assert decoded >= 50


def test_validation_clocks_are_in_the_past_as_the_readme_says(cases):
    # Sanity for the harness itself: every certificate has expired, so a verifier must use VALIDATIONCLOCK.
    clocks = [doc["TESTCTX"]["VALIDATIONCLOCK"] for _, doc in cases if doc.get("TESTCTX", {}).get("VALIDATIONCLOCK")]
    assert clocks and all(dt.datetime.fromisoformat(c.replace("Z", "+00:00")).year < 2026 for c in clocks[:20])
