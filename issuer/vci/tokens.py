"""Access tokens the issuer's own token endpoint hands out for a redeemed pre-authorized code (OpenID4VCI §6.2).

Opaque, 32 random bytes, Bearer (RFC 6750), ``TTL`` seconds; the key-value store keeps the grant under the
token's SHA-256 (a dump of the store yields no usable token). One token may fetch each configuration the offer
named (a wallet may take the SD-JWT VC and the QR format), for this one register entry only.
"""

from __future__ import annotations

import hashlib
import json
import secrets

from issuer.offers import Grant
from keys import b64url
from storage.kv import KeyValueStore

TTL = 300
PREFIX = "vci-preauth-token:"
MAX_CHARS = 64


class PreAuthTokens:
    def __init__(self, store: KeyValueStore):
        self.store = store

    @staticmethod
    def _key(token: str) -> str:
        return PREFIX + hashlib.sha256(token.encode()).hexdigest()

    def issue(self, grant: Grant) -> str:
        token = b64url(secrets.token_bytes(32))
        self.store.put(self._key(token), json.dumps({"record_id": grant.record_id,
                                                     "configurations": list(grant.configurations)}), TTL)
        return token

    def lookup(self, token: object) -> Grant | None:
        if not isinstance(token, str) or not 0 < len(token) <= MAX_CHARS or not token.isascii():
            return None
        value = self.store.get(self._key(token))
        if value is None:
            return None
        data = json.loads(value)
        return Grant(data["record_id"], tuple(data["configurations"]))
