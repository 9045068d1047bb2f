"""Mutual recognition between regions (互通互认): this hub vouches for another region's authorities.

A peer region is recognised by its hub root key, configured out of band like a verifier's root
(``tongban hub recognise``). Its signed trust list is verified against that root, its own authorities join this
hub's trust list (with their region codes and keys, ``recognised_until`` the peer list's ``exp``), and its verified
status lists are mirrored into this data directory so this region's counters sync everything from one place.
``refresh`` fetches both again from where the peer was recognised from; ``tongban serve`` does it on a schedule
(``refresh_due``: at half the shortest mirrored list's ttl, at least every 5 minutes as a counter refreshes a
trust list) and ``tongban hub refresh`` on demand.

What a peer's list may not do, each refused with a message naming it (``IssuerError``), nothing changed:
re-use an id, issuer code or key of this hub or of another recognised region (ids name status lists, issuer
codes e-licence identifiers, kids the key a credential names); name an authority outside the peer's region, or
claim this hub's region, or a division that is not one of the 31; change region after it was recognised; be
older than the list held (``trust_list_rollback``), expired, or not signed by the pinned root. A status list is
mirrored only when one of its authority's keys verifies it (signed before that key retired), and never over a
newer one; each list is judged on its own and a refused one is reported with its reason.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from credentials.regions import region_label
from credentials.status_list import StatusListError, peek_times, verify_status_list_cwt
from credentials.status_uri import parse_status_uri, status_files
from issuer.errors import IssuerError
from issuer.hub import Hub
from issuer.peer_checks import accept
from issuer.peer_store import PeerRecord, peer_path, save_peer, stored_list
from issuer.service import status_path
from keys import Authority, PublicKey, TrustListError, verify_trust_list
from keys.layout import Layout

PEER_CLOCK_LEEWAY = 60  # a peer hub's clock may run this far ahead of ours
REFRESH_AT_MOST = 300  # seconds between refreshes at most: a counter's trust list max-age
REFRESH_AT_LEAST = 15  # never sooner (a peer not re-signing must not make us poll it in a loop)
REFRESH_RETRY = 30  # after a failed refresh


class PeerSource(Protocol):
    """Where a peer hub publishes: its data directory (``DirectoryPeer``) or its publication endpoints."""

    def trust_list(self) -> str: ...
    def status_lists(self) -> dict[str, bytes | Exception]: ...


class DirectoryPeer:
    """A peer hub's published data directory (on this machine, or a mount of it)."""

    def __init__(self, data_dir: Path):
        self.layout = Layout(data_dir)

    def trust_list(self) -> str:
        try:
            return self.layout.trust_list.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise IssuerError(f"cannot read the peer region's trust list {self.layout.trust_list}: {exc}") from exc

    def status_lists(self) -> dict[str, bytes | Exception]:
        out: dict[str, bytes | Exception] = {}
        for uri, path in status_files(self.layout.status, "cwt").items():
            try:
                out[uri] = path.read_bytes()
            except OSError as exc:
                out[uri] = exc
        return out


def open_source(source: str, http: Callable[[str], PeerSource] | None = None) -> PeerSource:
    """The source a peer was recognised from: an ``http(s)://`` base URL (with ``http``) or a directory."""
    if not source:
        raise IssuerError("this region was recognised without a source to fetch it from: run `tongban hub recognise` "
                          "again with --peer-data or --peer-url")
    if source.startswith(("http://", "https://")):
        if http is None:
            raise IssuerError(f"this command cannot fetch {source}: no HTTP client was wired")
        return http(source)
    return DirectoryPeer(Path(source))


@dataclass(frozen=True)
class Recognition:
    region: str
    authorities: tuple[str, ...]
    status_lists: int
    version: int
    refused: dict[str, str] = field(default_factory=dict)  # status-list URI → why it was not mirrored


def recognise(hub: Hub, *, root: PublicKey, trust_list_token: str, status_lists: dict[str, bytes | Exception],
              now: int, source: str = "") -> Recognition:
    """Recognise (or refresh) the region whose hub root is ``root``; the caller then re-signs the trust list."""
    held = _held(hub, root.kid)
    try:
        peer = verify_trust_list(trust_list_token, root, now=now, current_version=held.version if held else None)
    except TrustListError as exc:
        raise IssuerError(f"the peer region's trust list is refused ({exc.reason}): {exc}") from exc
    if held is not None and peer.version == held.version:
        trust_list_token, peer = held.trust_list, stored_list(held)  # the list held stays: same version, no change
    region, own = accept(hub, peer, root.kid, pinned=held.region if held else None)
    ready, refused = _verify_lists(hub, own, status_lists, now)
    for path, raw, issued_at in ready:
        _write_unless_older(path, raw, issued_at)
    record = PeerRecord(root.public_jwk(), region, source or (held.source if held else ""), trust_list_token,
                        peer.version, peer.expires_at, held.recognised_at if held else now, now,
                        _next_refresh(hub, own, now))
    save_peer(hub.peers_dir, record)
    return Recognition(region, tuple(a.id for a in own), len(ready), peer.version, refused)


def refresh(hub: Hub, record: PeerRecord, now: int, *, http: Callable[[str], PeerSource] | None = None) -> Recognition:
    """Fetch a recognised peer again from where it was recognised; a failure is recorded (and retried in 30 s) and
    raised as ``IssuerError``."""
    try:
        source = open_source(record.source, http)
        return recognise(hub, root=record.root, trust_list_token=source.trust_list(),
                         status_lists=source.status_lists(), now=now)
    except Exception as exc:
        save_peer(hub.peers_dir, record.with_(last_error=str(exc)[:300], refresh_at=now + REFRESH_RETRY))
        if isinstance(exc, IssuerError):
            raise
        raise IssuerError(f"region {region_label(record.region)}: cannot fetch {record.source}: {exc}") from exc


def refresh_due(hub: Hub, now: int, *, http: Callable[[str], PeerSource] | None = None,
                force: bool = False) -> list[str]:
    """Refresh every peer whose time has come (all with ``force``), then re-sign this hub's trust list if it is
    due (a peer's list changed, lapsed, or half its own life is gone). Returns one line per event."""
    lines = []
    for record in hub.peers():
        if not force and record.refresh_at > now:
            continue
        try:
            done = refresh(hub, record, now, http=http)
            lines.append(f"region {region_label(done.region)}: trust list version {done.version}, "
                         f"{done.status_lists} status list(s) mirrored"
                         + "".join(f"; {uri} refused ({why})" for uri, why in sorted(done.refused.items())))
        except IssuerError as exc:
            lines.append(f"region {region_label(record.region)}: not refreshed: {exc}")
    lines.extend(hub.peer_authorities(now)[1])
    signed = hub.publish_if_due(now)
    if signed is not None:
        lines.append(f"trust list version {signed.version} signed")
    return lines


# -- the status lists ---------------------------------------------------------------------------------------------
def _held(hub: Hub, kid: str) -> PeerRecord | None:
    return next((r for r in hub.peers() if r.kid == kid), None) if peer_path(hub.peers_dir, kid).exists() else None


def _verify_lists(hub: Hub, own: tuple[Authority, ...], offered: dict[str, bytes | Exception],
                  now: int) -> tuple[list[tuple[Path, bytes, int]], dict[str, str]]:
    """Each offered list of a peer authority, verified by one of its keys: (path, bytes, iat) to write; or why not."""
    by_id = {a.id: a for a in own}
    ready, refused = [], {}
    for uri, raw in offered.items():
        parsed = parse_status_uri(uri)
        authority = by_id.get(parsed[0]) if parsed else None
        if authority is None:
            continue  # not one of the peer's own authorities' lists (e.g. one it mirrors itself)
        if isinstance(raw, Exception):
            refused[uri] = "source_unreachable"
            continue
        found = _verified_iat(authority, uri, raw, now)
        if isinstance(found, str):
            refused[uri] = found
            continue
        path = status_path(hub.data_dir, uri, "cwt")
        held = peek_times(path.read_bytes()) if path.exists() else None
        if held is not None and found < held[0]:
            refused[uri] = "status_list_rollback"  # never an older list over a newer one
            continue
        ready.append((path, raw, found))
    return ready, refused


def _verified_iat(authority: Authority, uri: str, raw: bytes, now: int) -> int | str:
    """The list's signed ``iat`` when one of the authority's keys verifies it, else the reason it was refused."""
    reason = "status_list_untrusted"
    for key in authority.keys:
        try:
            token = verify_status_list_cwt(raw, public_key=key.public, alg=key.public.alg, now=now,
                                           expected_subject=uri, leeway=PEER_CLOCK_LEEWAY)
        except StatusListError as exc:
            if exc.reason not in ("status_list_signature", "status_list_key", "status_list_alg"):
                reason = exc.reason  # a key verified it, but something else is wrong (expired, subject ...)
            continue
        if token.issued_at > key.signs_until:  # signed after the key was retired: counters refuse it too
            reason = "status_list_key_retired"
            continue
        return token.issued_at
    return reason


def _write_unless_older(path: Path, raw: bytes, issued_at: int) -> None:
    """Under the list's lock (the issuer's publishers take the same one), so a newer copy is never replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.stem}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        held = peek_times(path.read_bytes()) if path.exists() else None
        if held is not None and held[0] >= issued_at:
            return
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(raw)
        os.replace(tmp, path)


def _next_refresh(hub: Hub, own: tuple[Authority, ...], now: int) -> int:
    """At half the shortest mirrored list's ttl after it was signed (as the issuer re-signs), at most 5 min away."""
    due = now + REFRESH_AT_MOST
    for uri, path in status_files(Layout(hub.data_dir).status, "cwt").items():
        parsed = parse_status_uri(uri)
        if parsed is None or parsed[0] not in {a.id for a in own}:
            continue
        times = peek_times(path.read_bytes())
        if times is not None and times[2]:
            due = min(due, times[0] + times[2] // 2)
    return max(due, now + REFRESH_AT_LEAST)


__all__ = ["DirectoryPeer", "PeerSource", "Recognition", "open_source", "recognise", "refresh", "refresh_due"]
