"""The holder's wallet directory: the device key (sealed at rest) and the credentials it holds.

Layout: ``device.json`` (a ``keys`` key ring of one key, owner ``device``) and
``credentials/<e-licence id>/{meta.json,<view>.cose}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from keys import AtRestPolicy, KeyRing, KeyRingStore, PrivateKey, PublicKey
from wallet.errors import NoSuchCredentialError, WalletError

DEVICE = "device"
_SAFE_ID = re.compile(r"^[0-9A-Z.*]{10,120}$")
DEVICE_KEY_LIFETIME = 10 * 365 * 24 * 3600


@dataclass(frozen=True)
class StoredCredential:
    elicence_id: str
    licence_type: str
    authority_id: str
    views: dict[str, bytes]


class Wallet:
    def __init__(self, directory: Path, policy: AtRestPolicy | None = None):
        self.directory = directory
        self.rings = KeyRingStore(directory, policy or AtRestPolicy.for_directory(directory))

    def exists(self) -> bool:
        return self.rings.exists(DEVICE)

    def create(self, now: int, alg: str = "ES256") -> PublicKey:
        if self.exists():
            raise WalletError(f"{self.directory} already holds a wallet; use another --wallet directory")
        ring = KeyRing(DEVICE)
        key = ring.rotate(now, alg, lifetime=DEVICE_KEY_LIFETIME)
        self.rings.save(ring)
        return key.public

    def _ring(self) -> KeyRing:
        if not self.exists():
            raise WalletError(f"no wallet in {self.directory}: run `tongban wallet init --wallet {self.directory}`")
        return self.rings.load(DEVICE)

    def device_key(self, now: int) -> PrivateKey:
        return self._ring().signer(now).private

    def public_key(self) -> PublicKey:
        return self._ring().keys[-1].public

    def _dir(self, elicence_id: str) -> Path:
        if not _SAFE_ID.match(elicence_id):
            raise NoSuchCredentialError(f"{elicence_id!r} is not an e-licence identifier")
        return self.directory / "credentials" / elicence_id

    def store(self, credential: StoredCredential) -> None:
        folder = self._dir(credential.elicence_id)
        folder.mkdir(parents=True, exist_ok=True)
        for view, raw in credential.views.items():
            (folder / f"{view}.cose").write_bytes(raw)
        meta = {"elicence_id": credential.elicence_id, "licence_type": credential.licence_type,
                "authority_id": credential.authority_id, "views": sorted(credential.views)}
        (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))

    def load(self, elicence_id: str) -> StoredCredential:
        folder = self._dir(elicence_id)
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except FileNotFoundError as exc:
            raise NoSuchCredentialError(f"this wallet holds no credential {elicence_id}") from exc
        views = {name: (folder / f"{name}.cose").read_bytes() for name in meta["views"]}
        return StoredCredential(meta["elicence_id"], meta["licence_type"], meta["authority_id"], views)

    def list(self) -> list[StoredCredential]:
        root = self.directory / "credentials"
        return [self.load(p.name) for p in sorted(root.iterdir())] if root.exists() else []
