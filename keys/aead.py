"""Authenticated encryption of small values at rest, with associated data, and keyed look-up hashes.

Two suites (``keys.suites``): AES-256-GCM with HMAC-SHA256 (``standard``), or SM4-GCM (GB/T 32907 in GCM,
RFC 8998) with HMAC-SM3 (GB/T 32905) for 国密 (``guomi``). The one place outside ``keys/`` that needs a
symmetric cipher (the issuer's personal data at rest) gets it here, so ``cryptography.hazmat`` stays inside
``keys/``. A sealed value is ``nonce (12 bytes) || ciphertext || tag (16 bytes)``; the nonce is random
(SP 800-38D §8.2.2), so one key must not seal more than 2^32 values (§8.3): callers version their keys and
rotate well before that. The associated data binds a value to where it is stored (table, column, row): a
ciphertext copied elsewhere does not open. Keys are derived from a master secret with the suite's HMAC
(RFC 2104, as ``idp.secrets`` does), one label per purpose and version: 32 bytes for AES-256, the first 16
of HMAC-SM3 for SM4.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keys.errors import KeysError

NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
SM4_KEY_BYTES = 16


class SealError(KeysError):
    """A sealed value does not open: another key, other associated data, or altered bytes."""

    reason = "sealed_value_invalid"


def keyed_hash(key: bytes, data: bytes, digest: str = "sha256") -> bytes:
    """HMAC (RFC 2104) with SHA-256 or SM3 (``digest`` as ``keys.suites.Suite.digest`` names it)."""
    if digest == "sha256":
        return hmac.new(key, data, hashlib.sha256).digest()
    if digest == "sm3":
        mac = crypto_hmac.HMAC(key, hashes.SM3())
        mac.update(data)
        return mac.finalize()
    raise SealError(f"unknown keyed hash {digest!r}")


def derive_key(master: bytes, label: str, suite: str = "aes-256-gcm") -> bytes:
    """A purpose key for ``suite``'s cipher: HMAC(master, label); one leaked purpose key reveals neither the
    master nor the other purposes' keys."""
    if len(master) < KEY_BYTES:
        raise SealError(f"the master secret must hold at least {KEY_BYTES} bytes")
    if suite == "sm4-gcm":
        return keyed_hash(master, label.encode(), "sm3")[:SM4_KEY_BYTES]
    return keyed_hash(master, label.encode(), "sha256")


def seal(key: bytes, plaintext: bytes, associated_data: bytes, suite: str = "aes-256-gcm") -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    if suite == "sm4-gcm":
        encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(associated_data)
        return nonce + encryptor.update(plaintext) + encryptor.finalize() + encryptor.tag
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data)


def unseal(key: bytes, sealed: bytes, associated_data: bytes, suite: str = "aes-256-gcm") -> bytes:
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise SealError("sealed value too short")
    try:
        if suite == "sm4-gcm":
            decryptor = Cipher(algorithms.SM4(key), modes.GCM(sealed[:NONCE_BYTES], sealed[-TAG_BYTES:])).decryptor()
            decryptor.authenticate_additional_data(associated_data)
            return decryptor.update(sealed[NONCE_BYTES:-TAG_BYTES]) + decryptor.finalize()
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated_data)
    except (InvalidTag, ValueError) as exc:
        raise SealError("sealed value does not open with this key and associated data") from exc


__all__ = ["KEY_BYTES", "NONCE_BYTES", "SealError", "derive_key", "keyed_hash", "seal", "unseal"]
