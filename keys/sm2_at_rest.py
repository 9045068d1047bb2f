"""SM2 private keys at rest: the 32-byte scalar sealed with SM4-GCM under a key derived from the passphrase.

``cryptography`` has no SM2 curve, so it cannot write an SM2 key as PKCS#8 the way ``keys.at_rest`` writes
P-256 and Ed25519 keys. An SM2 key is kept in a PEM-armoured envelope of its own instead, all of it 国密:

- sealed: ``-----BEGIN TONGBAN SM2 ENCRYPTED PRIVATE KEY-----`` around ``version (1) || iterations (4, big
  endian) || salt (16) || nonce (12) || SM4-GCM(scalar) || tag (16)``; the key is PBKDF2-HMAC-SM3 (RFC 8018
  §5.2 with SM3, GB/T 32905) of the passphrase, SM4 is GB/T 32907 in GCM (NIST SP 800-38D) with the header
  line as associated data, so a sealed key moved under another label does not open;
- development plaintext: ``-----BEGIN TONGBAN SM2 PRIVATE KEY-----`` around the scalar (refused unless the
  key directory allows plaintext keys, as for every suite).

The iteration count is read from the envelope and bounded, so an old key opens after the default is raised and
a forged header cannot make opening take hours.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from keys.errors import KeyAtRestError, KeyFormatError
from keys.sm2 import Sm2PrivateKey

SEALED_LABEL = b"TONGBAN SM2 ENCRYPTED PRIVATE KEY"
PLAIN_LABEL = b"TONGBAN SM2 PRIVATE KEY"
VERSION = 1
ITERATIONS = 200_000
MIN_ITERATIONS, MAX_ITERATIONS = 10_000, 10_000_000
_SALT, _NONCE, _TAG, _SCALAR = 16, 12, 16, 32
_HEAD = 1 + 4 + _SALT + _NONCE


def _armour(label: bytes, body: bytes) -> bytes:
    text = base64.encodebytes(body).replace(b"\n", b"")
    lines = b"\n".join(text[i:i + 64] for i in range(0, len(text), 64))
    return b"-----BEGIN " + label + b"-----\n" + lines + b"\n-----END " + label + b"-----\n"


def _unarmour(pem: bytes, label: bytes) -> bytes:
    lines = pem.strip().splitlines()
    if len(lines) < 3 or lines[0] != b"-----BEGIN " + label + b"-----" or lines[-1] != b"-----END " + label + b"-----":
        raise KeyAtRestError("the SM2 private key's PEM armour is damaged")
    try:
        return base64.b64decode(b"".join(lines[1:-1]), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyAtRestError("the SM2 private key's PEM body is not base64") from exc


def is_sm2_pem(pem: bytes) -> bool:
    head = pem.lstrip()
    return head.startswith(b"-----BEGIN " + SEALED_LABEL + b"-----") or is_plaintext_sm2_pem(pem)


def is_plaintext_sm2_pem(pem: bytes) -> bool:
    return pem.lstrip().startswith(b"-----BEGIN " + PLAIN_LABEL + b"-----")


def _kek(passphrase: bytes, salt: bytes, iterations: int) -> bytes:
    return PBKDF2HMAC(algorithm=hashes.SM3(), length=16, salt=salt, iterations=iterations).derive(passphrase)


def seal(key: Sm2PrivateKey, passphrase: bytes | None, *, iterations: int = ITERATIONS) -> bytes:
    """The PEM text of ``key``: sealed under ``passphrase``, or in clear when it is None (development)."""
    if passphrase is None:
        return _armour(PLAIN_LABEL, key.private_scalar())
    salt, nonce = os.urandom(_SALT), os.urandom(_NONCE)
    head = bytes([VERSION]) + iterations.to_bytes(4, "big") + salt + nonce
    encryptor = Cipher(algorithms.SM4(_kek(passphrase, salt, iterations)), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(SEALED_LABEL + head)
    body = encryptor.update(key.private_scalar()) + encryptor.finalize() + encryptor.tag
    return _armour(SEALED_LABEL, head + body)


def open_sealed(pem: bytes, passphrase: bytes | None) -> Sm2PrivateKey:
    """Read what ``seal`` wrote; a wrong passphrase or an altered byte is ``KeyAtRestError``."""
    if is_plaintext_sm2_pem(pem):
        return _scalar_key(_unarmour(pem, PLAIN_LABEL))
    body = _unarmour(pem, SEALED_LABEL)
    if len(body) != _HEAD + _SCALAR + _TAG or body[0] != VERSION:
        raise KeyAtRestError("the sealed SM2 private key has an unknown version or length")
    if passphrase is None:
        raise KeyAtRestError("the SM2 private key is encrypted: set TONGBAN_KEY_PASSPHRASE")
    iterations = int.from_bytes(body[1:5], "big")
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise KeyAtRestError("the sealed SM2 private key names an iteration count out of bounds")
    salt, nonce = body[5:5 + _SALT], body[5 + _SALT:_HEAD]
    ciphertext, tag = body[_HEAD:-_TAG], body[-_TAG:]
    decryptor = Cipher(algorithms.SM4(_kek(passphrase, salt, iterations)), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(SEALED_LABEL + body[:_HEAD])
    try:
        scalar = decryptor.update(ciphertext) + decryptor.finalize()
    except InvalidTag as exc:
        raise KeyAtRestError("cannot decrypt the SM2 private key: wrong TONGBAN_KEY_PASSPHRASE, or altered") from exc
    return _scalar_key(scalar)


def _scalar_key(scalar: bytes) -> Sm2PrivateKey:
    try:
        return Sm2PrivateKey(scalar)
    except KeyFormatError as exc:
        raise KeyAtRestError(f"the stored SM2 private key is not valid: {exc}") from exc
