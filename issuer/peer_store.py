"""Recognised regions as kept on disk (互通互认): ``<data>/peers/<root kid>.json``, one file per peer hub root.

Each file holds the peer's root (pinned by the operator at ``tongban hub recognise``), the region it serves
(fixed then: a later list naming another region is refused), where it is fetched from, the newest trust list of
it that was verified, and the refresh schedule. What the hub vouches for is derived from that stored list alone,
checked again every time: its signature against the pinned root, its expiry against the clock. A peer whose
list expired is dropped from this hub's trust list with a message saying why and what to do; the file stays, so
the next successful refresh brings it back. Only the peer's *own* authorities are taken (those its list does not
itself mark ``recognised_until``), and only those inside its region: recognition is not transitive.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from credentials.regions import region_label, region_within
from keys import Authority, PublicKey, TrustList, TrustListError
from keys.errors import KeyFormatError
from keys.trust_list import check_trust_list_time, verify_trust_list_signature


@dataclass(frozen=True)
class PeerRecord:
    root_jwk: dict
    region: str  # GB/T 2260 provincial code the peer hub serves
    source: str  # its published data directory, or its base URL
    trust_list: str  # the newest of its trust lists verified so far
    version: int
    expires_at: int  # that list's exp: the peer's authorities are vouched for until then
    recognised_at: int
    fetched_at: int  # the last refresh that reached the source and was accepted
    refresh_at: int  # when the next refresh is due
    last_error: str = ""

    @property
    def root(self) -> PublicKey:
        return PublicKey.from_jwk(self.root_jwk)

    @property
    def kid(self) -> str:
        return self.root.kid

    def with_(self, **changes: object) -> PeerRecord:
        return replace(self, **changes)


def peer_path(peers_dir: Path, kid: str) -> Path:
    # A JWK thumbprint kid is base64url: no path separator can appear in it.
    return peers_dir / f"{kid}.json"


def load_peers(peers_dir: Path) -> list[PeerRecord]:
    """Every recognised peer (files that cannot be read are skipped: they recognise nobody)."""
    found = []
    for path in sorted(peers_dir.glob("*.json")) if peers_dir.exists() else []:
        try:
            doc = json.loads(path.read_text())
            found.append(PeerRecord(**doc))
        except (OSError, ValueError, TypeError):
            continue
    return found


def save_peer(peers_dir: Path, record: PeerRecord) -> None:
    peers_dir.mkdir(parents=True, exist_ok=True)
    path = peer_path(peers_dir, record.kid)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(asdict(record), ensure_ascii=False, indent=1))
    os.replace(tmp, path)


def utc(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def own_authorities(trust_list: TrustList, region: str) -> tuple[Authority, ...]:
    """The authorities a peer's list vouches for itself (not those it recognises) inside its ``region``."""
    return tuple(a for a in trust_list.authorities if not a.recognised and region_within(a.region, region))


def stored_list(record: PeerRecord) -> TrustList:
    """The record's trust list, its signature checked again against the pinned root (clock-free)."""
    return verify_trust_list_signature(record.trust_list, record.root)


def recognised_authorities(records: list[PeerRecord], now: int, *, exclude: set[str]) -> tuple[list[Authority], list[str]]:
    """What this hub vouches for: each valid peer's own authorities, ``recognised_until`` its list's ``exp``.

    Returns them and one message per peer dropped (its list expired, or no longer verifies). ``exclude``: ids
    this hub has itself; a peer authority with one of them is never taken (recognition refused it already)."""
    taken: list[Authority] = []
    dropped: list[str] = []
    for record in records:
        label = region_label(record.region)
        try:
            peer = stored_list(record)
            check_trust_list_time(peer, now)
        except (TrustListError, KeyFormatError, ValueError) as exc:
            reason = getattr(exc, "reason", "trust_list_malformed")
            dropped.append(f"region {label} is no longer recognised ({reason}: its trust list, version "
                           f"{record.version}, expired at {utc(record.expires_at)}): its hub must publish a fresh one, "
                           f"then run `tongban hub refresh`" if reason == "trust_list_expired" else
                           f"region {label} is no longer recognised ({reason}): recognise it again with "
                           "`tongban hub recognise`")
            continue
        seen = {a.id for a in taken} | exclude
        taken.extend(replace(a, recognised_until=peer.expires_at) for a in own_authorities(peer, record.region)
                     if a.id not in seen)
    return taken, dropped


__all__ = ["PeerRecord", "load_peers", "own_authorities", "peer_path", "recognised_authorities", "save_peer",
           "stored_list", "utc"]
