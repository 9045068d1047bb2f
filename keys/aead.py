"""Authenticated encryption of small values at rest: AES-256-GCM (NIST SP 800-38D) with associated data.

The one place outside ``keys/`` that needs a symmetric cipher (the issuer's personal data at rest) gets it
here, so ``cryptography.hazmat`` stays inside ``keys/``. A sealed value is ``nonce (12 bytes) || ciphertext ||
tag (16 bytes)``; the nonce is random (SP 800-38D §8.2.2), so one key must not seal more than 2^32 values (§8.3):
callers version their keys and rotate well before that. The associated data binds a value to where it is
stored (table, column, row): a ciphertext copied elsewhere does not open. Keys are derived from a master
secret with HMAC-SHA256 (RFC 2104, as ``idp.secrets`` does), one label per purpose and version.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keys.errors import KeysError

NONCE_BYTES = 12
KEY_BYTES = 32


class SealError(KeysError):
    """A sealed value does not open: another key, other associated data, or altered bytes."""

    reason = "sealed_value_invalid"


def derive_key(master: bytes, label: str) -> bytes:
    """A 32-byte purpose key: HMAC-SHA256(master, label); one leaked purpose key reveals neither the master
    nor the other purposes' keys."""
    if len(master) < KEY_BYTES:
        raise SealError(f"the master secret must hold at least {KEY_BYTES} bytes")
    return hmac.new(master, label.encode(), hashlib.sha256).digest()


def seal(key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data)


def unseal(key: bytes, sealed: bytes, associated_data: bytes) -> bytes:
    if len(sealed) < NONCE_BYTES + 16:
        raise SealError("sealed value too short")
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated_data)
    except InvalidTag as exc:
        raise SealError("sealed value does not open with this key and associated data") from exc


__all__ = ["KEY_BYTES", "NONCE_BYTES", "SealError", "derive_key", "seal", "unseal"]
