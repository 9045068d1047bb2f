"""Public key material: JWK (RFC 7517) and COSE_Key (RFC 9052 §7) forms, key ids, signature checks; private
keys (generation, signing, PEM at rest) are ``keys.private_key``.

Supported algorithms (one per key, fixed by its curve): ES256 (ECDSA P-256 with SHA-256, RFC 7518 §3.4),
EdDSA over Ed25519 (RFC 8037), SM2 (SM2 signature with SM3, GB/T 32918.2, default user id of GM/T 0009, through
``keys.sm2``; JWK ``kty`` EC with ``crv`` ``SM2``, signatures ``r || s``) and RS256 (RSASSA-PKCS1-v1_5
with SHA-256, RFC 7518 §3.3; 3072-bit keys generated, JWK ``kty`` RSA with ``n``/``e``, RFC 7518 §6.3.1).
SM2 keys are issuer and hub keys: they have no COSE_Key form (holder keys stay P-256, WebCrypto has no SM2).
Key ids are RFC 7638 JWK thumbprints; the 8-byte ``short_kid`` (its first 8 bytes) is what compact QR
credentials carry, the way the EU DCC carries 8 bytes of its certificate hash.

RS256 is for the identity provider's ID tokens only (OIDC Discovery §3 requires it), never for QR
credentials: RSA keys have no COSE form here, so ``to_cose_key`` raises
``KeyFormatError`` for them, and ``PublicKey.from_jwk`` reads an RSA JWK only when its caller asks for
RS256 explicitly (the IdP's key rings), so a device or authority key given as JWK can never be RSA.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from keys.errors import KeyFormatError
from keys.sm2 import Sm2PublicKey

ALGORITHMS = ("ES256", "EdDSA", "SM2", "RS256")
RSA_KEY_BITS = 3072  # generated RS256 keys
RSA_MIN_BITS = 2048  # smallest RSA key accepted (RFC 7518 §3.3)
SHORT_KID_BYTES = 8

# COSE_Key labels, RFC 9052 §7.1 and RFC 9053 §7.
_KTY, _CRV, _X, _Y = 1, -1, -2, -3
_KTY_OKP, _KTY_EC2 = 1, 2
_CRV_P256, _CRV_ED25519 = 1, 6


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise KeyFormatError(f"not base64url: {text!r}") from exc


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace."""
    required = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}.get(
        jwk.get("kty", "")
    )
    if required is None:
        raise KeyFormatError(f"unsupported JWK kty {jwk.get('kty')!r}")
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def short_kid(kid: str) -> bytes:
    return b64url_decode(kid)[:SHORT_KID_BYTES]


@dataclass(frozen=True)
class PublicKey:
    """A verification key; ``jwk`` holds only public members."""

    alg: str
    jwk: dict[str, Any] = field(hash=False)
    kid: str

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any], alg: str | None = None) -> PublicKey:
        """Read a public JWK. RSA is accepted only with ``alg="RS256"`` passed by the caller (never inferred
        from the JWK): RSA keys sign ID tokens only, so device, authority and root keys stay EC/OKP."""
        if not isinstance(jwk, dict):
            raise KeyFormatError("a JWK must be a JSON object")
        kty, crv = jwk.get("kty"), jwk.get("crv")
        if (kty, crv) == ("EC", "P-256"):
            members, default_alg = ("kty", "crv", "x", "y"), "ES256"
        elif (kty, crv) == ("OKP", "Ed25519"):
            members, default_alg = ("kty", "crv", "x"), "EdDSA"
        elif (kty, crv) == ("EC", "SM2"):
            members, default_alg = ("kty", "crv", "x", "y"), "SM2"
        elif kty == "RSA" and alg == "RS256":
            members, default_alg, crv = ("kty", "n", "e"), "RS256", "RSA"
        else:
            raise KeyFormatError(f"unsupported key type {kty}/{crv}: use EC P-256, EC SM2 or OKP Ed25519"
                                 + (" (RSA only for RS256 ID token keys)" if kty == "RSA" else ""))
        if not all(isinstance(jwk.get(m), str) for m in members):
            raise KeyFormatError(f"JWK lacks one of {members}")
        public = {m: jwk[m] for m in members}
        key = cls(alg=alg or jwk.get("alg") or default_alg, jwk=public, kid=jwk_thumbprint(public))
        if key.alg != default_alg:
            raise KeyFormatError(f"algorithm {key.alg} does not match a {crv} key")
        key._crypto()  # fail now, not at first use, on a point that is not on the curve
        return key

    @classmethod
    def from_cose_key(cls, cose: Any) -> PublicKey:
        """Read a COSE_Key map (as in a CWT ``cnf``, RFC 8747 §3.1); EC2 ``y`` may be a sign bit."""
        if not isinstance(cose, dict):
            raise KeyFormatError("COSE_Key must be a map")
        kty, crv, x = cose.get(_KTY), cose.get(_CRV), cose.get(_X)
        if not isinstance(x, bytes):
            raise KeyFormatError("COSE_Key x must be a byte string")
        if (kty, crv) == (_KTY_OKP, _CRV_ED25519) and len(x) == 32:
            return cls.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": b64url(x)})
        if (kty, crv) == (_KTY_EC2, _CRV_P256) and len(x) == 32:
            y = cose.get(_Y)
            if isinstance(y, bool):  # point compression, RFC 9053 §7.1.1
                try:
                    point = ec.EllipticCurvePublicKey.from_encoded_point(
                        ec.SECP256R1(), bytes([3 if y else 2]) + x
                    )
                except ValueError as exc:
                    raise KeyFormatError("COSE_Key x is not on P-256") from exc
                # The point is decompressed and on the curve already: keep it, no second construction.
                jwk = {"kty": "EC", "crv": "P-256", "x": b64url(x),
                       "y": b64url(point.public_numbers().y.to_bytes(32, "big"))}
                key = cls(alg="ES256", jwk=jwk, kid=jwk_thumbprint(jwk))
                key.__dict__["_crypto_object"] = point
                return key
            if not isinstance(y, bytes) or len(y) != 32:
                raise KeyFormatError("COSE_Key y must be 32 bytes or a sign bit")
            return cls.from_jwk({"kty": "EC", "crv": "P-256", "x": b64url(x), "y": b64url(y)})
        raise KeyFormatError("COSE_Key must be EC2 P-256 or OKP Ed25519 with a 32-byte x")

    def to_cose_key(self, *, compressed: bool = True) -> dict[int, Any]:
        self._no_cose()
        x = b64url_decode(self.jwk["x"])
        if self.jwk["kty"] == "OKP":
            return {_KTY: _KTY_OKP, _CRV: _CRV_ED25519, _X: x}
        y = b64url_decode(self.jwk["y"])
        return {_KTY: _KTY_EC2, _CRV: _CRV_P256, _X: x, _Y: bool(y[-1] & 1) if compressed else y}

    def _no_cose(self) -> None:
        if self.jwk["kty"] == "RSA":
            raise KeyFormatError("RSA keys are for ID tokens only and have no COSE form (QR credentials)")
        if self.alg == "SM2":
            raise KeyFormatError("SM2 keys sign for issuers and the hub only and have no COSE_Key form "
                                 "(device keys stay P-256: browsers' WebCrypto has no SM2)")

    @property
    def short_kid(self) -> bytes:
        return short_kid(self.kid)

    def public_jwk(self) -> dict[str, Any]:
        return {**self.jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def _crypto(self) -> Any:
        # Built once per key object: a trust list's keys verify thousands of codes (functools.cached_property
        # writes the instance dict, which a frozen dataclass allows).
        return self._crypto_object

    @cached_property
    def _crypto_object(self) -> Any:
        try:
            if self.jwk["kty"] == "OKP":
                return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(self.jwk["x"]))
            if self.jwk["kty"] == "RSA":
                n = int.from_bytes(b64url_decode(self.jwk["n"]), "big")
                e = int.from_bytes(b64url_decode(self.jwk["e"]), "big")
                if n.bit_length() < RSA_MIN_BITS:
                    raise ValueError(f"RSA modulus shorter than {RSA_MIN_BITS} bits")
                return rsa.RSAPublicNumbers(e, n).public_key()
            if self.jwk["crv"] == "SM2":
                return Sm2PublicKey(b64url_decode(self.jwk["x"]), b64url_decode(self.jwk["y"]))
            x = int.from_bytes(b64url_decode(self.jwk["x"]), "big")
            y = int.from_bytes(b64url_decode(self.jwk["y"]), "big")
            return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
        except ValueError as exc:
            raise KeyFormatError(f"invalid public key: {exc}") from exc

    def crypto_key(self) -> Any:
        """The ``cryptography`` key object, for PyJWT (an ``Sm2PublicKey`` for SM2: sign JWS with ``keys.jws``)."""
        return self._crypto()

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Check a raw signature (r||s for ES256, RFC 7518 §3.4, and SM2; 64 bytes for EdDSA; PKCS#1 v1.5 for RS256)."""
        key = self._crypto()
        if self.alg == "SM2":
            return key.verify(signature, data)
        try:
            if self.alg == "EdDSA":
                key.verify(signature, data)
            elif self.alg == "RS256":
                key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            else:
                if len(signature) != 64:
                    return False
                der = encode_dss_signature(
                    int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
                )
                key.verify(der, data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True
