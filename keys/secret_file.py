"""Service secrets (HMAC and encryption master keys): a configured value, else a 0600 file.

The file is made on first use with 32 random bytes; several processes starting together agree on one
value because the first ``link`` wins. A value from the environment must be hex of at least 32 bytes.

At rest the file follows the private keys' policy (``keys.at_rest``): with ``TONGBAN_KEY_PASSPHRASE`` set it
is sealed, ``tongban-sealed-secret:v1:<salt>:<token>``: a Fernet token (AES-128-CBC + HMAC-SHA256, from
``cryptography``, nothing hand-rolled) under a key derived from the passphrase with scrypt (RFC 7914;
n=2^15, r=8, p=1, a fresh 16-byte salt per file). A plaintext hex file found while a passphrase is set is
sealed in place (an atomic replace; concurrent starts write the same value), so a data directory made before
sealing existed migrates at its next start. Without a passphrase the file stays hex (demo mode); production
start-up refuses that (``service.production``).

Nothing here reads the environment: the configured value and the passphrase are parameters
(``service.config.Settings`` reads the variables); ``env_name`` only names the variable in messages.
"""

from __future__ import annotations

import base64
import functools
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from keys.at_rest import PASSPHRASE_ENV
from keys.errors import KeyAtRestError, KeyFormatError

MIN_BYTES = 32
SEALED_PREFIX = "tongban-sealed-secret:v1:"  # a format tag, not a secret
_SALT_BYTES = 16
_MAX_FILE_CHARS = 4096


def load_secret(path: Path, env_name: str, *, value: str | None = None,
                passphrase: str | bytes | None = None) -> bytes:
    """The secret: ``value`` (hex, from the variable ``env_name``) when given, else the file at ``path``
    (made on first use; sealed under ``passphrase`` when one is given)."""
    if value:
        try:
            configured = bytes.fromhex(value)
        except ValueError as exc:
            raise KeyFormatError(f"{env_name} must be hex") from exc
        if len(configured) < MIN_BYTES:
            raise KeyFormatError(f"{env_name} must hold at least {MIN_BYTES} bytes ({2 * MIN_BYTES} hex digits)")
        return configured
    passphrase = (passphrase.encode() if isinstance(passphrase, str) else passphrase) or None
    if not path.exists():
        value = secrets.token_bytes(MIN_BYTES)
        _write(path, _seal(value, passphrase) if passphrase else value.hex(), first_wins=True)
    text = _read(path)
    if text.startswith(SEALED_PREFIX):
        if passphrase is None:
            raise KeyAtRestError(f"{path} is sealed under the key passphrase: set {PASSPHRASE_ENV}")
        return _open(text, passphrase, path)
    value = _plain(text, path, env_name)
    if passphrase is not None:
        _write(path, _seal(value, passphrase), first_wins=False)  # migration: seal a plaintext file in place
    return value


def is_sealed(path: Path) -> bool:
    """Whether ``path`` holds a sealed secret (False when it is missing or plaintext)."""
    try:
        return _read(path).startswith(SEALED_PREFIX)
    except (OSError, KeyFormatError):
        return False


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()[:_MAX_FILE_CHARS + 1]
        return raw.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise KeyFormatError(f"{path} is not a tongban secret file (not ASCII)") from exc


def _plain(text: str, path: Path, env_name: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError as exc:
        raise KeyFormatError(f"{path} is not a tongban secret file: restore it, or set {env_name}") from exc
    if len(value) < MIN_BYTES:
        raise KeyFormatError(f"{path} holds fewer than {MIN_BYTES} bytes: restore it, or set {env_name}")
    return value


def _write(path: Path, text: str, *, first_wins: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")
    try:
        if first_wins:
            try:
                os.link(tmp, path)  # first writer wins across processes
            except FileExistsError:
                pass
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@functools.lru_cache(maxsize=16)
def _fernet(passphrase: bytes, salt: bytes) -> Fernet:
    """scrypt is slow on purpose; one derivation per (passphrase, salt) per process is enough."""
    key = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase)
    return Fernet(base64.urlsafe_b64encode(key))


def _seal(value: bytes, passphrase: bytes) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    token = _fernet(passphrase, salt).encrypt(value).decode("ascii")
    return f"{SEALED_PREFIX}{base64.urlsafe_b64encode(salt).decode('ascii')}:{token}"


def _open(text: str, passphrase: bytes, path: Path) -> bytes:
    salt_text, _, token = text[len(SEALED_PREFIX):].partition(":")
    try:
        salt = base64.urlsafe_b64decode(salt_text.encode("ascii"))
        if len(salt) != _SALT_BYTES:
            raise ValueError("salt length")
        value = _fernet(passphrase, salt).decrypt(token.encode("ascii"))
    except (ValueError, InvalidToken) as exc:
        raise KeyAtRestError(f"cannot open {path}: wrong {PASSPHRASE_ENV}, or the file is damaged") from exc
    if len(value) < MIN_BYTES:
        raise KeyAtRestError(f"cannot open {path}: the sealed secret is too short")
    return value
