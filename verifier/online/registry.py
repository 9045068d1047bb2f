"""The apps registered as verifiers (``tongban clients add --verifier``): name, purpose, where the wallet returns
the citizen after a same-device answer, and each app's request-signing key.

The hub signs each app's Request Objects with a key of the app's own (a key ring ``verifier-<client_id>`` beside
the other rings, sealed at rest the same way), so a request object for one app signed by another app's key, or by
any key the hub did not register, is refused by the wallet. The registrations are a JSON file in the data
directory (``verifier-clients.json``), written atomically; the hub publishes each one's public part
(``describe``) for its wallet at ``/verifier/clients/<client_id>`` (OpenID4VP 1.0 §5.9.1, pre-registered).
Authenticating an app's calls is not here: the identity provider keeps its secret (``service`` wires the check).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from keys import KeyRing, KeyRingStore, PrivateKey, PublicKey
from verifier.online.errors import OnlineError

FILE = "verifier-clients.json"
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{3,64}")


@dataclass(frozen=True)
class VerifierClient:
    client_id: str
    name: str
    purpose: str
    redirect_uri: str  # where the wallet sends the citizen after a same-device answer (§8.2 redirect_uri)


class VerifierRegistry:
    def __init__(self, data_dir: Path, rings: KeyRingStore):
        self.path = Path(data_dir) / FILE
        self.rings = rings

    def _all(self) -> dict[str, dict[str, Any]]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

    @staticmethod
    def _owner(client_id: str) -> str:
        return "verifier-" + client_id

    def add(self, client_id: str, *, name: str, purpose: str, redirect_uri: str, now: int) -> VerifierClient:
        """Register (or re-register, keeping its key) an app; makes its request-signing key on first use."""
        if not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id):
            raise OnlineError("a verifier client_id is 3-64 of A-Z a-z 0-9 _ -", "request_invalid")
        if not name.strip() or not purpose.strip() or len(purpose) > 200:
            raise OnlineError("a verifier needs a name and a purpose of at most 200 characters", "request_invalid")
        if not isinstance(redirect_uri, str) or urlsplit(redirect_uri).scheme not in ("https", "http") \
                or not urlsplit(redirect_uri).hostname:
            raise OnlineError("a verifier's redirect URI is an absolute http(s) URL", "request_invalid")
        client = VerifierClient(client_id, name.strip(), purpose.strip(), redirect_uri)
        owner = self._owner(client_id)
        if not self.rings.exists(owner):
            ring = KeyRing(owner)
            ring.rotate(now, "ES256")
            self.rings.save(ring)
        entries = self._all()
        entries[client_id] = asdict(client)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries, ensure_ascii=False, indent=1))
        os.replace(tmp, self.path)
        return client

    def get(self, client_id: object) -> VerifierClient | None:
        if not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id):
            return None
        entry = self._all().get(client_id)
        return VerifierClient(**entry) if entry else None

    def signer(self, client_id: str, now: int) -> PrivateKey:
        return self.rings.load(self._owner(client_id)).signer(now).private

    def keys(self, client_id: str, now: int) -> list[PublicKey]:
        return [k.public for k in self.rings.load(self._owner(client_id)).verification_keys(now)]

    def describe(self, client_id: str, now: int) -> dict[str, Any] | None:
        """What the wallet reads: who the app is, why it asks, and the keys its request objects verify with."""
        client = self.get(client_id)
        if client is None:
            return None
        return {"client_id": client.client_id, "name": client.name, "purpose": client.purpose,
                "jwks": {"keys": [k.public_jwk() for k in self.keys(client_id, now)]}}
