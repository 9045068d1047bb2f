"""Stateless ``c_nonce`` values (OpenID4VCI 1.0 §7, Nonce Endpoint): signed, short-lived, single use.

Why stateless rather than rate-limited: the nonce endpoint is unauthenticated, so a value stored per call
lets anyone grow the key-value store without bound; a per-address rate limit would itself write a counter
per address (an IPv6 prefix has more addresses than Redis has memory) and would throttle every wallet behind
one carrier NAT. So minting writes nothing: a ``c_nonce`` is ``base64url(exp || random || tag)``, ``exp`` 8
bytes big-endian Unix seconds, 16 random bytes, and a 16-byte HMAC-SHA256 tag (RFC 2104, truncated as
RFC 2104 §5 allows) under a key derived from the issuer's secret, so every worker checks it without storage.

§7 still asks for a nonce that is fresh and used once. Fresh: ``exp`` is signed and checked. Once: a nonce is
recorded only when a *valid* proof consumes it (callers check the proof's signature, audience and ``iat``
first), under its random part, for exactly its remaining life; after that the nonce is refused as expired
anyway. The store then grows only with valid proofs, which need an access token and a device signature.
``c_nonce`` values from ``POST /issuer/nonce`` and ``POST /issuer/health-code/nonce`` are interchangeable.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Protocol

from keys import KeysError, b64url, b64url_decode

NONCE_TTL = 300  # seconds a c_nonce is valid
USED_PREFIX = "vci-nonce-used:"  # key-value records of consumed nonces
_EXP, _RAND, _TAG = 8, 16, 16
_LENGTH = _EXP + _RAND + _TAG
MAX_CHARS = 128  # anything longer is refused before decoding


class Counter(Protocol):
    """The one store operation a consumed nonce needs (``storage.kv.KeyValueStore.incr``)."""

    def incr(self, key: str, ttl: int) -> int: ...


def nonce_key(master: bytes) -> bytes:
    """The c_nonce MAC key, derived from the issuer secret so no other use of that secret shares it."""
    return hmac.new(master, b"tongban openid4vci c_nonce v1", hashlib.sha256).digest()


@dataclass(frozen=True)
class CNonces:
    key: bytes
    store: Counter
    ttl: int = NONCE_TTL

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self.key, b"c_nonce:" + body, hashlib.sha256).digest()[:_TAG]

    def issue(self, now: int) -> str:
        """A new c_nonce valid for ``ttl`` seconds from ``now``; nothing is stored."""
        body = (int(now) + self.ttl).to_bytes(_EXP, "big") + secrets.token_bytes(_RAND)
        return b64url(body + self._tag(body))

    def expiry(self, value: object, now: int) -> int | None:
        """The expiry of a genuine, unexpired c_nonce; None for anything else (no store access)."""
        if not isinstance(value, str) or not 0 < len(value) <= MAX_CHARS or not value.isascii():
            return None
        try:
            raw = b64url_decode(value)
        except KeysError:
            return None
        if len(raw) != _LENGTH or b64url(raw) != value:  # one encoding per nonce: no re-encoded twins
            return None
        body, tag = raw[:-_TAG], raw[-_TAG:]
        if not hmac.compare_digest(tag, self._tag(body)):
            return None
        exp = int.from_bytes(body[:_EXP], "big")
        return exp if now < exp <= now + self.ttl else None

    def consume(self, value: object, now: int) -> bool:
        """True once for a genuine unexpired c_nonce; call it last, after the proof carrying it verified."""
        exp = self.expiry(value, now)
        if exp is None:
            return False
        raw = b64url_decode(value)
        used = USED_PREFIX + raw[_EXP:_EXP + _RAND].hex()
        return self.store.incr(used, exp - now) == 1
