"""Cryptographic suites: which signature, look-up hash and at-rest cipher a hub uses.

``standard`` signs with ES256 (RFC 7518 §3.4), hashes with HMAC-SHA256 and seals with AES-256-GCM.
``guomi`` (国密) is what the commercial-cryptography assessment (GB/T 39786-2021) asks for: SM2 signatures with
SM3 (GB/T 32918.2), HMAC-SM3 look-up hashes (GB/T 32905, RFC 2104) and SM4-GCM sealing (GB/T 32907, RFC 8998).
A hub picks one when it is made (``tongban init --suite guomi``); it is recorded in the hub's configuration
and in its personal-data key table, since look-up hashes and sealed values depend on it. Authorities may
still differ (``tongban keys rotate --alg``): verifiers take each key's algorithm from the trust list.

Device keys stay P-256 in every suite (browsers' WebCrypto has no SM2) and ID tokens stay ES256/RS256 (no
OpenID Connect client library verifies SM2).
"""

from __future__ import annotations

from dataclasses import dataclass

from keys.errors import KeyFormatError


@dataclass(frozen=True)
class Suite:
    name: str
    signature: str  # the algorithm of new authority and hub root keys (keys.material.ALGORITHMS)
    sealing: str  # keys.aead cipher for data at rest
    digest: str  # keys.aead keyed hash for look-ups and key derivation


STANDARD = Suite("standard", "ES256", "aes-256-gcm", "sha256")
GUOMI = Suite("guomi", "SM2", "sm4-gcm", "sm3")
SUITES = {s.name: s for s in (STANDARD, GUOMI)}
_ALIASES = {"sm2": "guomi", "国密": "guomi", "gm": "guomi", "es256": "standard", "default": "standard"}


def suite(name: str | None) -> Suite:
    """The suite called ``name`` (``standard``, ``guomi``; ``sm2`` and ``国密`` name ``guomi``); None: standard."""
    if name is None or name == "":
        return STANDARD
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in SUITES:
        raise KeyFormatError(f"unknown cryptographic suite {name!r}: choose standard or guomi (国密: SM2/SM3/SM4)")
    return SUITES[key]
