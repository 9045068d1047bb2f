"""The hub: issuing authorities, their key rings, and the trust list the hub root signs.

Layout of a data directory: ``keys/`` (key rings, sealed by ``keys.AtRestPolicy``), ``hub.json``
(authorities and the trust-list version counter), ``trust-list.jwt`` and ``hub-root.jwk`` (the root's
public key, which verifiers are configured with), and ``key-events.jsonl``: one JSON line per key rotation
or compromise (when, which key, by whom), appended and never rewritten.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from stdnum.cn import uscc

from keys import (
    AtRestPolicy,
    Authority,
    KeyRing,
    KeyRingStore,
    ManagedKey,
    PublicKey,
    TrustList,
    TrustListError,
    sign_trust_list,
    verify_trust_list,
)
from keys.errors import KeyFormatError
from keys.layout import Layout

ROOT_OWNER = "hub-root"
TRUST_LIST_LIFETIME = 7 * 24 * 3600


@dataclass(frozen=True)
class AuthorityConfig:
    id: str
    name: str
    region: str
    issuer_code: str
    licence_types: tuple[str, ...]
    kind: str


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _code(base17: str) -> str:
    return base17 + uscc.calc_check_digit(base17)


DEMO_AUTHORITIES = (
    AuthorityConfig("bj-traffic-police", "北京市公安局公安交通管理局", "110000", _code("11110000000021135"),
                    ("driving-licence",), "traffic-police"),
    AuthorityConfig("bj-public-security", "北京市公安局", "110000", _code("11110000000021128"),
                    ("resident-id",), "public-security"),
    AuthorityConfig("bj-market-regulation", "北京市市场监督管理局", "110000", _code("11110000MB0193374"),
                    ("business-licence",), "market-regulation"),
    AuthorityConfig("bj-health", "北京市卫生健康委员会", "110000", _code("11110000000019646"),
                    ("health-code",), "health-commission"),
)


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
    def _load(self) -> dict:
        if not self.config_path.exists():
            return {"authorities": [], "trust_list_version": 0}
        return json.loads(self.config_path.read_text())

    def _save(self, doc: dict) -> None:
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1))
        tmp.replace(self.config_path)

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
        raise KeyFormatError(f"unknown authority {authority_id!r}: see hub.json in {self.data_dir}")

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
            ring.rotate(now)
            self.rings.save(ring)
            created = True
        return created

    def ensure_root(self, now: int) -> bool:
        if self.rings.exists(ROOT_OWNER):
            return False
        ring = KeyRing(ROOT_OWNER)
        ring.rotate(now, lifetime=10 * 365 * 24 * 3600)
        self.rings.save(ring)
        self.root_jwk_path.write_text(json.dumps(ring.signer(now).public.public_jwk(), indent=1))
        return True

    def rotate(self, owner: str, now: int, alg: str = "ES256", actor: str = "") -> str:
        ring = self.rings.load(owner)
        key = ring.rotate(now, alg)
        self.rings.save(ring)
        self._key_event("rotate", owner, key.public.kid, now, actor)
        return key.public.kid

    def compromise(self, owner: str, kid: str, now: int, alg: str = "ES256",
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

    def peer_authorities(self, now: int, exclude: set[str] = frozenset()) -> list[Authority]:
        """Authorities of every recognised region whose own signed trust list is still valid at ``now``."""
        found: list[Authority] = []
        for path in sorted(self.peers_dir.glob("*.json")) if self.peers_dir.exists() else []:
            peer = json.loads(path.read_text())
            try:
                peer_list = verify_trust_list(peer["trust_list"], PublicKey.from_jwk(peer["root"]), now=now)
            except TrustListError:
                continue  # an expired or broken peer list recognises nobody until it is refreshed
            found.extend(a for a in peer_list.authorities if a.id not in exclude)
        return found

    # -- trust list ------------------------------------------------------------------------------
    def publish_trust_list(self, now: int, status_base: str = "") -> TrustList:
        doc = self._load()
        doc["trust_list_version"] += 1
        authorities = []
        for a in self.authorities():
            ring = self.rings.load(a.id)
            authorities.append(Authority(a.id, a.name, a.region, a.issuer_code, a.licence_types,
                                         ring.trusted_keys(now), ring.compromised_kids(now)))
        authorities.extend(self.peer_authorities(now, exclude={a.id for a in authorities}))
        trust_list = TrustList(doc["trust_list_version"], now, now + TRUST_LIST_LIFETIME, tuple(authorities),
                               status_base)
        root = self.rings.load(ROOT_OWNER).signer(now).private
        self.trust_list_path.write_text(sign_trust_list(trust_list, root))
        self._save(doc)
        return trust_list
