"""Service secrets for the identity provider: ID-number encryption, look-up hashing, cookie signing.

One 32-byte master secret from ``TONGBAN_IDP_SECRET`` (hex) or, for the embedded default, a 0600 file
in the data directory created on first use. Purpose keys are derived with HMAC-SHA256 (RFC 2104) so
one leaked derived key does not reveal the others. Encryption is Fernet (AES-CBC + HMAC), not hand-rolled.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from idp.errors import IdpError
from keys import b64url
from keys.errors import KeyFormatError
from keys.layout import Layout
from keys.secret_file import load_secret

SECRET_ENV = "TONGBAN_IDP_SECRET"  # noqa: S105 - variable name


@dataclass(frozen=True)
class Secrets:
    master: bytes

    def _derive(self, label: str) -> bytes:
        return hmac.new(self.master, label.encode(), hashlib.sha256).digest()

    @property
    def session_key(self) -> bytes:
        return self._derive("flask-session")

    def lookup_hash(self, value: str) -> str:
        """Keyed hash for equality look-ups of sensitive identifiers (never reversible)."""
        return hmac.new(self._derive("lookup"), value.encode(), hashlib.sha256).hexdigest()

    def pairwise_sub(self, sector: str, sub: str) -> str:
        """OIDC Core §8.1: a per-sector ``sub``, stable for that sector, unlinkable across sectors without the
        secret (HMAC-SHA256 over sector and local id, as §8.1's hash-based example, with a derived key)."""
        digest = hmac.new(self._derive("pairwise-sub"), f"{sector}\x00{sub}".encode(), hashlib.sha256).digest()
        return b64url(digest)

    def _fernet(self) -> Fernet:
        return Fernet(base64.urlsafe_b64encode(self._derive("fernet")))

    def encrypt(self, value: str) -> str:
        return self._fernet().encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet().decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise IdpError("stored ciphertext does not open with this service secret") from exc

    def _bearer_fernet(self, bearer: str) -> Fernet:
        key = hmac.new(self._derive("bearer-seal"), bearer.encode(), hashlib.sha256).digest()
        return Fernet(base64.urlsafe_b64encode(key))

    def seal_for(self, bearer: str, value: str) -> str:
        """Fernet under a key derived from this secret AND ``bearer`` (a token the client holds, of which the
        database keeps only a hash): what is sealed opens only for someone presenting that token again, and
        neither a copy of the database nor the secret alone opens it (``idp.refresh_tokens`` keeps the
        response of a rotation this way, for a retry)."""
        return self._bearer_fernet(bearer).encrypt(value.encode()).decode()

    def open_for(self, bearer: str, sealed: str) -> str | None:
        """What ``seal_for(bearer, ...)`` sealed, or None when it does not open with this bearer and secret."""
        try:
            return self._bearer_fernet(bearer).decrypt(sealed.encode()).decode()
        except (InvalidToken, ValueError):
            return None


def load_secrets(data_dir: Path, *, value: str | None = None, passphrase: str | bytes | None = None) -> Secrets:
    """The IdP secrets: ``value`` (the configured ``TONGBAN_IDP_SECRET``), else the file, sealed under ``passphrase``."""
    try:
        return Secrets(load_secret(Layout(data_dir).idp_secret, SECRET_ENV, value=value, passphrase=passphrase))
    except KeyFormatError as exc:
        raise IdpError(str(exc)) from exc
