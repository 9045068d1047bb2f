"""EU DCC test material made on the spot: CSCA and DSC certificates (``cryptography``'s builder) and HC1 codes
signed with them, each part adjustable for an attack (another key, a kid moved, an algorithm changed, ...)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import zlib
from dataclasses import dataclass
from typing import Any

import base45
import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from keys.x509_dsc import KIND_OIDS, dsc_kid

NOW = 1_780_000_000  # 2026-05-28
DAY = 86_400
TEST, VACCINATION, RECOVERY = (x509.ObjectIdentifier(KIND_OIDS[k][0]) for k in ("test", "vaccination", "recovery"))


@dataclass
class Signer:
    key: Any
    der: bytes
    cert: x509.Certificate

    @property
    def kid(self) -> bytes:
        return dsc_kid(self.der)


def _when(t: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC)


def make_cert(*, key_type: str = "ec", country: str = "AT", cn: str = "DSC test", issuer: Signer | None = None,
              ca: bool = False, eku: tuple[x509.ObjectIdentifier, ...] | None = None, not_before: int = NOW - 30 * DAY,
              not_after: int = NOW + 365 * DAY) -> Signer:
    key = (ec.generate_private_key(ec.SECP256R1()) if key_type == "ec" else
           ec.generate_private_key(ec.SECP384R1()) if key_type == "p384" else
           rsa.generate_private_key(public_exponent=65537, key_size=2048))
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, country), x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer.cert.subject if issuer else name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(_when(not_before))
               .not_valid_after(_when(not_after)))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    cert = builder.sign((issuer or Signer(key, b"", None)).key, hashes.SHA256())
    return Signer(key, cert.public_bytes(serialization.Encoding.DER), cert)


def vaccination(**over: Any) -> dict[str, Any]:
    doc = {"ver": "1.3.0", "nam": {"fn": "Musterfrau-Gößinger", "fnt": "MUSTERFRAU<GOESSINGER", "gn": "Gabriele",
                                   "gnt": "GABRIELE"}, "dob": "1998-02-26",
           "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215", "dn": 2,
                  "sd": 2, "dt": "2021-06-18", "co": "AT", "is": "Ministry of Health, Austria",
                  "ci": "URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD813#B"}]}
    return {**doc, **over}


def pcr_entry(result: str = "260415000") -> dict[str, Any]:
    return {"tg": "840539006", "tt": "LP6464-4", "sc": "2026-05-27T08:00:00Z", "tr": result, "tc": "Testzentrum Wien",
            "co": "AT", "is": "Ministry of Health, Austria", "ci": "URN:UVCI:01:AT:TEST#1"}


def cose_signature(key: Any, alg: int, message: bytes) -> bytes:
    if alg == -37:
        return key.sign(message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def sign_dcc(hcert: dict[str, Any] | None = None, signer: Signer | None = None, *, alg: int | None = None,
             kid: bytes | None = None, kid_where: str = "protected", unprotected: dict | None = None,
             iat: int = NOW - DAY, exp: int = NOW + 180 * DAY, iss: str = "AT", payload: bytes | None = None,
             sign_with: Any = None, tagged: bool = True, protected_extra: dict | None = None) -> str:
    """An HC1 code; by default a valid vaccination signed ES256 (or PS256 for an RSA signer) by ``signer``."""
    if alg is None:
        alg = -37 if isinstance(signer.key, rsa.RSAPrivateKey) else -7
    kid = signer.kid if kid is None else kid
    protected = {1: alg, **({4: kid} if kid_where == "protected" else {}), **(protected_extra or {})}
    header = {**({4: kid} if kid_where == "unprotected" else {}), **(unprotected or {})}
    if payload is None:
        payload = cbor2.dumps({1: iss, 4: exp, 6: iat, -260: {1: hcert or vaccination()}})
    protected_raw = cbor2.dumps(protected)
    to_sign = cbor2.dumps(["Signature1", protected_raw, b"", payload])
    signature = cose_signature(sign_with or signer.key, alg, to_sign)
    message = [protected_raw, header, payload, signature]
    raw = cbor2.dumps(cbor2.CBORTag(18, message) if tagged else message)
    return "HC1:" + base45.b45encode(zlib.compress(raw, 9)).decode()


def gateway_list(*entries: tuple[Signer, str], csca: tuple[Signer, ...] = ()) -> bytes:
    """The DGCG trust list shape: ``[{kid, certificateType, country, rawData, thumbprint}]``."""
    def entry(s: Signer, country: str, kind: str) -> dict[str, str]:
        import hashlib
        return {"kid": base64.b64encode(s.kid).decode(), "certificateType": kind, "country": country,
                "rawData": base64.b64encode(s.der).decode(), "thumbprint": hashlib.sha256(s.der).hexdigest(),
                "timestamp": "2026-05-01T00:00:00Z", "signature": "MIAGCSqGSIb3DQEHAqCAMIACAQE="}
    return json.dumps([entry(s, c, "DSC") for s, c in entries]
                      + [entry(c, c.cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value, "CSCA")
                         for c in csca]).encode()


def kid_mapping(*signers: Signer) -> bytes:
    """The simpler ``{kid: [base64 DER, ...]}`` shape."""
    out: dict[str, list[str]] = {}
    for s in signers:
        out.setdefault(base64.b64encode(s.kid).decode(), []).append(base64.b64encode(s.der).decode())
    return json.dumps(out).encode()
