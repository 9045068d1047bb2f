"""The hub: issuing authorities, their key rings, and the trust list the hub root signs.

Layout of a data directory: ``keys/`` (key rings, sealed by ``keys.AtRestPolicy``), ``hub.json``
(authorities and the trust-list version counter), ``trust-list.jwt`` and ``hub-root.jwk`` (the root's
public key, which verifiers are configured with), and ``key-events.jsonl``: one JSON line per key rotation
or compromise (when, which key, by whom), appended and never rewritten.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from credentials.regions import DEFAULT_REGION
from issuer.authorities import BEIJING_AUTHORITIES, DEMO_AUTHORITIES, AuthorityConfig, demo_authorities
from issuer.peer_store import PeerRecord, load_peers, recognised_authorities
from keys import (
    AtRestPolicy,
    Authority,
    KeyRing,
    KeyRingStore,
    ManagedKey,
    PrivateKey,
    PublicKey,
    TrustList,
    TrustListError,
    sign_trust_list,
)
from keys.errors import KeyFormatError
from keys.layout import Layout
from keys.suites import Suite, suite
from keys.trust_list import verify_trust_list_signature

__all__ = ["BEIJING_AUTHORITIES", "DEMO_AUTHORITIES", "ROOT_OWNER", "TRUST_LIST_LIFETIME", "AuthorityConfig", "Hub",
           "demo_authorities"]

ROOT_OWNER = "hub-root"
TRUST_LIST_LIFETIME = 7 * 24 * 3600


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


class Hub:
    def __init__(self, data_dir: Path, policy: AtRestPolicy | None = None, secret: str = ""):
        """``policy``: how the key rings are kept at rest (default: the directory's own marker, no passphrase);
        ``secret``: the configured issuer secret (hex; empty: the file in the data directory)."""
        self.data_dir = data_dir
        self.layout = Layout(data_dir)
        self.keys_dir = self.layout.keys
        self.rings = KeyRingStore(self.keys_dir, policy or AtRestPolicy.for_directory(self.keys_dir))
        self.secret = secret
        self.config_path = self.layout.hub_config
        self.trust_list_path = self.layout.trust_list
        self.root_jwk_path = self.layout.hub_root_jwk
        # Parsed hub.json and key rings, each under the (inode, mtime, size) of the file it came from: issuing
        # reads them per credential, and a PEM parse (scrypt-decrypted in production) costs more than a signature.
        # Every writer replaces the file (new inode), so a change made by another process is seen at once.
        self._authorities: tuple[tuple[int, int, int] | None, tuple[AuthorityConfig, ...]] = (None, ())
        self._rings: dict[str, tuple[tuple[int, int, int], KeyRing]] = {}

    # -- configuration ---------------------------------------------------------------------------
    @property
    def suite(self) -> Suite:
        """The hub's cryptographic suite (``keys.suites``), recorded in hub.json when the hub is made."""
        return suite(self._load().get("suite"))

    def ensure_suite(self, wanted: Suite) -> Suite:
        """Record ``wanted`` on a new hub; an existing hub keeps its own (its rings, hashes and sealed data use it)
        and asking for another is an error."""
        doc = self._load()
        if "suite" not in doc and not self.rings.exists(ROOT_OWNER):
            doc["suite"] = wanted.name
            self._save(doc)
        current = suite(doc.get("suite"))
        if current != wanted:
            raise KeyFormatError(f"the hub in {self.data_dir} uses the {current.name} suite, not {wanted.name}: a "
                                 "suite is chosen once, when the hub is made (rotate single authorities with "
                                 "`tongban keys rotate --alg`)")
        return current

    def _load(self) -> dict:
        if not self.config_path.exists():
            return {"authorities": [], "trust_list_version": 0}
        return json.loads(self.config_path.read_text())

    def _save(self, doc: dict) -> None:
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1))
        tmp.replace(self.config_path)

    def region(self) -> str | None:
        """The GB/T 2260 division this hub serves: as ``tongban init --region`` recorded it; in a directory made
        before regions, its authorities' one region (Beijing's there); None before the first ``init``."""
        doc = self._load()
        regions = {a["region"] for a in doc["authorities"]}
        return doc.get("region") or (regions.pop() if len(regions) == 1 else DEFAULT_REGION if regions else None)

    def set_region(self, code: str) -> None:
        """Record the region once; a hub serves one region (its authorities' names, ids and codes say which)."""
        current = self.region()
        if current is not None and current != code:
            raise KeyFormatError(f"{self.data_dir} is the hub of region {current}, not {code}: a hub serves one "
                                 "region, make another data directory for another")
        doc = self._load()
        if doc.get("region") != code:
            doc["region"] = code
            self._save(doc)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One writer at a time of ``hub.json`` and the trust list (CLI commands, the service's refreshers)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.layout.hub_lock, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def authorities(self) -> list[AuthorityConfig]:
        stamp = _stamp(self.config_path)
        if stamp is None or self._authorities[0] != stamp:
            found = tuple(AuthorityConfig(**{**a, "licence_types": tuple(a["licence_types"])})
                          for a in self._load()["authorities"])
            self._authorities = (stamp, found)
        return list(self._authorities[1])

    def signing_key(self, owner: str, now: int) -> ManagedKey:
        """``owner``'s current signer, from a ring parsed once per version of its file (read-only use: a ring
        to change is loaded with ``rings.load`` and saved, which makes the next call here re-read it)."""
        path = self.keys_dir / f"{owner}.json"
        stamp = _stamp(path) if self.rings.exists(owner) else None
        cached = self._rings.get(owner)
        if stamp is None or cached is None or cached[0] != stamp:
            ring = self.rings.load(owner)
            if stamp is not None:
                self._rings[owner] = (stamp, ring)
            return ring.signer(now)
        return cached[1].signer(now)

    def authority(self, authority_id: str) -> AuthorityConfig:
        for a in self.authorities():
            if a.id == authority_id:
                return a
        if not self.config_path.exists():
            raise KeyFormatError(f"no hub in {self.data_dir.resolve()}: run `tongban init --data DIR` first, or pass the "
                                 "hub's directory with --data (default $TONGBAN_DATA, else ./tongban-data)")
        known = ", ".join(a.id for a in self.authorities())
        raise KeyFormatError(f"unknown authority {authority_id!r} in {self.data_dir}: the hub's authorities are {known}")

    def owner_of(self, licence_type: str) -> AuthorityConfig:
        for a in self.authorities():
            if licence_type in a.licence_types:
                return a
        raise KeyFormatError(f"no authority issues {licence_type!r} in this hub")

    def ensure_authority(self, config: AuthorityConfig, now: int) -> bool:
        """Add ``config`` with a fresh key ring unless present; True if anything was created or changed.

        An authority already present takes ``config``'s licence types when they differ (a data directory
        made before ``bj-health`` issued health codes picks them up); the caller then re-signs the trust list.
        """
        doc = self._load()
        created = False
        existing = next((a for a in doc["authorities"] if a["id"] == config.id), None)
        if existing is None:
            doc["authorities"].append({**asdict(config), "licence_types": list(config.licence_types)})
            self._save(doc)
            created = True
        elif list(existing["licence_types"]) != list(config.licence_types):
            existing["licence_types"] = list(config.licence_types)
            self._save(doc)
            created = True
        if not self.rings.exists(config.id):
            ring = KeyRing(config.id)
            ring.rotate(now, self.suite.signature)
            self.rings.save(ring)
            created = True
        return created

    def ensure_root(self, now: int) -> bool:
        if self.rings.exists(ROOT_OWNER):
            return False
        ring = KeyRing(ROOT_OWNER)
        ring.rotate(now, self.suite.signature, lifetime=10 * 365 * 24 * 3600)
        self.rings.save(ring)
        self.root_jwk_path.write_text(json.dumps(ring.signer(now).public.public_jwk(), indent=1))
        return True

    def rotate(self, owner: str, now: int, alg: str | None = None, actor: str = "", key: PrivateKey | None = None) -> str:
        """A new signer for ``owner``: ``key`` (one made in a PKCS#11 token), else a fresh key of ``alg``."""
        ring = self.rings.load(owner)
        key = ring.rotate(now, alg, key=key)
        self.rings.save(ring)
        self._key_event("rotate", owner, key.public.kid, now, actor)
        return key.public.kid

    def compromise(self, owner: str, kid: str, now: int, alg: str | None = None,
                   actor: str = "") -> tuple[ManagedKey, ManagedKey | None, bool]:
        """Withdraw an authority's key (full or 8-byte hex kid); the caller re-signs the trust list at once.

        Returns (the key, the new signer made for it or None, whether this call withdrew it).

        The hub root is refused: counters pin it, so no trust list it signs can withdraw it (re-pin instead).
        """
        if owner == ROOT_OWNER:
            raise KeyFormatError("the hub root key cannot be withdrawn by a trust list it signs: counters pin it; "
                                 "make a new data directory's root and re-pin every counter (`verifier sync --root`)")
        self.authority(owner)
        ring = self.rings.load(owner)
        if ring.find(kid).compromised_at is not None:  # a repeated run changes nothing and logs nothing
            return ring.find(kid), None, False
        key, new = ring.compromise(kid, now, alg)
        self.rings.save(ring)
        self._key_event("compromise", owner, key.public.kid, now, actor, new_kid=new.public.kid if new else None)
        return key, new, True

    def _key_event(self, event: str, owner: str, kid: str, now: int, actor: str, **extra: str | None) -> None:
        line = json.dumps({"event": event, "owner": owner, "kid": kid, "at": now, "actor": actor, **extra})
        with open(self.layout.key_events, "a", encoding="utf-8") as log:
            log.write(line + "\n")

    # -- recognised regions (互通互认) ------------------------------------------------------------
    @property
    def peers_dir(self) -> Path:
        return self.layout.peers

    def peers(self) -> list[PeerRecord]:
        return load_peers(self.peers_dir)

    def peer_authorities(self, now: int) -> tuple[list[Authority], list[str]]:
        """Authorities of every recognised region whose own signed trust list is still valid at ``now``, each
        marked ``recognised_until`` that list's expiry; and one message per peer dropped (``issuer.peer_store``)."""
        local = {a.id for a in self.authorities()}
        return recognised_authorities(self.peers(), now, exclude=local)

    # -- trust list ------------------------------------------------------------------------------
    def publish_trust_list(self, now: int, status_base: str = "") -> TrustList:
        """Sign the next version: this hub's authorities and the recognised regions' (until their lists expire)."""
        with self.locked():
            return self._publish(now, status_base)

    def publish_if_due(self, now: int) -> TrustList | None:
        """Re-sign the trust list when ``trust_list_due``, decided inside the lock: several workers finding it due
        at once sign one new version, not one each."""
        with self.locked():
            return self._publish(now, "") if self.trust_list_due(now) else None

    def _publish(self, now: int, status_base: str) -> TrustList:
        doc = self._load()
        doc["trust_list_version"] += 1
        authorities = []
        for a in self.authorities():
            ring = self.rings.load(a.id)
            authorities.append(Authority(a.id, a.name, a.region, a.issuer_code, a.licence_types,
                                         ring.trusted_keys(now), ring.compromised_kids(now)))
        authorities.extend(self.peer_authorities(now)[0])
        trust_list = TrustList(doc["trust_list_version"], now, now + TRUST_LIST_LIFETIME, tuple(authorities),
                               status_base, region=self.region() or "")
        root = self.rings.load(ROOT_OWNER).signer(now).private
        tmp = self.trust_list_path.with_suffix(".tmp")
        tmp.write_text(sign_trust_list(trust_list, root))
        tmp.replace(self.trust_list_path)
        self._save(doc)
        return trust_list

    def published_trust_list(self) -> TrustList | None:
        """The trust list on disk, its signature checked against this hub's root (None when absent or unreadable)."""
        try:
            root = PublicKey.from_jwk(json.loads(self.root_jwk_path.read_text()))
            return verify_trust_list_signature(self.trust_list_path.read_text(), root)
        except (OSError, ValueError, KeyFormatError, TrustListError):
            return None

    def trust_list_due(self, now: int) -> bool:
        """Whether the trust list should be re-signed now: missing, past half its life, or naming a recognised
        region that lapsed or changed since (``tongban serve`` checks every few seconds; ``hub refresh`` too)."""
        current = self.published_trust_list()
        if current is None:
            return True
        if now >= current.issued_at + (current.expires_at - current.issued_at) // 2:
            return True
        ours = {a.id: a for a in current.authorities if a.recognised}
        return ours != {a.id: a for a in self.peer_authorities(now)[0]}
