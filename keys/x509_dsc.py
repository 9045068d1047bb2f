"""EU DCC document signers (DSC): X.509 certificates read, chained to a CSCA, and used to check COSE signatures.

hcert spec v1.0.5 §5 (certificate governance): a DSC is an X.509 certificate issued by its country's CSCA;
its key id is the first 8 bytes of the SHA-256 of its DER encoding (§3.2.1, "kid"); its extended key usage
may name the kinds of certificate it signs (§5.1.1: 1.3.6.1.4.1.1847.2021.1.1 test, .1.2 vaccination, .1.3
recovery; the draft OIDs 1.3.6.1.4.1.0.1847.2021.1.x are still in circulation and are read the same way).

The structure is read with asn1crypto, not ``cryptography.x509``: real DSCs are not always strict DER (the
Finnish test signers encode BasicConstraints' default ``cA FALSE``, which ``cryptography`` refuses), and the
bytes are trusted by the import, not by a scanned code. Keys and signatures are ``cryptography``'s.

What ``issued_by`` checks: the child's issuer name equals the CA's subject, the CA's signature over the
child's tbsCertificate (ECDSA, RSA PKCS#1 v1.5 or RSA-PSS with the hash the certificate names), and that the
CA is a CA (BasicConstraints cA, and keyCertSign when it has a KeyUsage). What it does not check: CRLs
and revocation, name constraints, certificate policies, paths longer than CSCA → DSC (the DCC has none).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_der_public_key

from keys.errors import KeysError

KID_BYTES = 8
MAX_CERT_BYTES = 16 * 1024
COSE_ES256, COSE_PS256 = -7, -37  # RFC 9053 §2.1, RFC 8230 §2
KIND_OIDS = {  # hcert §5.1.1, with the draft form (an extra ".0" after the enterprise arc)
    "test": ("1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.0.1847.2021.1.1"),
    "vaccination": ("1.3.6.1.4.1.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.2"),
    "recovery": ("1.3.6.1.4.1.1847.2021.1.3", "1.3.6.1.4.1.0.1847.2021.1.3"),
}
ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0"
_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


class CertificateError(KeysError):
    """A certificate cannot be used; ``reason`` is a stable code."""

    reason = "dsc_malformed"

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        if reason:
            self.reason = reason


def dsc_kid(der: bytes) -> bytes:
    """hcert §3.2.1: the first 8 bytes of SHA-256 over the certificate's DER bytes."""
    return hashlib.sha256(der).digest()[:KID_BYTES]


@dataclass(frozen=True)
class Certificate:
    """What a verifier needs of one DSC or CSCA: names, window, usages, key; times are Unix seconds."""

    der: bytes
    kid: bytes
    subject: str
    country: str | None
    not_before: int
    not_after: int
    # Extended key usage OIDs; None when the certificate has no EKU (or an empty one: it restricts nothing).
    usages: frozenset[str] | None
    is_ca: bool
    may_sign_certificates: bool
    key_type: str  # "EC-P256", "EC-P384", "EC-P521", "RSA", or what else the certificate names
    _cert: Any = field(repr=False, compare=False)
    _public: Any = field(repr=False, compare=False)

    def valid_at(self, when: int) -> bool:
        return self.not_before <= when <= self.not_after

    def allows_kind(self, kind: str) -> bool:
        """RFC 5280 §4.2.1.12 with hcert §5.1.1: an EKU restricts the key to what it lists, so a DSC with an EKU
        must list this kind's OID (or anyExtendedKeyUsage); a DSC without one may sign every kind."""
        if self.usages is None:
            return True
        return ANY_EXTENDED_KEY_USAGE in self.usages or any(oid in self.usages for oid in KIND_OIDS[kind])

    def cose_algorithm_fits(self, alg: int) -> bool:
        """ES256 only on a P-256 key, PS256 only on an RSA key (≥ 2048 bits): the key decides, not the header."""
        if alg == COSE_ES256:
            return self.key_type == "EC-P256"
        if alg == COSE_PS256:
            return self.key_type == "RSA" and self._public.key_size >= 2048
        return False

    def verify_cose(self, alg: int, signature: bytes, message: bytes) -> bool:
        """A COSE signature (ES256: r || s, RFC 9053 §2.1; PS256: RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte
        salt, RFC 8230 §2) over ``message``; False for any other algorithm or one that does not fit the key."""
        if not self.cose_algorithm_fits(alg):
            return False
        try:
            if alg == COSE_ES256:
                if len(signature) != 64:
                    return False
                der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
                self._public.verify(der, message, ec.ECDSA(hashes.SHA256()))
            else:
                pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
                self._public.verify(signature, message, pss, hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True


def read_certificate(der: bytes) -> Certificate:
    """Parse one X.509 certificate (BER tolerated, see the module note); ``CertificateError`` if unusable."""
    if not isinstance(der, bytes) or not der or len(der) > MAX_CERT_BYTES:
        raise CertificateError("a certificate must be 1 to 16384 bytes of DER")
    try:
        cert = asn1_x509.Certificate.load(der, strict=True)
        tbs = cert["tbs_certificate"]
        validity = tbs["validity"]
        not_before, not_after = validity["not_before"].native, validity["not_after"].native
        subject = tbs["subject"]
        spki = tbs["subject_public_key_info"]
        public = load_der_public_key(spki.dump())
        usages = _usages(cert)
        basic = cert.basic_constraints_value
        key_usage = cert.key_usage_value
        country = subject.native.get("country_name") if isinstance(subject.native, dict) else None
        subject_text = subject.human_friendly
    except CertificateError:
        raise
    except Exception as exc:  # asn1crypto raises ValueError, TypeError, and others on junk
        raise CertificateError(f"not a readable X.509 certificate: {type(exc).__name__}") from exc
    if not isinstance(not_before, dt.datetime) or not isinstance(not_after, dt.datetime):
        raise CertificateError("the certificate's validity times are unreadable")
    return Certificate(
        der=der, kid=dsc_kid(der), subject=subject_text, country=country if isinstance(country, str) else None,
        not_before=int(not_before.timestamp()), not_after=int(not_after.timestamp()), usages=usages,
        is_ca=bool(basic is not None and basic["ca"].native),
        may_sign_certificates=key_usage is None or "key_cert_sign" in key_usage.native,
        key_type=_key_type(public), _cert=cert, _public=public)


def _usages(cert: asn1_x509.Certificate) -> frozenset[str] | None:
    """The EKU's OIDs read by hand from the extension list: asn1crypto's property refuses an empty sequence,
    which some DSCs carry (the DCC suite's CO15) and which, like no EKU, restricts nothing."""
    for extension in cert["tbs_certificate"]["extensions"]:
        if extension["extn_id"].dotted == "2.5.29.37":
            oids = frozenset(oid.dotted for oid in extension["extn_value"].parsed)
            return oids or None
    return None


def _key_type(public: Any) -> str:
    if isinstance(public, ec.EllipticCurvePublicKey):
        return {"secp256r1": "EC-P256", "secp384r1": "EC-P384", "secp521r1": "EC-P521"}.get(public.curve.name,
                                                                                              f"EC-{public.curve.name}")
    if isinstance(public, rsa.RSAPublicKey):
        return "RSA"
    return type(public).__name__


def issued_by(child: Certificate, ca: Certificate) -> bool:
    """True when ``ca`` is a CA whose subject is ``child``'s issuer and whose key signed ``child`` (see the module
    note for what this does not check)."""
    if not ca.is_ca or not ca.may_sign_certificates:
        return False
    child_cert = child._cert
    if child_cert["tbs_certificate"]["issuer"] != ca._cert["tbs_certificate"]["subject"]:
        return False
    algorithm = child_cert["signature_algorithm"]
    tbs = child_cert["tbs_certificate"].dump()
    signature = child_cert["signature_value"].native
    try:
        name, hash_class = algorithm.signature_algo, _HASHES.get(algorithm.hash_algo)
    except ValueError:  # an algorithm asn1crypto does not know
        return False
    if hash_class is None:
        return False
    digest, public = hash_class(), ca._public
    try:
        if name == "ecdsa" and isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, tbs, ec.ECDSA(digest))
        elif name == "rsassa_pkcs1v15" and isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, tbs, padding.PKCS1v15(), digest)
        elif name == "rsassa_pss" and isinstance(public, rsa.RSAPublicKey):
            salt = algorithm["parameters"]["salt_length"].native
            public.verify(signature, tbs, padding.PSS(mgf=padding.MGF1(digest), salt_length=salt), digest)
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
