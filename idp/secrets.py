"""Service secrets for the identity provider: ID-number encryption, look-up hashing, cookie signing.

One 32-byte master secret from ``TONGBAN_IDP_SECRET`` (hex) or, for the embedded default, a 0600 file
in the data directory created on first use. Purpose keys are derived with the suite's HMAC (RFC 2104) so
one leaked derived key does not reveal the others. Nothing here is hand-rolled: ``keys.aead`` and Fernet.

The suite (``keys.suites``) is the hub's, recorded in ``hub.json`` when the hub is made:

* ``standard``: HMAC-SHA256 for look-up hashes, pairwise ``sub`` and key derivation; Fernet (AES-128-CBC +
  HMAC-SHA256) for sealed values, which read ``gAAAA...``.
* ``guomi`` (国密, GB/T 39786-2021): HMAC-SM3 (GB/T 32905) for the same, and SM4-GCM (GB/T 32907, RFC 8998)
  through ``keys.aead`` for sealed values, which read ``sm4.<base64url(nonce || ciphertext || tag)>``.

Either kind of sealed value opens under either suite (the prefix says which; both keys derive from the same
master), so nothing stored is lost. Look-up hashes cannot be converted (they are one-way): a hub's suite is
chosen once, and ``Accounts.check_suite`` refuses to start an IdP whose stored accounts were sealed under the
other one. The Flask session cookie's MAC is itsdangerous's (it carries only the CSRF token, no personal data).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from idp.errors import IdpError
from keys import b64url, b64url_decode
from keys.aead import SealError, derive_key, keyed_hash, seal, unseal
from keys.errors import KeyFormatError
from keys.layout import Layout
from keys.secret_file import load_secret
from keys.suites import STANDARD, Suite, suite

SECRET_ENV = "TONGBAN_IDP_SECRET"  # noqa: S105 - variable name
SM4_PREFIX = "sm4."
_AAD = b"tongban-idp/v1"  # what SM4-GCM binds a sealed value to: this service's IdP


@dataclass(frozen=True)
class Secrets:
    master: bytes
    suite: Suite = field(default=STANDARD)

    def _derive(self, label: str) -> bytes:
        if self.suite.digest == "sha256":
            return hmac.new(self.master, label.encode(), hashlib.sha256).digest()
        return keyed_hash(self.master, label.encode(), self.suite.digest)

    def _mac(self, key: bytes, data: bytes) -> bytes:
        return keyed_hash(key, data, self.suite.digest)

    @property
    def session_key(self) -> bytes:
        return self._derive("flask-session")

    def lookup_hash(self, value: str) -> str:
        """Keyed hash for equality look-ups of sensitive identifiers (never reversible)."""
        return self._mac(self._derive("lookup"), value.encode()).hex()

    def pairwise_sub(self, sector: str, sub: str) -> str:
        """OIDC Core §8.1: a per-sector ``sub``, stable for that sector, unlinkable across sectors without the
        secret (the suite's HMAC over sector and local id, as §8.1's hash-based example, with a derived key)."""
        return b64url(self._mac(self._derive("pairwise-sub"), f"{sector}\x00{sub}".encode()))

    # -- sealed values ----------------------------------------------------------------------------
    def _fernet(self) -> Fernet:
        return Fernet(base64.urlsafe_b64encode(hmac.new(self.master, b"fernet", hashlib.sha256).digest()))

    def _sm4_key(self) -> bytes:
        return derive_key(self.master, "idp-sm4-seal", "sm4-gcm")

    def encrypt(self, value: str) -> str:
        if self.suite.sealing == "sm4-gcm":
            return SM4_PREFIX + b64url(seal(self._sm4_key(), value.encode(), _AAD, "sm4-gcm"))
        return self._fernet().encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            if token.startswith(SM4_PREFIX):
                return unseal(self._sm4_key(), b64url_decode(token[len(SM4_PREFIX):]), _AAD, "sm4-gcm").decode()
            return self._fernet().decrypt(token.encode()).decode()
        except (InvalidToken, SealError, KeyFormatError, ValueError) as exc:
            raise IdpError("stored ciphertext does not open with this service secret") from exc

    def _bearer_key(self, bearer: str) -> bytes:
        """A key derived from this secret AND ``bearer`` (32 bytes; SM4 takes the first 16)."""
        return self._mac(self._derive("bearer-seal"), bearer.encode())

    def seal_for(self, bearer: str, value: str) -> str:
        """Sealed under a key derived from this secret AND ``bearer`` (a token the client holds, of which the
        database keeps only a hash): what is sealed opens only for someone presenting that token again, and
        neither a copy of the database nor the secret alone opens it (``idp.refresh_tokens`` keeps the
        response of a rotation this way, for a retry)."""
        key = self._bearer_key(bearer)
        if self.suite.sealing == "sm4-gcm":
            return SM4_PREFIX + b64url(seal(key[:16], value.encode(), _AAD, "sm4-gcm"))
        return Fernet(base64.urlsafe_b64encode(key)).encrypt(value.encode()).decode()

    def open_for(self, bearer: str, sealed: str) -> str | None:
        """What ``seal_for(bearer, ...)`` sealed, or None when it does not open with this bearer and secret."""
        key = self._bearer_key(bearer)
        try:
            if sealed.startswith(SM4_PREFIX):
                return unseal(key[:16], b64url_decode(sealed[len(SM4_PREFIX):]), _AAD, "sm4-gcm").decode()
            return Fernet(base64.urlsafe_b64encode(key)).decrypt(sealed.encode()).decode()
        except (InvalidToken, SealError, KeyFormatError, ValueError):
            return None

    def sealed_under_this_suite(self, token: str) -> bool:
        """Whether a value this IdP sealed was sealed under its own suite (``Accounts.check_suite``)."""
        return token.startswith(SM4_PREFIX) == (self.suite.sealing == "sm4-gcm")


def hub_suite(data_dir: Path, requested: str | None = None) -> Suite:
    """The suite the hub recorded in ``hub.json`` when it was made; before that, ``requested`` (``TONGBAN_SUITE``,
    ``tongban init --suite``), else standard. ``tongban init`` records it (the issuer's step) before the IdP's
    step makes any account, so the IdP's first look-up hash already uses it."""
    path = Layout(data_dir).hub_config
    try:
        recorded = json.loads(path.read_text()).get("suite") if path.exists() else None
    except (OSError, ValueError, AttributeError):
        recorded = None
    try:
        return suite(recorded or requested or None)
    except KeyFormatError as exc:
        raise IdpError(str(exc)) from exc


def load_secrets(data_dir: Path, *, value: str | None = None, passphrase: str | bytes | None = None,
                 suite_: Suite = STANDARD) -> Secrets:
    """The IdP secrets: ``value`` (the configured ``TONGBAN_IDP_SECRET``), else the file, sealed under ``passphrase``."""
    try:
        return Secrets(load_secret(Layout(data_dir).idp_secret, SECRET_ENV, value=value, passphrase=passphrase),
                       suite_)
    except KeyFormatError as exc:
        raise IdpError(str(exc)) from exc


def secrets_for(settings: object) -> Secrets:
    """The IdP secrets the service ``settings`` name (``data_dir``, ``idp_secret``, ``key_passphrase``, ``suite``)."""
    data_dir = settings.data_dir
    return load_secrets(data_dir, value=settings.idp_secret, passphrase=settings.key_passphrase,
                        suite_=hub_suite(data_dir, getattr(settings, "suite", "")))
