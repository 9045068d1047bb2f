"""Key rings: one per signing party, with validity windows and rotation (as pyca's MultiFernet).

The newest key that is not retired signs; every key verifies until its ``not_after``. Rotation
retires the current signer (it keeps verifying what it signed until its window ends) and adds a
new one. Times are Unix seconds and always passed in; nothing here reads the clock.

A key signs nothing after ``signs_until`` (its ``retired_at``, else its ``not_after``); the trust list carries
that time so a verifier refuses what an old key file signs after rotation. ``compromise`` withdraws a key at
once: its private half is dropped (and so erased from the ring file at the next save), it verifies nothing
any more, and it is named in the trust list's ``compromised`` list until its window would have ended.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from keys.at_rest import PASSPHRASE_ENV, AtRestPolicy, is_plaintext_pem
from keys.errors import KeyAtRestError, KeyFormatError, NoSigningKeyError
from keys.material import PublicKey
from keys.private_key import PrivateKey, generate
from keys.trust_list import TrustedKey

DEFAULT_LIFETIME = 3 * 365 * 24 * 3600  # a key verifies for three years from its creation


@dataclass(frozen=True)
class ManagedKey:
    public: PublicKey
    not_before: int
    not_after: int
    retired_at: int | None = None
    private: PrivateKey | None = field(default=None, repr=False, compare=False)
    compromised_at: int | None = None

    @property
    def signs_until(self) -> int:
        """The last moment this key signed (or may sign) anything: its retirement, else the end of its window."""
        return self.not_after if self.retired_at is None else min(self.retired_at, self.not_after)

    def verifies_at(self, now: int) -> bool:
        return self.compromised_at is None and self.not_before <= now <= self.not_after

    def signs_at(self, now: int) -> bool:
        return self.private is not None and self.retired_at is None and self.verifies_at(now)


@dataclass
class KeyRing:
    owner: str
    keys: list[ManagedKey] = field(default_factory=list)

    def signer(self, now: int) -> ManagedKey:
        candidates = [k for k in self.keys if k.signs_at(now)]
        if not candidates:
            raise NoSigningKeyError(f"{self.owner} has no key that may sign now: run `tongban keys rotate`")
        return max(candidates, key=lambda k: k.not_before)

    def rotate(self, now: int, alg: str | None = None, lifetime: int = DEFAULT_LIFETIME,
               key: PrivateKey | None = None) -> ManagedKey:
        """Retire the signer and add a new key: ``key`` (e.g. one made inside a PKCS#11 token), else a fresh one of
        ``alg`` (default: the newest key's, so a rotation keeps the ring's suite; ES256 for an empty ring)."""
        alg = alg or (max(self.keys, key=lambda k: k.not_before).public.alg if self.keys else "ES256")
        self.keys = [replace(k, retired_at=now) if k.retired_at is None else k for k in self.keys]
        new = key or generate(alg)
        managed = ManagedKey(public=new.public, not_before=now, not_after=now + lifetime, private=new)
        self.keys.append(managed)
        return managed

    def verification_keys(self, now: int | None = None) -> list[ManagedKey]:
        return [k for k in self.keys if k.compromised_at is None and (now is None or k.verifies_at(now))]

    def find(self, kid: str) -> ManagedKey:
        """The key whose RFC 7638 kid is ``kid``, or whose 8-byte short kid is ``kid`` in hex."""
        wanted = kid.strip()
        for key in self.keys:
            if wanted in (key.public.kid, key.public.short_kid.hex()):
                return key
        raise KeyFormatError(f"{self.owner} has no key {kid!r}: give its kid (RFC 7638) or its 8-byte kid in hex, "
                             f"as `tongban keys list {self.owner}` shows them")

    def compromise(self, kid: str, now: int, alg: str | None = None,
                   lifetime: int = DEFAULT_LIFETIME) -> tuple[ManagedKey, ManagedKey | None]:
        """Withdraw key ``kid``: drop its private key, stop it verifying; a new signer if it was the current one.

        Returns (the compromised key, the new signer or None). Compromising a key twice changes nothing.
        """
        key = self.find(kid)
        if key.compromised_at is not None:
            return key, None
        try:
            was_signer = self.signer(now) is key
        except NoSigningKeyError:
            was_signer = False
        withdrawn = replace(key, compromised_at=now, retired_at=now if key.retired_at is None else key.retired_at,
                            private=None)
        self.keys = [withdrawn if k is key else k for k in self.keys]
        new = self.rotate(now, alg, lifetime) if was_signer else None
        return withdrawn, new

    def trusted_keys(self, now: int) -> tuple[TrustedKey, ...]:
        """What the trust list publishes: every key still inside its window, with the time it signs until."""
        return tuple(TrustedKey(k.public, k.not_before, k.not_after, k.signs_until)
                     for k in self.keys if k.compromised_at is None and k.not_after > now)

    def compromised_kids(self, now: int) -> tuple[bytes, ...]:
        """8-byte kids of compromised keys whose window has not ended (after that they are simply unknown)."""
        return tuple(k.public.short_kid for k in self.keys if k.compromised_at is not None and k.not_after >= now)


class KeyRingStore:
    """Key rings as JSON files in a directory, private keys sealed by an ``AtRestPolicy``."""

    def __init__(self, directory: Path, policy: AtRestPolicy):
        self.directory = directory
        self.policy = policy

    def _path(self, owner: str) -> Path:
        if not owner.replace("-", "").replace("_", "").isalnum():
            raise KeyFormatError(f"invalid key ring owner {owner!r}")
        return self.directory / f"{owner}.json"

    def exists(self, owner: str) -> bool:
        return self._path(owner).exists()

    def owners(self) -> list[str]:
        """Every key ring in the directory, by owner."""
        if not self.directory.is_dir():
            return []
        names = (p.stem for p in self.directory.glob("*.json"))
        return sorted(n for n in names if n.replace("-", "").replace("_", "").isalnum())

    def plaintext_owners(self) -> list[str]:
        """Owners whose ring file holds a private key in plaintext PEM (read as text: nothing is decrypted)."""
        found = []
        for owner in self.owners():
            try:
                doc = json.loads(self._path(owner).read_text())
                pems = [k.get("pem") or "" for k in doc.get("keys", [])]
            except (OSError, ValueError, AttributeError, TypeError):
                continue  # not a ring file: load() reports it when the ring is used
            if any(isinstance(p, str) and is_plaintext_pem(p.encode()) for p in pems):
                found.append(owner)
        return found

    def reseal(self) -> list[str]:
        """Re-save every ring that holds a plaintext private key under this store's policy (which must have a
        passphrase); returns their owners. Every ring is opened first, so a passphrase that does not open the
        already encrypted keys fails before anything is written."""
        if self.policy.passphrase is None:
            raise KeyAtRestError(f"set {PASSPHRASE_ENV} to encrypt the private keys in {self.directory}")
        owners = self.plaintext_owners()
        opener = KeyRingStore(self.directory, AtRestPolicy(self.policy.passphrase, allow_plaintext=True,
                                                           hsm=self.policy.hsm))
        rings = {owner: opener.load(owner) for owner in self.owners()}  # all: a wrong passphrase fails before any write
        for owner in owners:
            self.save(rings[owner])
        return owners

    def load(self, owner: str) -> KeyRing:
        path = self._path(owner)
        try:
            doc = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise KeyFormatError(f"no key ring for {owner!r} in {self.directory}: run `tongban init`") from exc
        keys = []
        for entry in doc["keys"]:
            private = self.policy.open(entry["pem"].encode()) if entry.get("pem") else None
            public = PublicKey.from_jwk(entry["jwk"], entry["alg"])
            keys.append(ManagedKey(public, entry["not_before"], entry["not_after"], entry.get("retired_at"), private,
                                   entry.get("compromised_at")))
        return KeyRing(owner=doc["owner"], keys=keys)

    def save(self, ring: KeyRing) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        doc = {
            "owner": ring.owner,
            "keys": [
                {
                    "kid": k.public.kid, "alg": k.public.alg, "jwk": k.public.jwk,
                    "not_before": k.not_before, "not_after": k.not_after, "retired_at": k.retired_at,
                    "compromised_at": k.compromised_at,
                    "pem": self.policy.seal(k.private).decode() if k.private else None,
                }
                for k in ring.keys
            ],
        }
        path = self._path(ring.owner)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1))
        tmp.chmod(0o600)
        tmp.replace(path)
