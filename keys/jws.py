"""Compact JWS (RFC 7515 §7.1) made and checked by ``keys`` objects, for every signature suite.

PyJWT does the JOSE framing (headers, base64url, the signing input); the signature itself comes from
``PrivateKey.sign`` and is checked by ``PublicKey.verify``, so an SM2 key (GB/T 32918.2, which PyJWT does not
know) or a key inside a PKCS#11 token (``keys.pkcs11``, whose private half never leaves the token) signs a
trust list or a status list the way a P-256 key in memory does. The signature formats are JWS's own:
``r || s`` for ES256 (RFC 7518 §3.4), 64 bytes for EdDSA (RFC 8037 §3.1), PKCS#1 v1.5 for RS256 and, for SM2,
``r || s`` (32 bytes each). ``SM2`` is a private JOSE algorithm name (not registered with IANA): only a
verifier that pins an SM2 key accepts it.

The instance below knows only these algorithms and each one accepts only a key of its own algorithm, so a
token whose header names another algorithm than the pinned key's is refused (RFC 8725 §3.1).
"""

from __future__ import annotations

import json
from typing import Any

from jwt.algorithms import Algorithm
from jwt.api_jws import PyJWS
from jwt.exceptions import InvalidKeyError

JOSE_ALGORITHMS = ("ES256", "EdDSA", "RS256", "SM2")


class _KeysAlgorithm(Algorithm):
    """One JOSE algorithm, carried out by a ``keys.PrivateKey`` / ``keys.PublicKey`` of that algorithm."""

    def __init__(self, name: str):
        self.name = name

    def prepare_key(self, key: Any) -> Any:
        if getattr(key, "alg", None) != self.name or not (hasattr(key, "sign") or hasattr(key, "verify")):
            raise InvalidKeyError(f"a {self.name} token needs a keys {self.name} key")
        return key

    def sign(self, msg: bytes, key: Any) -> bytes:
        return key.sign(msg)

    def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
        return key.verify(sig, msg)

    @staticmethod
    def to_jwk(key_obj: Any, as_dict: bool = False) -> Any:  # pragma: no cover - keys builds its own JWKs
        raise NotImplementedError

    @staticmethod
    def from_jwk(jwk: str | dict[str, Any]) -> Any:  # pragma: no cover - keys reads its own JWKs
        raise NotImplementedError


JWS = PyJWS(algorithms=[])
for _name in JOSE_ALGORITHMS:
    JWS.register_algorithm(_name, _KeysAlgorithm(_name))


def jws_encode(claims: dict[str, Any], key: Any, headers: dict[str, Any]) -> str:
    """A compact JWS of ``claims`` (JSON, no whitespace) signed by ``key`` (a ``keys`` private key)."""
    payload = json.dumps(claims, separators=(",", ":")).encode()
    return JWS.encode(payload, key, algorithm=key.alg, headers=headers)


def jws_decode(token: str | bytes, key: Any) -> bytes:
    """The payload of ``token`` if ``key`` (a ``keys.PublicKey``) signed it under its own algorithm.

    Raises PyJWT's exceptions (``InvalidSignatureError``, ``InvalidAlgorithmError``, ``DecodeError``); callers map
    them to their own reason codes.
    """
    return JWS.decode_complete(token, key, algorithms=[key.alg])["payload"]
