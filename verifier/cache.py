"""The verifier's offline cache: the pinned hub root, the current trust list and verified status lists.

``sync`` is the only place that reads a source (a data directory, ``DirectorySource``, or the issuer's
publication endpoints, ``HttpSource``, both behind ``Source``); it verifies everything before caching it,
so a source is never trusted, only the pinned root is. ``verify`` then reads only
this directory. Cache layout: ``root.jwk`` (pinned at the first sync), ``trust-list.jwt``,
``status/<authority>.tbsp`` (an authority's lists, decoded and packed, kept current by signed deltas:
``verifier.feed_sync``, ``verifier.packed``), ``status/<authority>/<n>.json`` (decoded, verified lists with their
signed times, for authorities whose source keeps no deltas), ``sync.json`` (the last
sync that reached the source: when, and which lists it offered), ``attempt.json`` (the last sync attempt,
failed or not: the counter screen says how old its status data is after a failed one).

A status list counts as current by its **signed** times only (draft-ietf-oauth-status-list §5.1): until its
``exp``; its ``ttl`` says when a fresh copy is due. A list not newer (by its signed ``iat``) than the one held
is refused, ``status_list_rollback`` (principle 12: a newer list never gives way to an older one), so a copied
data directory or a mirror replaying an old list can neither undo a revocation nor keep a list current.
Each list is synced on its own: a bad one is reported by its reason code and the others still sync.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from credentials.status_list import StatusList, StatusListError, verify_status_list_cwt
from credentials.status_uri import parse_status_uri, status_file, status_files
from keys import PublicKey, TrustList, TrustListError, verify_trust_list
from keys.trust_list import check_trust_list_time, verify_trust_list_signature
from verifier import feed_sync, packed
from verifier.cache_layout import CacheLayout
from verifier.errors import VerifierError
from verifier.ports import StatusLookup
from verifier.sources import DirectorySource, HttpSource, Source

__all__ = ["INVALID_REFERENCE", "LISTING_MARGIN", "SYNC_LEEWAY", "SYNC_REASONS", "DirectorySource", "HttpSource", "Source",
           "SyncReport", "VerifierCache", "answer", "refusal"]

SYNC_LEEWAY = 60  # seconds a hub's clock may run ahead of this counter's: a list "from the future" within it is taken
LISTING_MARGIN = 60  # a list missing from the last sync's listing is invalid for credentials older than this before it
INVALID_REFERENCE = "status_reference_invalid"
# A refused list's StatusListError reason → the code a sync reports (``status_list_untrusted``: no key verifies it).
_REFUSALS = {"status_list_signature": "status_list_untrusted", "status_list_alg": "status_list_untrusted",
             "status_list_key": "status_list_untrusted", "status_list_subject": "status_list_subject",
             "status_list_expired": "status_list_expired", "status_list_not_yet_valid": "status_list_not_yet_valid"}
# Every code a sync reports per list (``status_list_stale``: kept, but signed longer than its ttl ago: the source
# is not re-signing it, e.g. a mirror replaying an old copy).
SYNC_REASONS = ("status_list_untrusted", "status_list_subject", "status_list_expired", "status_list_not_yet_valid",
                "status_list_malformed", "status_list_rollback", "status_list_stale")


def answer(uri: str, status_list: StatusList, iat: int, exp: int, idx: int, now: int) -> StatusLookup:
    """One entry of a verified list, as a lookup: its value while the list is current (``now < exp``)."""
    authority = parse_status_uri(uri)[0]
    if idx >= len(status_list):  # a list's size is fixed when it is signed: no sync can bring this index
        return StatusLookup(None, authority, f"index {idx} is outside status list {uri}", INVALID_REFERENCE,
                            issued_at=iat)
    if now >= exp:
        return StatusLookup(None, authority, f"status list {uri} expired at {exp}", issued_at=iat)
    return StatusLookup(status_list.get(idx), authority, issued_at=iat)


def refusal(errors: list[StatusListError]) -> str:
    """The sync reason for a list no key accepted: a reason other than "no key verifies it" means one key did."""
    reasons = [_REFUSALS.get(exc.reason, "status_list_malformed") for exc in errors]
    return next((r for r in reasons if r != "status_list_untrusted"), "status_list_untrusted")


@dataclass(frozen=True)
class SyncReport:
    trust_list_version: int
    trust_list_updated: bool
    status_lists: int  # lists current as of this sync (stored, or the held copy confirmed)
    root_pinned: bool
    failed: dict[str, str] = field(default_factory=dict)  # status-list URI → reason code (SYNC_REASONS)


class _Parsed:
    """What a file parses to, kept until the file changes (its size and modification time, in ns).

    A counter verifies every scan against the same trust list and status lists: re-verifying the trust
    list's signature and re-decoding a 44 KB status list per scan cost more than the scan itself. Sync
    replaces files atomically (a new inode, a new mtime), so a changed file is always seen.
    """

    def __init__(self) -> None:
        self._held: dict[Path, tuple[tuple[int, int], object]] = {}

    def forget(self, path: Path) -> None:
        self._held.pop(path, None)

    def get(self, path: Path, parse: Callable[[Path], object]) -> object:
        try:
            stat = path.stat()
        except OSError:
            self._held.pop(path, None)
            return None
        key = (stat.st_mtime_ns, stat.st_size)
        held = self._held.get(path)
        if held is None or held[0] != key:
            held = (key, parse(path))
            self._held[path] = held
        return held[1]


class VerifierCache:
    def __init__(self, directory: Path):
        self.directory = directory
        self.layout = CacheLayout(directory)
        self._parsed = _Parsed()

    # -- reading (verify time) --------------------------------------------------------------------
    def root(self) -> PublicKey | None:
        return self._parsed.get(self.layout.root_jwk, lambda p: PublicKey.from_jwk(json.loads(p.read_text())))

    def trust_list(self, now: int) -> TrustList | None:
        root = self.root()
        if root is None:
            return None

        def verified(path: Path) -> tuple[str, TrustList | None]:
            try:
                return root.kid, verify_trust_list_signature(path.read_text(), root)
            except TrustListError:
                return root.kid, None

        held = self._parsed.get(self.layout.trust_list, verified)
        if held is not None and held[0] != root.kid:  # verified under another root: verify again under this one
            self._parsed.forget(self.layout.trust_list)
            held = self._parsed.get(self.layout.trust_list, verified)
        trust = held[1] if held else None
        if trust is None:
            return None
        try:
            # Expiry is the pipeline's decision (reason trust_list_expired), reported per presentation.
            check_trust_list_time(trust, now, allow_expired=True)
        except TrustListError:
            return None
        return trust

    def lookup(self, uri: str, idx: int, now: int) -> StatusLookup:
        parsed = parse_status_uri(uri)
        if parsed is None:
            return StatusLookup(None, detail=f"{uri!r} is not a tongban status-list URI", reason=INVALID_REFERENCE)
        state = self._packed(parsed[0])
        if state is not None:
            if parsed[1] not in state.lists:  # not a list of this authority at the state's head
                return StatusLookup(None, parsed[0], f"no status list {uri} as of the last delta",
                                    INVALID_REFERENCE, as_of=state.head - LISTING_MARGIN)
            return answer(uri, state.lists[parsed[1]], state.head, state.expires_at, idx, now)
        path = self._status_path(uri)
        entry = self._parsed.get(path, _decoded_entry) if path is not None else None
        if entry is None:
            listing = self.last_sync() or {}
            if isinstance(listing.get("lists"), list) and uri not in listing["lists"]:
                return StatusLookup(None, parsed[0], f"the source had no status list {uri} when last synced",
                                    INVALID_REFERENCE, as_of=int(listing["synced_at"]) - LISTING_MARGIN)
            return StatusLookup(None, parsed[0], f"no status list {uri} cached")
        return answer(uri, entry["list"], entry["iat"], entry["exp"], idx, now)

    def _packed(self, authority_id: str):
        held = self._parsed.get(packed.packed_path(self.layout.status, authority_id), packed.load)
        return held[0] if held else None

    def _entries(self) -> list[dict]:
        found = [_read_entry(path) for path in status_files(self.layout.status, "json").values()]
        for path in sorted(self.layout.status.glob("*.tbsp")) if self.layout.status.is_dir() else []:
            state = self._packed(path.stem)
            if state is not None:
                found.append({"iat": state.head, "exp": state.expires_at, "ttl": state.ttl})
        return [entry for entry in found if entry is not None]

    def status_current_until(self) -> int | None:
        """When the first cached status list stops counting as current (its signed ``exp``).

        None when nothing is cached. A counter past this moment answers ``status_unknown``: sync before it.
        """
        return min((entry["exp"] for entry in self._entries()), default=None)

    def status_due_at(self) -> int | None:
        """When the first cached list is due for a fresh copy (its signed ``iat + ttl``); None when nothing is cached."""
        return min((entry["iat"] + entry["ttl"] for entry in self._entries() if entry["ttl"]), default=None)

    def shortest_ttl(self) -> int | None:
        """The shortest ``ttl`` among the cached lists: a counter syncing on a timer syncs at half of it."""
        return min((entry["ttl"] for entry in self._entries() if entry["ttl"]), default=None)

    def _status_path(self, uri: str) -> Path | None:
        return status_file(self.layout.status, uri, "json")

    # -- writing (sync time) ----------------------------------------------------------------------
    def sync(self, source: Source, *, now: int, root: PublicKey | None = None) -> SyncReport:
        """Verify and cache the source's trust list and status lists; the attempt is recorded either way.

        A refused trust list (or an unreachable source) fails the whole sync (``VerifierError``); a refused
        status list is reported in ``SyncReport.failed`` by its reason, and the others are synced.
        """
        try:
            report = self._sync(source, now=now, root=root)
        except VerifierError as exc:
            self._record_attempt(now, exc.reason, {})
            raise
        self._record_attempt(now, next(iter(report.failed.values()), None), report.failed)
        return report

    def _sync(self, source: Source, *, now: int, root: PublicKey | None) -> SyncReport:
        self.directory.mkdir(parents=True, exist_ok=True)
        pinned, pinned_now = self.root(), False
        if pinned is None:
            if root is None:
                raise VerifierError("this cache has no hub root key yet: pass --root FILE (the hub's hub-root.jwk)")
            pinned, pinned_now = root, True  # written below, only once a trust list verifies under it
        elif root is not None and root.kid != pinned.kid:
            raise VerifierError("--root differs from the root this cache is pinned to; use a new cache directory",
                                "trust_list_untrusted_root")
        current = None if pinned_now else self.trust_list(now)
        token = source.trust_list()
        try:
            incoming = verify_trust_list(token, pinned, now=now, current_version=current.version if current else None)
        except TrustListError as exc:
            raise VerifierError(f"trust list refused ({exc.reason}): {exc}", exc.reason) from exc
        if pinned_now:
            write_atomic(self.layout.root_jwk, json.dumps(root.public_jwk()))
        updated = current is None or incoming.version > current.version
        if updated:
            write_atomic(self.layout.trust_list, token)
        trust = incoming if updated else current
        count, failed, by_feed = 0, {}, {}
        if all(hasattr(source, name) for name in ("feed_since", "feed_head", "authority_lists")):
            for authority in trust.authorities:
                result = feed_sync.sync_feed(source, authority, self.layout.status, now=now, leeway=SYNC_LEEWAY,
                                             refusal=refusal)
                if result.state is None:
                    continue  # no deltas for this authority: its lists are synced one by one below
                self._parsed.forget(packed.packed_path(self.layout.status, authority.id))
                by_feed[authority.id] = feed_sync.list_uris(result.state)
                count += len(by_feed[authority.id]) if now < result.state.expires_at else 0
                if result.problem is not None:
                    failed[f"tbsl:{authority.id}"] = result.problem
        others = {a.id for a in trust.authorities} - set(by_feed)
        offered = source.status_lists(others) if by_feed else source.status_lists()
        for uri, raw in offered.items():
            if isinstance(raw, VerifierError):  # listed by the source, but not fetched: keep what is held
                failed[uri] = raw.reason
                continue
            current_now, problem = self._store_status(trust, uri, raw, now)
            count += current_now
            if problem is not None:
                failed[uri] = problem
        write_atomic(self.layout.sync, json.dumps(
            {"synced_at": now, "trust_list_version": trust.version, "status_lists": count,
             "lists": sorted(set(offered).union(*by_feed.values())), "failed": failed}))
        return SyncReport(trust.version, updated, count, pinned_now, failed)

    def last_sync(self) -> dict | None:
        """What the last sync that reached the source recorded: ``synced_at``, ``trust_list_version``,
        ``status_lists`` (how many are current), ``lists`` (every URI the source offered), ``failed``."""
        try:
            return json.loads(self.layout.sync.read_text())
        except (OSError, ValueError):
            return None

    def last_attempt(self) -> dict | None:
        """The last sync attempt: ``at``, ``ok``, ``reason`` (the first failure's code), ``failed`` (per list)."""
        try:
            return json.loads(self.layout.attempt.read_text())
        except (OSError, ValueError):
            return None

    def _record_attempt(self, now: int, reason: str | None, failed: dict[str, str]) -> None:
        if self.directory.is_dir():
            write_atomic(self.layout.attempt, json.dumps(
                {"at": now, "ok": reason is None, "reason": reason, "failed": failed}))

    def _store_status(self, trust: TrustList, uri: str, raw: bytes, now: int) -> tuple[bool, str | None]:
        """(is the cached copy current after this, the reason code when the offered list was refused or stale)."""
        path = self._status_path(uri)
        parsed = parse_status_uri(uri)
        authority = trust.authority(parsed[0]) if parsed else None
        if authority is None:
            return False, None  # a list of no authority on the trust list: not this counter's business
        token, errors = feed_sync.by_authority_key(authority, lambda key: verify_status_list_cwt(
            raw, public_key=key, alg=key.alg, now=now, expected_subject=uri, leeway=SYNC_LEEWAY))
        if token is None:
            return False, refusal(errors)
        if now >= token.expires_at:  # within SYNC_LEEWAY past its exp: verified, but of no use
            return False, "status_list_expired"
        held = _read_entry(path)
        bits, data = token.status_list.bits, base64.b64encode(token.status_list.as_bytes()).decode()
        if held is not None and (token.issued_at < held["iat"] or (
                token.issued_at == held["iat"] and (held["bits"], held["bytes"]) != (bits, data))):
            return now < held["exp"], "status_list_rollback"
        if held is None or token.issued_at > held["iat"]:
            entry = {"uri": uri, "authority_id": authority.id, "fetched_at": now, "iat": token.issued_at,
                     "exp": token.expires_at, "ttl": token.ttl, "bits": bits, "bytes": data}
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(entry))
        stale = token.ttl is not None and now >= token.issued_at + token.ttl
        return True, "status_list_stale" if stale else None


def _decoded_entry(path: Path) -> dict | None:
    """A cached list with its status list decoded (``list``), or None when absent or unreadable."""
    entry = _read_entry(path)
    if entry is None:
        return None
    try:
        return {**entry, "list": StatusList.from_bytes(entry["bits"], base64.b64decode(entry["bytes"]))}
    except (StatusListError, ValueError, TypeError, KeyError):
        return None


def _read_entry(path: Path | None) -> dict | None:
    """One cached list, or None when absent or unreadable (then the counter says it does not know)."""
    try:
        entry = json.loads(path.read_text()) if path is not None else None
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), int) for k in ("iat", "exp", "bits")):
            return None
        return entry
    except (OSError, ValueError):
        return None


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` in one step, so a counter reading the cache while it syncs never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
