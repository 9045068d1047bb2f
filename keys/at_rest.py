"""Private keys at rest: PKCS#8 PEM encrypted under a passphrase (cryptography's best available scheme).

A plaintext private key is refused, for reading and for writing, unless development mode is on:
``TONGBAN_DEV_PLAINTEXT_KEYS=1`` or a ``DEV-PLAINTEXT-KEYS`` marker file in the key directory
(``tongban init`` writes it for the demo and says so).

This module reads no environment: the passphrase and the development flag are parameters, read once by
the composition root (``service.config.Settings``). The variable names stay here for messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keys.errors import KeyAtRestError
from keys.private_key import PrivateKey
from keys.sm2_at_rest import is_plaintext_sm2_pem

PASSPHRASE_ENV = "TONGBAN_KEY_PASSPHRASE"  # noqa: S105 - the variable name, not a secret
DEV_FLAG_ENV = "TONGBAN_DEV_PLAINTEXT_KEYS"
DEV_MARKER = "DEV-PLAINTEXT-KEYS"
_PLAINTEXT_HEADER = b"-----BEGIN PRIVATE KEY-----"


@dataclass(frozen=True)
class AtRestPolicy:
    passphrase: bytes | None
    allow_plaintext: bool = False
    hsm: Any = None  # a keys.pkcs11.Pkcs11Token: keys inside it are stored as their pkcs11: URI (RFC 7512)

    @classmethod
    def for_directory(cls, directory: Path | None = None, *, passphrase: str | bytes | None = None,
                      dev_plaintext: bool = False, hsm: Any = None) -> AtRestPolicy:
        """The policy for keys in ``directory``: sealed under ``passphrase`` (``TONGBAN_KEY_PASSPHRASE``);
        plaintext allowed with ``dev_plaintext`` (``TONGBAN_DEV_PLAINTEXT_KEYS=1``) or the directory's marker."""
        secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
        dev = dev_plaintext or bool(directory and (directory / DEV_MARKER).exists())
        return cls(secret or None, allow_plaintext=dev, hsm=hsm)

    def seal(self, key: PrivateKey) -> bytes:
        if hasattr(key.crypto_key(), "uri"):  # in a PKCS#11 token: nothing secret leaves it
            return key.to_pem(None)
        if self.passphrase is None and not self.allow_plaintext:
            raise KeyAtRestError(
                f"refusing to store a private key unencrypted: set {PASSPHRASE_ENV} "
                f"(or {DEV_FLAG_ENV}=1 for development only)"
            )
        return key.to_pem(self.passphrase)

    def open(self, pem: bytes) -> PrivateKey:
        if pem.startswith(b"pkcs11:"):
            if self.hsm is None:
                raise KeyAtRestError("the key ring names a key inside a PKCS#11 token: set TONGBAN_PKCS11_MODULE, "
                                     "TONGBAN_PKCS11_TOKEN and TONGBAN_PKCS11_PIN")
            return self.hsm.load(pem.decode("ascii", "replace"))
        if is_plaintext_pem(pem):
            if not self.allow_plaintext:
                raise KeyAtRestError(
                    f"refusing a plaintext private key on disk: re-encrypt it, or set {DEV_FLAG_ENV}=1 "
                    "for development only"
                )
            return PrivateKey.from_pem(pem, None)
        if self.passphrase is None:
            raise KeyAtRestError(f"the private key is encrypted: set {PASSPHRASE_ENV}")
        return PrivateKey.from_pem(pem, self.passphrase)


def is_plaintext_pem(pem: bytes) -> bool:
    """An unencrypted private key (what ``seal`` writes without a passphrase: PKCS#8, or an SM2 scalar)."""
    return pem.lstrip().startswith(_PLAINTEXT_HEADER) or is_plaintext_sm2_pem(pem)


def mark_development(directory: Path) -> Path:
    """Allow plaintext keys in ``directory`` (demo only); returns the marker's path."""
    directory.mkdir(parents=True, exist_ok=True)
    marker = directory / DEV_MARKER
    marker.write_text("Private keys in this directory may be stored unencrypted. Development only.\n")
    return marker
