"""Private keys: generation, raw signatures (ES256 ``r || s``, EdDSA, RS256, SM2), and their PEM form at rest.

The algorithms and JWK forms are ``keys.material``'s; a key inside a PKCS#11 token (``keys.pkcs11``) or an SM2 key
(``keys.sm2``) signs through the same ``PrivateKey.sign``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from keys import sm2_at_rest
from keys.errors import KeyAtRestError, KeyFormatError
from keys.material import ALGORITHMS, RSA_KEY_BITS, PublicKey, b64url, b64url_decode
from keys.sm2 import Sm2PrivateKey


@dataclass(frozen=True)
class PrivateKey:
    """A signing key; the object never serialises itself except through ``to_pem``."""

    public: PublicKey
    _key: Any = field(repr=False, compare=False)

    @property
    def alg(self) -> str:
        return self.public.alg

    @property
    def kid(self) -> str:
        return self.public.kid

    def sign(self, data: bytes) -> bytes:
        if getattr(self._key, "signs_raw", False):  # SM2 and keys inside a PKCS#11 token return r || s themselves
            return self._key.sign(data)
        if self.alg == "EdDSA":
            return self._key.sign(data)
        if self.alg == "RS256":
            return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        r, s = decode_dss_signature(self._key.sign(data, _ES256))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def crypto_key(self) -> Any:
        return self._key

    @property
    def in_token(self) -> bool:
        """Whether the key lives inside a PKCS#11 token (``keys.pkcs11``): it signs there and never exports."""
        return hasattr(self._key, "uri")

    def signing_interface(self) -> Any:
        """This key behind ``cryptography``'s private-key interface, for a JOSE library that signs through it: the
        key itself, or for a key inside a token an object whose ``sign`` the token performs (nothing exports)."""
        if self.in_token:
            return self._key.as_ec_private_key(self.public.crypto_key())
        return self._key

    def to_pem(self, passphrase: bytes | None) -> bytes:
        if self.in_token:  # a key inside a PKCS#11 token: only its RFC 7512 URI is stored
            return self._key.uri.encode()
        if self.alg == "SM2":
            return sm2_at_rest.seal(self._key, passphrase)
        encryption = (
            serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
        )
        return self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)

    @classmethod
    def from_pem(cls, pem: bytes, passphrase: bytes | None) -> PrivateKey:
        if sm2_at_rest.is_sm2_pem(pem):
            return cls._wrap(sm2_at_rest.open_sealed(pem, passphrase))
        try:
            # Our own key files (generated here, sealed with AEAD in production): OpenSSL's RSA consistency check
            # (primality of p and q, ~50 ms per 3072-bit key at every start) guards against keys from elsewhere.
            key = serialization.load_pem_private_key(pem, password=passphrase, unsafe_skip_rsa_key_validation=True)
        except (ValueError, TypeError) as exc:
            raise KeyAtRestError(
                "cannot decrypt the private key: wrong TONGBAN_KEY_PASSPHRASE, or the key is not encrypted"
            ) from exc
        return cls._wrap(key)

    @classmethod
    def _wrap(cls, key: Any) -> PrivateKey:
        pub = key.public_key()
        if isinstance(key, Sm2PrivateKey):
            jwk = {"kty": "EC", "crv": "SM2", "x": b64url(pub.x), "y": b64url(pub.y)}
        elif isinstance(key, ed25519.Ed25519PrivateKey):
            raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
        elif isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
            numbers = pub.public_numbers()
            jwk = {
                "kty": "EC", "crv": "P-256",
                "x": b64url(numbers.x.to_bytes(32, "big")), "y": b64url(numbers.y.to_bytes(32, "big")),
            }
        elif isinstance(key, rsa.RSAPrivateKey):
            numbers = pub.public_numbers()
            jwk = {"kty": "RSA", "n": _uint(numbers.n), "e": _uint(numbers.e)}
        else:
            raise KeyFormatError("only P-256, SM2, Ed25519 and RSA private keys are supported")
        return cls(public=PublicKey.from_jwk(jwk, "RS256" if jwk["kty"] == "RSA" else None), _key=key)


_ES256 = ec.ECDSA(hashes.SHA256())  # immutable; one per process instead of one per signature


def _uint(value: int) -> str:
    """An unsigned integer as base64url of its minimal big-endian octets (RFC 7518 §2 Base64urlUInt)."""
    return b64url(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def generate(alg: str = "ES256") -> PrivateKey:
    if alg == "RS256":
        return PrivateKey._wrap(rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS))
    if alg == "ES256":
        return PrivateKey._wrap(ec.generate_private_key(ec.SECP256R1()))
    if alg == "EdDSA":
        return PrivateKey._wrap(ed25519.Ed25519PrivateKey.generate())
    if alg == "SM2":
        return PrivateKey._wrap(Sm2PrivateKey.generate())
    raise KeyFormatError(f"unsupported algorithm {alg!r}: choose one of {', '.join(ALGORITHMS)}")


def private_from_jwk(jwk: dict[str, Any]) -> PrivateKey:
    """Load a private JWK (used for the published spec vectors' example keys)."""
    if jwk.get("kty") == "RSA":
        raise KeyFormatError("private RSA JWKs are not supported: RSA keys are generated and kept as PEM")
    public = PublicKey.from_jwk(jwk)
    d = b64url_decode(jwk.get("d", ""))
    if public.jwk["kty"] == "OKP":
        return PrivateKey._wrap(ed25519.Ed25519PrivateKey.from_private_bytes(d))
    if public.alg == "SM2":
        private = PrivateKey._wrap(Sm2PrivateKey(d))
        if private.public != public:
            raise KeyFormatError("the SM2 private JWK's d does not belong to its x and y")
        return private
    return PrivateKey._wrap(ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1()))
